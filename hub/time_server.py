"""The hub's Time cluster server (ZCL 0x000A): the HAN's reference clock (clause 6.1.x).

Devices read Time (UTC seconds since 2000-01-01), TimeStatus (master, synchronised) and the UK
time-zone attributes from the hub. Time comes from the hub's clock port only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import zigpy.types as t
import zigpy.zcl.foundation as f

from hal.ports import Clock
from protocol.se import Time

ZIGBEE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: TimeStatus: Master (bit 0) and Synchronized (bit 1), ZCL 3.12.2.2.2.
TIME_STATUS_MASTER_SYNCHRONISED = 0x03


def zigbee_time(now: datetime) -> int:
    return int((now - ZIGBEE_EPOCH).total_seconds())


class TimeServer:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        attrs = Time.AttributeDefs
        self._attributes: dict[int, tuple[type, Callable[[], int]]] = {
            attrs.time.id: (t.UTCTime, lambda: zigbee_time(self._clock.now())),
            attrs.time_status.id: (t.bitmap8, lambda: TIME_STATUS_MASTER_SYNCHRONISED),
            attrs.time_zone.id: (t.int32s, lambda: 0),
            attrs.local_time.id: (t.uint32_t, lambda: zigbee_time(self._clock.now())),
        }

    def answer(self, request: bytes) -> bytes | None:
        """The response to a ZCL frame for the Time cluster, or None if it needs none."""
        header, payload = f.ZCLHeader.deserialize(request)
        if (
            not header.frame_control.is_general
            or header.command_id != f.GeneralCommand.Read_Attributes
        ):
            return None
        attr_ids, _ = t.List[t.uint16_t].deserialize(payload)
        records = []
        for attr_id in attr_ids:
            entry = self._attributes.get(attr_id)
            if entry is None:
                records.append(
                    f.ReadAttributeRecord(attrid=attr_id, status=f.Status.UNSUPPORTED_ATTRIBUTE)
                )
                continue
            kind, getter = entry
            value = f.TypeValue(
                type=f.DataType.from_python_type(kind).type_id, value=kind(getter())
            )
            records.append(
                f.ReadAttributeRecord(attrid=attr_id, status=f.Status.SUCCESS, value=value)
            )
        reply_header = f.ZCLHeader.general(
            header.tsn, f.GeneralCommand.Read_Attributes_rsp, direction=f.Direction.Server_to_Client
        )
        reply_header.frame_control = reply_header.frame_control.replace(
            disable_default_response=True
        )
        return reply_header.serialize() + b"".join(r.serialize() for r in records)

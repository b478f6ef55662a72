"""The server side of a device's ZCL endpoint: Read Attributes and Default Response (sans-IO).

A meter serves its Smart Energy clusters (Metering 0x0702 for now) as tables of attributes: each
attribute id maps to its ZCL data type (a zigpy type, which fixes the type id on the wire) and a
getter for the current value. `ZclServer.handle` takes one received ZCL frame and returns the
payload to send back to the sender's endpoint, or None; it never touches the radio, so the same
object runs behind a real dongle, an emulated NCP and in unit tests.

What it answers (ZCL 07-5123-06 clause 2.5):

- Read Attributes (0x00) with Read Attributes Response (0x01): one record per requested id, in
  the order asked, status UNSUPPORTED_ATTRIBUTE for an id the cluster does not have; records
  that would not fit in one unfragmented frame are left out (2.5.2.3), the client asks again.
- anything else with a Default Response (2.5.12): UNSUPPORTED_CLUSTER for a cluster we do not
  serve, UNSUP_GENERAL_COMMAND / UNSUP_CLUSTER_COMMAND (or their manufacturer-specific forms)
  for a command we do not implement. Per 2.5.12.2 a Default Response goes only to unicasts, is
  never sent in answer to a Default Response, and is sent for an error even when the request
  set Disable Default Response; that bit only suppresses the "success" Default Response, which
  no command here needs, since each command we implement has a response of its own.
- a malformed frame raises `DecodeError`: the firmware records the malformed-message event
  (clause 18.11.j) and answers nothing, so a fuzzer learns nothing from our replies.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import zigpy.types as t
from zigpy.zcl import foundation

from protocol.errors import DecodeError

__all__ = ["MAX_ZCL_PAYLOAD", "Attribute", "AttributeTable", "ZclFrame", "ZclServer"]

#: Largest ZCL payload sent in one frame: the 82 octets the emulated NCP (like EmberZNet)
#: advertises as its maximum transfer size in the node descriptor. We do not fragment.
MAX_ZCL_PAYLOAD = 82

_READ_ATTRIBUTES = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes]
_READ_ATTRIBUTES_RSP = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes_rsp]
_DEFAULT_RSP = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Default_Response]


@dataclass(frozen=True, slots=True)
class Attribute:
    """One readable attribute: its ZCL data type as a zigpy type (`t.uint48_t` gives type id
    0x25 on the wire) and a getter returning the current value as a plain int."""

    zcl_type: type
    read: Callable[[], int]

    def type_value(self) -> foundation.TypeValue:
        type_id = foundation.DataType.from_python_type(self.zcl_type).type_id
        return foundation.TypeValue(type=type_id, value=self.zcl_type(self.read()))


#: Attribute id -> attribute, for one cluster.
AttributeTable = Mapping[int, Attribute]


@dataclass(frozen=True, slots=True)
class ZclFrame:
    """A received ZCL frame: zigpy's parsed header and the command payload after it."""

    header: foundation.ZCLHeader
    body: bytes

    @classmethod
    def parse(cls, payload: bytes) -> ZclFrame:
        """Split a ZCL frame into header and body; DecodeError if there is no valid header."""
        try:
            header, body = foundation.ZCLHeader.deserialize(bytes(payload))
            frame_type = foundation.FrameType(header.frame_control.frame_type)
        except (ValueError, KeyError) as exc:
            raise DecodeError("ZCL frame", f"a ZCL header ({exc})", bytes(payload)) from None
        if frame_type not in (
            foundation.FrameType.GLOBAL_COMMAND,
            foundation.FrameType.CLUSTER_COMMAND,
        ):
            raise DecodeError("ZCL frame", "frame type 0 or 1", bytes(payload))
        return cls(header, bytes(body))

    @property
    def to_server(self) -> bool:
        """True for a command to a server cluster, False for a response coming back to a client."""
        return self.header.frame_control.direction == foundation.Direction.Client_to_Server

    @property
    def is_general(self) -> bool:
        return self.header.frame_control.frame_type == foundation.FrameType.GLOBAL_COMMAND


def response_header(request: foundation.ZCLHeader, command_id: int) -> foundation.ZCLHeader:
    """Header of a server-to-client global command answering `request` (same TSN and, as zigpy
    does, the same manufacturer code). zigpy sets Disable Default Response on it: a response is
    never answered with a Default Response."""
    return foundation.ZCLHeader.general(
        request.tsn,
        command_id,
        manufacturer=request.manufacturer,
        direction=foundation.Direction.Server_to_Client,
    )


def parse_read_attributes(body: bytes) -> list[int]:
    """Attribute ids of a Read Attributes payload: a non-empty list of uint16 (ZCL 2.5.1)."""
    if not body or len(body) % 2:
        raise DecodeError("Read Attributes payload", "one or more 16-bit attribute ids", body)
    command: Any
    command, _rest = _READ_ATTRIBUTES.schema.deserialize(body)
    return [int(attribute_id) for attribute_id in command.attribute_ids]


class ZclServer:
    """Answers ZCL requests for the clusters in `clusters` (cluster id -> attribute table)."""

    def __init__(self, clusters: Mapping[int, AttributeTable]) -> None:
        self._clusters = {int(cluster): dict(table) for cluster, table in clusters.items()}

    @property
    def clusters(self) -> list[int]:
        return sorted(self._clusters)

    def handle(self, cluster_id: int, frame: ZclFrame, *, broadcast: bool = False) -> bytes | None:
        """The payload to send back for a client-to-server frame, or None for no answer.

        Raises DecodeError when the command payload is malformed.
        """
        header = frame.header
        if not frame.to_server:
            return None  # a response for a client cluster: not the server's business
        if frame.is_general and header.command_id == foundation.GeneralCommand.Default_Response:
            return None  # 2.5.12.2: never answer a Default Response
        table = self._clusters.get(cluster_id)
        if table is None:
            return self._default_response(header, foundation.Status.UNSUPPORTED_CLUSTER, broadcast)
        manufacturer = bool(header.frame_control.is_manufacturer_specific)
        if frame.is_general and not manufacturer:
            if header.command_id == foundation.GeneralCommand.Read_Attributes:
                return self._read_attributes(header, table, parse_read_attributes(frame.body))
            return self._default_response(
                header, foundation.Status.UNSUP_GENERAL_COMMAND, broadcast
            )
        if frame.is_general:
            status = foundation.Status.UNSUP_MANUF_GENERAL_COMMAND
        elif manufacturer:
            status = foundation.Status.UNSUP_MANUF_CLUSTER_COMMAND
        else:
            status = foundation.Status.UNSUP_CLUSTER_COMMAND
        return self._default_response(header, status, broadcast)

    def read_values(self, cluster_id: int) -> dict[int, Any]:
        """Every attribute of a served cluster as (id -> typed value), for the bench port."""
        return {
            attribute_id: attribute.zcl_type(attribute.read())
            for attribute_id, attribute in self._clusters[cluster_id].items()
        }

    def _read_attributes(
        self, header: foundation.ZCLHeader, table: AttributeTable, attribute_ids: list[int]
    ) -> bytes:
        head = response_header(header, foundation.GeneralCommand.Read_Attributes_rsp).serialize()
        records: list[foundation.ReadAttributeRecord] = []
        size = len(head)
        for attribute_id in attribute_ids:
            attribute = table.get(attribute_id)
            if attribute is None:
                record = foundation.ReadAttributeRecord(
                    t.uint16_t(attribute_id), foundation.Status.UNSUPPORTED_ATTRIBUTE
                )
            else:
                record = foundation.ReadAttributeRecord(
                    t.uint16_t(attribute_id), foundation.Status.SUCCESS, attribute.type_value()
                )
            length = len(record.serialize())
            if size + length > MAX_ZCL_PAYLOAD:
                break  # 2.5.2.3: only the records that fit; the client reads the rest again
            records.append(record)
            size += length
        body = _READ_ATTRIBUTES_RSP.schema(status_records=records).serialize()
        return bytes(head + body)

    @staticmethod
    def _default_response(
        header: foundation.ZCLHeader, status: foundation.Status, broadcast: bool
    ) -> bytes | None:
        if broadcast:
            return None  # 2.5.12.2 criterion 1: Default Responses answer unicasts only
        head = response_header(header, foundation.GeneralCommand.Default_Response)
        body = _DEFAULT_RSP.schema(command_id=header.command_id, status=status)
        return bytes(head.serialize() + body.serialize())

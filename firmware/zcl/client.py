"""The client side of ZCL: Read Attributes requests and their matching responses.

The IHD reads the meters' Metering attributes with this (and a meter could read the hub's Time
cluster with it). Requests go out through the firmware's `send` (an APS-acknowledged unicast);
a response is matched to its request by the responder's network address and the ZCL transaction
sequence number, which is what ZCL provides for it (07-5123-06 clause 2.4.1.2).

Timeouts are radio timeouts: the radio is real hardware, or an emulation running in real time,
even when the firmware's clock runs scaled. So they are stated in real seconds and waited on the
clock port as `seconds * clock.scale` emulated seconds, never on the host clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import zigpy.types as t
from zigpy.zcl import foundation

from firmware.clock_waits import wait_on_clock
from hal.ports import Clock
from protocol.errors import DecodeError, RemoteProtocolError, TransientLinkError

from .server import ZclFrame

__all__ = ["ZclClient"]

#: Real seconds to wait for a response once the request was acknowledged at the APS layer.
REPLY_TIMEOUT_REAL_S = 3.0

Send = Callable[[int, int, int, bytes], Awaitable[None]]

_READ_ATTRIBUTES = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes]


class ZclClient:
    """Sends ZCL client requests and resolves them with the responses the firmware hands in."""

    def __init__(self, clock: Clock, send: Send) -> None:
        self._clock = clock
        self._send = send
        self._tsn = 0
        self._pending: dict[
            tuple[int, int], asyncio.Future[tuple[foundation.ZCLHeader, bytes]]
        ] = {}

    def next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    async def read_attributes(
        self, destination: int, endpoint: int, cluster_id: int, attribute_ids: Iterable[int]
    ) -> dict[int, Any]:
        """Read Attributes (0x00); returns id -> value for the records with status SUCCESS.

        Raises TransientLinkError when the request is not delivered or not answered in time,
        RemoteProtocolError when the server answers with a Default Response (e.g.
        UNSUPPORTED_CLUSTER), DecodeError when the response is malformed.
        """
        tsn = self.next_tsn()
        header = foundation.ZCLHeader.general(tsn, foundation.GeneralCommand.Read_Attributes)
        body = _READ_ATTRIBUTES.schema(attribute_ids=[t.uint16_t(a) for a in attribute_ids])
        reply_header, reply_body = await self._request(
            destination, endpoint, cluster_id, tsn, bytes(header.serialize() + body.serialize())
        )
        if reply_header.command_id == foundation.GeneralCommand.Default_Response:
            raise RemoteProtocolError(
                f"0x{destination:04x} refused Read Attributes of cluster 0x{cluster_id:04x}: "
                f"{parse_default_response(reply_body).status!r}"
            )
        return parse_read_attributes_response(reply_body)

    def handle_response(self, sender: int, frame: ZclFrame) -> bool:
        """Hand in a server-to-client frame; True if it answered one of our requests."""
        future = self._pending.get((sender, int(frame.header.tsn)))
        if future is None or future.done():
            return False
        if not frame.is_general or frame.header.command_id not in (
            foundation.GeneralCommand.Read_Attributes_rsp,
            foundation.GeneralCommand.Default_Response,
        ):
            return False
        future.set_result((frame.header, frame.body))
        return True

    async def _request(
        self, destination: int, endpoint: int, cluster_id: int, tsn: int, payload: bytes
    ) -> tuple[foundation.ZCLHeader, bytes]:
        key = (destination, tsn)
        future: asyncio.Future[tuple[foundation.ZCLHeader, bytes]] = (
            asyncio.get_running_loop().create_future()
        )
        self._pending[key] = future
        try:
            await self._send(destination, cluster_id, endpoint, payload)
            return await wait_on_clock(
                self._clock, future, REPLY_TIMEOUT_REAL_S * self._clock.scale
            )
        except TimeoutError:
            raise TransientLinkError(
                f"no ZCL response from 0x{destination:04x} (cluster 0x{cluster_id:04x})"
            ) from None
        finally:
            self._pending.pop(key, None)
            future.cancel()


def parse_read_attributes_response(body: bytes) -> dict[int, Any]:
    """Read Attributes Response records (ZCL 2.5.2) as id -> value, successful records only."""
    try:
        response, rest = foundation.ReadAttributesResponse.deserialize(body)
    except (ValueError, KeyError) as exc:
        raise DecodeError("Read Attributes Response", f"attribute records ({exc})", body) from None
    if rest:
        raise DecodeError("Read Attributes Response", "nothing after the records", rest)
    values: dict[int, Any] = {}
    for record in response.status_records:
        if record.status == foundation.Status.SUCCESS and record.value is not None:
            values[int(record.attrid)] = record.value.value
    return values


def parse_default_response(body: bytes) -> Any:
    """Default Response payload (ZCL 2.5.12): the command id it answers and a status."""
    try:
        response, _rest = foundation.DefaultResponse.deserialize(body)
    except (ValueError, KeyError) as exc:
        raise DecodeError("Default Response", f"command id and status ({exc})", body) from None
    return response

"""The hub's end of a meter's tunnel (SE Tunneling 0x0704): one head-end command, one answer.

`exchange` opens a tunnel to the meter's Tunneling server, sends the command as TransferData
chunks (`protocol.meter_tunnel`), gathers the answer (ReadyData for each further chunk) and
closes the tunnel. Each step is one ZCL request whose answer comes back with the same
transaction number, so zigpy pairs them; a device that does not answer is DeviceUnavailable.
"""

from __future__ import annotations

import asyncio
from typing import Any

import zigpy.device
import zigpy.exceptions

from firmware.zcl.frame import MAX_ZCL_PAYLOAD, cluster_command_header
from protocol.errors import DecodeError, TransientLinkError
from protocol.json_fields import JsonObject
from protocol.meter_tunnel import TUNNEL_MANUFACTURER, Reassembly, chunks
from protocol.se import Tunneling
from protocol.se.tunneling import TunnelProtocolId, TunnelStatus
from protocol.zigbee_ids import SE_PROFILE

from .commissioning import DeviceUnavailable

__all__ = ["EXCHANGE_TIMEOUT_S", "exchange"]

#: A TransferData request: 3-octet ZCL header and 2-octet TunnelID before the data.
CHUNK_OCTETS = MAX_ZCL_PAYLOAD - 5
#: Longest a whole command may take over the HAN (a tariff is a few dozen frames).
EXCHANGE_TIMEOUT_S = 30.0
_COMMANDS = Tunneling.ServerCommandDefs


async def exchange(
    device: zigpy.device.Device, name: str, src_endpoint: int, message: JsonObject
) -> JsonObject:
    """Send `message` through a tunnel to `device` and return the meter's answer."""
    endpoint = min((ep for ep in device.endpoints if ep), default=1)
    tunnel = _Tunnel(device, name, src_endpoint, endpoint)
    try:
        async with asyncio.timeout(EXCHANGE_TIMEOUT_S):
            return await tunnel.run(message)
    except TimeoutError:
        raise DeviceUnavailable(f"{name} did not answer the tunnelled command in time") from None


class _Tunnel:
    def __init__(
        self, device: zigpy.device.Device, name: str, src_endpoint: int, endpoint: int
    ) -> None:
        self.device, self.name, self.src, self.dst = device, name, src_endpoint, endpoint

    async def run(self, message: JsonObject) -> JsonObject:
        opened = await self._request(
            "request_tunnel",
            protocol_id=TunnelProtocolId.Test,
            manufacturer_code=TUNNEL_MANUFACTURER,
            flow_control_support=False,
            maximum_incoming_transfer_size=CHUNK_OCTETS,
        )
        if getattr(opened, "tunnel_status", None) != TunnelStatus.Success:
            raise DeviceUnavailable(f"{self.name} opened no tunnel: {opened}")
        tunnel_id = int(opened.tunnel_id)
        size = min(CHUNK_OCTETS, int(opened.maximum_incoming_transfer_size) or CHUNK_OCTETS)
        try:
            answer = await self._send(tunnel_id, chunks(message, size))
        finally:
            await self._request("close_tunnel", expect_reply=False, tunnel_id=tunnel_id)
        return answer

    async def _send(self, tunnel_id: int, parts: list[bytes]) -> JsonObject:
        reply: Any = None
        for part in parts:
            reply = await self._request("transfer_data", tunnel_id=tunnel_id, data=part)
        reassembly = Reassembly()
        while True:
            if not hasattr(reply, "data"):
                raise DeviceUnavailable(f"{self.name} answered the tunnel with {reply}")
            try:
                answer = reassembly.take(bytes(reply.data))
            except DecodeError as exc:
                raise DeviceUnavailable(f"{self.name} sent a malformed answer: {exc}") from None
            if answer is not None:
                return answer
            if not reply.data:
                raise DeviceUnavailable(f"{self.name} ended its answer early")
            reply = await self._request(
                "ready_data", tunnel_id=tunnel_id, number_of_octets_left=CHUNK_OCTETS
            )

    async def _request(self, command: str, *, expect_reply: bool = True, **fields: Any) -> Any:
        definition = getattr(_COMMANDS, command)
        tsn = self.device.application.get_sequence()
        header = cluster_command_header(
            tsn, definition.id, to_server=True, disable_default_response=True
        )
        payload = bytes(header.serialize() + definition.schema(**fields).serialize())
        try:
            return await self.device.request(
                SE_PROFILE,
                Tunneling.cluster_id,
                self.src,
                self.dst,
                tsn,
                payload,
                expect_reply=expect_reply,
            )
        except (TransientLinkError, zigpy.exceptions.ZigbeeException) as exc:
            raise DeviceUnavailable(f"{self.name} did not take the tunnel: {exc}") from exc

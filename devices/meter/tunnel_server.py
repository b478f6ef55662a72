"""The meter's Tunneling server (0x0704): head-end commands in, their answers out.

The hub opens a tunnel (RequestTunnel, protocol `Test`: the emulator's JSON commands of
`protocol.meter_tunnel`), sends a command as TransferData chunks, each answered by
AckTransferData with the octets still missing, and the last by the first chunk of the answer
(TransferData from the server, same transaction number); ReadyData fetches the next chunk. The
command itself is run by the firmware's `Dispatch`, synchronously, so its effect and its answer
are one step of the firmware: a command the meter answered has been applied and saved.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from firmware.zcl.cluster_server import (
    AttributeBinding,
    ClusterResponse,
    ClusterServer,
    CommandRequest,
)
from firmware.zcl.frame import MAX_ZCL_PAYLOAD
from firmware.zcl.reporting import Destination
from protocol.errors import DecodeError, RemoteProtocolError
from protocol.json_fields import JsonObject
from protocol.meter_tunnel import Reassembly, chunks
from protocol.se import Tunneling
from protocol.se.tunneling import TransferDataStatus, TunnelProtocolId, TunnelStatus

__all__ = ["CHUNK_OCTETS", "TUNNEL_PROTOCOL", "CommandRefused", "Dispatch", "TunnelServer"]

#: TransferData: a 3-octet ZCL header and the 2-octet TunnelID before the data.
CHUNK_OCTETS = MAX_ZCL_PAYLOAD - 5
TUNNEL_PROTOCOL = TunnelProtocolId.Test
#: Tunnels open at once (one per hub is all a meter needs; a few spare for a restarted hub).
MAX_TUNNELS = 4
CLOSE_TUNNEL_TIMEOUT_S = 60
#: A command's name and arguments in, the answer's data out; raises CommandRefused to refuse it.
Dispatch = Callable[[str, JsonObject], JsonObject]
LOGGER = logging.getLogger(__name__)


class CommandRefused(RemoteProtocolError):
    """The head-end's command is not one the meter takes; the message says why."""


@dataclass
class _Tunnel:
    source: Destination
    inbound: Reassembly = field(default_factory=Reassembly)
    outbound: list[bytes] = field(default_factory=list)


class TunnelServer:
    """The Tunneling cluster of a meter (see the module doc)."""

    def __init__(self, dispatch: Dispatch) -> None:
        self._dispatch = dispatch
        self._tunnels: dict[int, _Tunnel] = {}
        self._next_id = 1

    def cluster(self) -> ClusterServer:
        return ClusterServer(
            Tunneling,
            {"close_tunnel_timeout": AttributeBinding(lambda: CLOSE_TUNNEL_TIMEOUT_S)},
            {
                "request_tunnel": self._request_tunnel,
                "close_tunnel": self._close_tunnel,
                "transfer_data": self._transfer_data,
                "ready_data": self._ready_data,
            },
        )

    def _request_tunnel(self, request: CommandRequest) -> ClusterResponse:
        args = request.args
        status = TunnelStatus.Success
        if args.protocol_id != TUNNEL_PROTOCOL:
            status = TunnelStatus.ProtocolNotSupported
        elif args.flow_control_support:
            status = TunnelStatus.FlowControlNotSupported
        tunnel_id = 0xFFFF
        if status is TunnelStatus.Success:
            # A hub that restarted opens a new tunnel: its old one goes, oldest first.
            mine = [k for k, v in self._tunnels.items() if v.source == request.source]
            for stale in mine[: max(0, len(mine) + 1 - MAX_TUNNELS // 2)]:
                del self._tunnels[stale]
            while len(self._tunnels) >= MAX_TUNNELS:
                del self._tunnels[next(iter(self._tunnels))]
            tunnel_id = self._next_id
            self._next_id = self._next_id % 0xFFFE + 1
            self._tunnels[tunnel_id] = _Tunnel(request.source)
        return ClusterResponse(
            "request_tunnel_response",
            {
                "tunnel_id": tunnel_id,
                "tunnel_status": status,
                "maximum_incoming_transfer_size": CHUNK_OCTETS,
            },
        )

    def _close_tunnel(self, request: CommandRequest) -> None:
        tunnel = self._tunnels.get(int(request.args.tunnel_id))
        if tunnel is not None and tunnel.source == request.source:
            del self._tunnels[int(request.args.tunnel_id)]

    def _tunnel(self, request: CommandRequest) -> _Tunnel | ClusterResponse:
        tunnel_id = int(request.args.tunnel_id)
        tunnel = self._tunnels.get(tunnel_id)
        if tunnel is None or tunnel.source != request.source:
            status = (
                TransferDataStatus.NoSuchTunnel
                if tunnel is None
                else TransferDataStatus.WrongDevice
            )
            return ClusterResponse(
                "transfer_data_error_from_server",
                {"tunnel_id": tunnel_id, "transfer_data_status": status},
            )
        return tunnel

    def _transfer_data(self, request: CommandRequest) -> ClusterResponse:
        tunnel = self._tunnel(request)
        if isinstance(tunnel, ClusterResponse):
            return tunnel
        tunnel_id = int(request.args.tunnel_id)
        try:
            message = tunnel.inbound.take(bytes(request.args.data))
        except DecodeError as exc:
            message = None
            tunnel.outbound = chunks({"ok": False, "error": str(exc)}, CHUNK_OCTETS)
            return self._next_chunk(tunnel_id, tunnel)
        if message is None:
            return ClusterResponse(
                "ack_transfer_data_from_server",
                {
                    "tunnel_id": tunnel_id,
                    "number_of_bytes_left": min(tunnel.inbound.missing, 0xFFFF),
                },
            )
        tunnel.outbound = chunks(self._run(message), CHUNK_OCTETS)
        return self._next_chunk(tunnel_id, tunnel)

    def _ready_data(self, request: CommandRequest) -> ClusterResponse:
        tunnel = self._tunnel(request)
        if isinstance(tunnel, ClusterResponse):
            return tunnel
        return self._next_chunk(int(request.args.tunnel_id), tunnel)

    @staticmethod
    def _next_chunk(tunnel_id: int, tunnel: _Tunnel) -> ClusterResponse:
        data = tunnel.outbound.pop(0) if tunnel.outbound else b""
        return ClusterResponse("transfer_data_from_server", {"tunnel_id": tunnel_id, "data": data})

    def _run(self, message: JsonObject) -> JsonObject:
        command, args = message.get("command"), message.get("args", {})
        if not isinstance(command, str) or not isinstance(args, dict):
            return {"ok": False, "error": 'a command is {"command": name, "args": {...}}'}
        try:
            return {"ok": True, "data": self._dispatch(command, args)}
        except CommandRefused as exc:
            LOGGER.info("%s refused: %s", command, exc)
            return {"ok": False, "error": str(exc)}
        except Exception as exc:  # a fault (the store failed): undone, said so, not a traceback
            LOGGER.exception("%s failed", command)
            return {"ok": False, "error": f"the meter failed to carry out {command}: {exc}"}

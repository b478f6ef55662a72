"""ZCL frames as the engines see them: a parsed header and the payload after it (ZCL 2.4).

Parsing is zigpy's (`foundation.ZCLHeader`), refusals are ours: whatever cannot be a ZCL frame
raises `DecodeError`, so the firmware logs the malformed message (clause 18.11.j) and answers
nothing. Building helpers give a reply the request's transaction sequence number and the
opposite direction, as ZCL 2.4.1.3 asks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import zigpy.types as t
from zigpy.zcl import foundation

from protocol.errors import DecodeError

__all__ = [
    "MAX_ZCL_PAYLOAD",
    "ZclFrame",
    "cluster_command_header",
    "general_command",
    "response_header",
]

#: Largest ZCL payload sent in one frame: what fits one APS-secured data frame (Smart Energy
#: clusters are always APS-secured, SE 5.4.6), so 82 octets of the node descriptor's transfer
#: size less the NWK extended source (8) and APS security (17). We do not fragment: a longer
#: answer carries fewer records (ZCL 2.5.2.3) and the client reads the rest again.
MAX_ZCL_PAYLOAD = 57


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
            frame_type = int(header.frame_control.frame_type)
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
        """True for a command to a server cluster, False for one coming back to a client."""
        return bool(self.header.frame_control.direction == foundation.Direction.Client_to_Server)

    @property
    def is_general(self) -> bool:
        return bool(self.header.frame_control.frame_type == foundation.FrameType.GLOBAL_COMMAND)

    @property
    def manufacturer_specific(self) -> bool:
        return bool(self.header.frame_control.is_manufacturer_specific)

    @property
    def tsn(self) -> int:
        return int(self.header.tsn)

    @property
    def command_id(self) -> int:
        return int(self.header.command_id)


def attribute_id(value: int) -> t.uint16_t:
    """An attribute identifier as zigpy's records hold it."""
    return t.uint16_t(value)  # type: ignore[no-untyped-call]  # zigpy's int types are untyped


def set_disable_default_response(header: foundation.ZCLHeader, disabled: bool) -> None:
    """Set a header's Disable Default Response bit (ZCL 2.4.1.1.4)."""
    control: Any = header.frame_control
    header.frame_control = control.replace(disable_default_response=disabled)


def response_header(request: foundation.ZCLHeader, command_id: int) -> foundation.ZCLHeader:
    """Header of a global command answering `request`: same TSN and manufacturer code, the
    other direction. zigpy sets Disable Default Response on it: a response is never answered
    with a Default Response."""
    direction = (
        foundation.Direction.Server_to_Client
        if request.frame_control.direction == foundation.Direction.Client_to_Server
        else foundation.Direction.Client_to_Server
    )
    return foundation.ZCLHeader.general(
        request.tsn, command_id, manufacturer=request.manufacturer, direction=direction
    )


def cluster_command_header(
    tsn: int, command_id: int, *, to_server: bool, disable_default_response: bool
) -> foundation.ZCLHeader:
    """Header of a cluster-specific command (ZCL 2.4.1.1: frame type 01)."""
    direction = (
        foundation.Direction.Client_to_Server
        if to_server
        else foundation.Direction.Server_to_Client
    )
    header = foundation.ZCLHeader.cluster(tsn, command_id, direction=direction)
    set_disable_default_response(header, disable_default_response)
    return header


def general_command(
    tsn: int, command: foundation.GeneralCommand, *, to_server: bool = True, **fields: Any
) -> bytes:
    """A whole global command frame, its payload built from zigpy's schema for it."""
    direction = (
        foundation.Direction.Client_to_Server
        if to_server
        else foundation.Direction.Server_to_Client
    )
    header = foundation.ZCLHeader.general(tsn, command, direction=direction)
    if not to_server:
        set_disable_default_response(header, True)
    body = foundation.GENERAL_COMMANDS[command].schema(**fields)
    return bytes(header.serialize() + body.serialize())

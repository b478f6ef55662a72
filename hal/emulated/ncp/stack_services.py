"""What the parts of the emulated ZigBee stack need from the stack they belong to.

The stack (`zigbee_stack.ZigbeeStack`) is composed of parts — routing, APS delivery and security,
ZDO, the joiner, the parent and trust centre, leave handling — and each part needs a little of
the whole: to build and send frames, count events, tell the host, read the state and the timer.
They ask for it through `StackServices`, which the stack implements. This module imports none of
the parts, so no part imports the stack and the stack's modules form no import cycle; a part that
needs another part is given it (or a callable) by the stack when it is built.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVarTuple

import bellows.types as t

from protocol.ieee802154 import FrameType
from protocol.zigbee_aps import ApsFrame, ApsFrameType
from protocol.zigbee_nwk import NwkFrameType

from .channel_energy import ChannelEnergy
from .state import NcpState
from .timer import Timer

Ts = TypeVarTuple("Ts")
#: A callback to the host: EZSP callback name and its canonical fields (see `ezsp_codec`).
EmitCallback = Callable[[str, dict[str, Any]], None]
#: NWK broadcast addresses: all devices, rx-on-when-idle, routers, low-power routers (3.6.5).
BROADCAST_ADDRESSES = (0xFFFF, 0xFFFD, 0xFFFC, 0xFFFB)


class StackServices(Protocol):
    """The stack as its parts see it."""

    #: The node's tables and membership (`state.NcpState`).
    state: NcpState
    #: Every timeout and delay of the stack, and its clock.
    timer: Timer
    #: Send a callback to the host.
    emit: EmitCallback
    #: What the radio heard on each channel lately (energy scans).
    energy: ChannelEnergy

    def later(self, delay_s: float, func: Callable[[*Ts], object], *args: *Ts) -> None:
        """Run `func(*args)` after `delay_s` (0: after the current EZSP response has gone out)."""
        ...

    def count(self, counter: t.EmberCounterType) -> None:
        """One more of an EmberZNet counter (readCounters)."""
        ...

    @property
    def joining_in_progress(self) -> bool:
        """The node is joining: scanning, associating or waiting for the network key."""
        ...

    def drop_membership(self) -> None:
        """Forget the network (left, refused, or a failed join)."""
        ...

    def forget_peer_counters(self, eui64: int) -> None:
        """Forget the last NWK and APS frame counters heard from a device: it was just admitted
        (again) by the trust centre with fresh key material, and a device that lost its state
        starts its counters again."""
        ...

    # -- building frames ----------------------------------------------------------------

    def next_aps_counter(self) -> int:
        """The next 8-bit APS counter of a frame this node originates."""
        ...

    def next_frame_counter(self, kind: str) -> int:
        """The next outgoing NWK ("nwk") or APS ("aps") security frame counter."""
        ...

    def nwk_frame(
        self,
        destination: int,
        payload: bytes,
        *,
        frame_type: NwkFrameType,
        radius: int = 30,
        secure: bool = True,
    ) -> bytes:
        """A NWK frame from this node, secured with the network key unless `secure` is off."""
        ...

    def nwk_data_frame(self, destination: int, payload: bytes, radius: int = 30) -> bytes:
        """A NWK-secured data frame from this node."""
        ...

    # -- sending ------------------------------------------------------------------------

    def transmit_mac(
        self,
        frame_type: FrameType,
        payload: bytes,
        *,
        dst_pan: int | None,
        dst: int | None,
        src: int | None,
        src_pan: int | None = None,
        ack_request: bool = False,
    ) -> None:
        """Put one MAC frame on the air."""
        ...

    def transmit_mac_data(self, destination: int, nwk_frame: bytes) -> None:
        """Send a NWK frame for NWK `destination` to its next hop."""
        ...

    def send_aps(self, destination: int, aps: ApsFrame) -> None:
        """Send a stack-originated APS frame NWK-secured, looping back frames for ourselves."""
        ...


def send_aps_command(stack: StackServices, destination: int, payload: bytes) -> None:
    """An APS command without APS security (NWK-secured only), e.g. Update-Device."""
    aps = ApsFrame(
        frame_type=ApsFrameType.COMMAND, counter=stack.next_aps_counter(), payload=payload
    )
    stack.send_aps(destination, aps)

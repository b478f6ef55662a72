"""Who on the air a frame is for: the emulated channel's shortcut past radios that would drop it.

On a real channel every radio in range hears every frame and its MAC drops what is not addressed
to it. The emulated air skips that wasted work (a frame decoded by every NCP process on the
premises) by handing a unicast only to the nodes that use its destination address:

- short addresses are learned from the MAC source of what each node transmits (a node that
  changes address, or two nodes in an address conflict, are followed: every node that sent from
  an address hears frames to it);
- extended destinations go to the node of that EUI-64 (it said it in its `Hello`);
- an acknowledgement goes to the nodes whose frame with that sequence number asked for one;
- broadcasts, beacons, frames to an address nobody has used yet and anything whose header cannot
  be read go to every node, whose MACs filter as real ones do.

Capture monitors are not nodes: they still get every frame (`AirChannel`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Generic, Protocol, TypeVar

from protocol.ieee802154 import BROADCAST_ADDR, FrameType, peek_addressing

__all__ = ["AirAddressing"]


class Addressable(Protocol):
    """A node on the air as addressing sees it: its EUI-64, hashed by identity."""

    eui64: int


N = TypeVar("N", bound=Addressable)


class AirAddressing(Generic[N]):
    """The short addresses nodes transmit from, and who waits for which acknowledgement."""

    def __init__(self) -> None:
        self._by_short: dict[int, set[N]] = {}
        self._short_of: dict[N, int] = {}
        self._awaiting_ack: dict[int, set[N]] = {}

    def receivers(self, sender: N, psdu: bytes, nodes: Sequence[N]) -> list[N]:
        """The nodes of `nodes` (the sender excepted) that `psdu` must reach."""
        found = self._addressed(sender, psdu, nodes)
        return [n for n in (nodes if found is None else found) if n is not sender]

    def forget(self, node: N) -> None:
        """`node` left the air."""
        short = self._short_of.pop(node, None)
        if short is not None:
            self._by_short[short].discard(node)
        for waiting in self._awaiting_ack.values():
            waiting.discard(node)

    def _addressed(self, sender: N, psdu: bytes, nodes: Sequence[N]) -> list[N] | None:
        """The addressed nodes, or None for everyone."""
        mac = peek_addressing(psdu)
        if mac is None:
            return None
        if mac.src_short is not None:
            self._learn(sender, mac.src_short)
        if mac.frame_type == FrameType.ACK:
            waiting = self._awaiting_ack.pop(mac.seq, None)
            return list(waiting) if waiting else None
        unicast = mac.dst is not None and (mac.dst_extended or mac.dst != BROADCAST_ADDR)
        if not unicast:
            return None
        if mac.ack_request:
            self._awaiting_ack.setdefault(mac.seq, set()).add(sender)
        if mac.dst_extended:
            found = [n for n in nodes if n.eui64 == mac.dst]
        else:
            found = list(self._by_short.get(mac.dst or 0, ()))
        return found or None

    def _learn(self, node: N, short: int) -> None:
        previous = self._short_of.get(node)
        if previous == short:
            return
        if previous is not None:
            self._by_short[previous].discard(node)
        self._short_of[node] = short
        self._by_short.setdefault(short, set()).add(node)

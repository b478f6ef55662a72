"""ZigBee stacks on the in-process air, on one manual timer: timing tests that take no time.

The stacks are driven directly (no EZSP, no bellows): a test forms, joins and sends through
`ZigbeeStack`'s host-facing methods and reads what the stack told its host from `Node.calls`.
Time moves only when the test says (`run_until`, `run_for`); frames between nodes still travel
through the event loop (`InProcessRadioLink` delivers on a later loop iteration), so the bench
lets the loop run until the air is quiet after each timer event — "quiet" meaning a loop
iteration in which no frame went on the air and nothing fell due, not a fixed sleep.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import bellows.types as t

from hal.emulated.air_channel import AirChannel, InProcessRadioLink
from hal.emulated.ncp.joiner import SCAN_TIME_S
from hal.emulated.ncp.manual_timer import ManualTimer
from hal.emulated.ncp.state import LinkKeyEntry, NcpState, NetworkRole
from hal.emulated.ncp.zigbee_stack import ZigbeeStack
from protocol.ieee802154 import FrameType, MacFrame

CHANNEL = 15
PAN_ID = 0x1A62
EXTENDED_PAN_ID = 0x00124B0001ABCDEF
NETWORK_KEY = bytes(range(16))
#: Loop iterations the air may stay busy before a test is declared stuck.
MAX_ROUNDS = 1000


def network_parameters() -> t.EmberNetworkParameters:
    return t.EmberNetworkParameters(
        extendedPanId=t.ExtendedPanId(EXTENDED_PAN_ID.to_bytes(8, "little")),
        panId=PAN_ID,
        radioTxPower=8,
        radioChannel=CHANNEL,
        joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION,
        nwkManagerId=0x0000,
        nwkUpdateId=0,
        channels=t.Channels.from_channel_list([CHANNEL]),
    )


@dataclasses.dataclass
class Node:
    """One stack on the air, and every callback it gave its host: (time, name, values)."""

    stack: ZigbeeStack
    link: InProcessRadioLink
    calls: list[tuple[float, str, dict[str, Any]]]

    @property
    def state(self) -> NcpState:
        return self.stack.state

    def called(self, name: str) -> list[tuple[float, dict[str, Any]]]:
        return [(at, values) for at, call, values in self.calls if call == name]

    def statuses(self) -> list[tuple[float, t.sl_Status]]:
        return [(at, values["status"]) for at, values in self.called("stackStatusHandler")]


@dataclasses.dataclass
class Sent:
    """A frame on the air and when it went."""

    at: float
    mac: MacFrame


class Bench:
    """An air, a manual timer and the nodes on them."""

    def __init__(self) -> None:
        self.air = AirChannel()
        self.timer = ManualTimer()
        self.nodes: list[Node] = []
        self.sent: list[Sent] = []
        self.air.add_monitor(self._heard)

    def _heard(self, _channel: int, psdu: bytes) -> None:
        self.sent.append(Sent(self.timer.monotonic(), MacFrame.parse(psdu)))

    async def node(self, eui64: int, name: str) -> Node:
        calls: list[tuple[float, str, dict[str, Any]]] = []
        link = InProcessRadioLink(self.air, eui64, name)

        def emit(call: str, values: dict[str, Any]) -> None:
            calls.append((self.timer.monotonic(), call, values))

        stack = ZigbeeStack(NcpState(eui64=eui64), link, emit, timer=self.timer)
        await link.open(stack.receive)
        node = Node(stack, link, calls)
        self.nodes.append(node)
        return node

    async def close(self) -> None:
        for node in self.nodes:
            await node.link.close()

    # -- time ------------------------------------------------------------------------------

    async def settle(self) -> None:
        """Let frames in flight arrive, and what they cause happen, at the current instant."""
        for _ in range(MAX_ROUNDS):
            sent = len(self.sent)
            await asyncio.sleep(0)  # one loop iteration: the air delivers what was sent
            self.timer.advance(0)
            if len(self.sent) == sent:
                return
        raise AssertionError("the air never went quiet")

    async def run_until(self, instant: float) -> None:
        """Move time to `instant`, one timer event at a time, settling the air after each."""
        await self.settle()
        while (deadline := self.timer.next_deadline()) is not None and deadline <= instant:
            self.timer.advance_to(deadline)
            await self.settle()
        self.timer.advance_to(instant)
        await self.settle()

    async def run_for(self, seconds: float) -> None:
        await self.run_until(self.timer.monotonic() + seconds)

    # -- a network ----------------------------------------------------------------------------

    async def coordinator(self, eui64: int, name: str = "hub") -> Node:
        node = await self.node(eui64, name)
        node.state.network_key = NETWORK_KEY
        assert node.stack.form_network(network_parameters()) == t.sl_Status.OK
        await self.settle()
        return node

    async def joining(
        self, trust_centre: Node, eui64: int, name: str, link_key: bytes, role: NetworkRole
    ) -> Node:
        """A node that has just started to join, the trust centre knowing its link key."""
        trust_centre.state.transient_keys[eui64] = LinkKeyEntry(eui64, link_key)
        node = await self.node(eui64, name)
        node.state.preconfigured_key = link_key
        assert node.stack.join_network(role, network_parameters()) == t.sl_Status.OK
        return node

    async def joined(
        self, trust_centre: Node, eui64: int, name: str, link_key: bytes, role: NetworkRole
    ) -> Node:
        """A node joined through whoever answered its scan."""
        node = await self.joining(trust_centre, eui64, name, link_key, role)
        await self.run_for(SCAN_TIME_S)
        assert node.state.joined, f"{name} did not join: {node.statuses()}"
        return node

    def frames_from(self, node: Node, frame_type: FrameType = FrameType.DATA) -> list[Sent]:
        """Frames `node` put on the air (by MAC source short address), of one MAC type."""
        return [
            s
            for s in self.sent
            if s.mac.frame_type == frame_type and s.mac.src_addr == node.state.node_id
        ]

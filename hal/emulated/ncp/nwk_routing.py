"""NWK unicast routing in the emulated stack: reverse-path learning and a parent default route.

Not ZigBee's AODV route discovery, but the same outcome on the small meshes a premises HAN forms
(clauses 6.1.8, 19.1.5): every node learns, from each NWK frame it receives, that the frame's NWK
source is reachable through the frame's MAC source (the last hop). A unicast goes to the next hop
learned for its destination; with nothing learned, an end device (and a router talking to the
coordinator) goes through its parent, anyone else straight to the destination.

A router or coordinator that receives a unicast for another node relays it with the radius
decremented (ZigBee spec 3.6.3.3). NWK security covers the header, radius included, so each hop
re-secures the frame with its own frame counter and its own EUI-64 in the auxiliary header, as
every ZigBee router does; the NWK source, sequence number and extended source stay the
originator's.

One frame is relayed without NWK security: the trust centre's APS Transport-Key for a device that
joined through this router (4.6.3.2). The trust centre sends it NWK-secured to the router, which
forwards it unsecured at NWK to its not yet authenticated child, the key itself staying
APS-encrypted under the child's key-transport key.
"""

from __future__ import annotations

import dataclasses
import logging

from protocol import zigbee_security as sec
from protocol.errors import DecodeError
from protocol.zigbee_aps import ApsFrame, ApsFrameType
from protocol.zigbee_nwk import NwkFrame, NwkFrameType

from .stack_services import BROADCAST_ADDRESSES, StackServices
from .state import NetworkRole

LOGGER = logging.getLogger(__name__)
#: Routing-table size of a small NCP; the oldest learned route gives way to a new one.
MAX_ROUTES = 64


class NwkRouting:
    def __init__(self, stack: StackServices) -> None:
        self.stack = stack
        #: destination NWK address -> next hop (MAC short address).
        self.routes: dict[int, int] = {}
        #: Children admitted by this router whose network key has not been delivered yet.
        self.unauthenticated: set[int] = set()

    def learn(self, mac_source: int | None, nwk_source: int) -> None:
        """Reverse-path learning: `nwk_source` is reachable through `mac_source`."""
        if mac_source is None or mac_source > 0xFFFF or nwk_source in BROADCAST_ADDRESSES:
            return
        if nwk_source == self.stack.state.node_id:
            return
        self.routes.pop(nwk_source, None)
        self.routes[nwk_source] = mac_source
        while len(self.routes) > MAX_ROUTES:
            del self.routes[next(iter(self.routes))]

    def add_route(self, destination: int, next_hop: int) -> None:
        self.learn(next_hop, destination)

    def forget(self) -> None:
        self.routes.clear()
        self.unauthenticated.clear()

    def next_hop(self, destination: int) -> int:
        """The MAC destination of a unicast to NWK `destination`."""
        s = self.stack.state
        if destination in BROADCAST_ADDRESSES or destination == s.node_id:
            return destination
        if destination in self.routes:
            return self.routes[destination]
        if any(child.nwk == destination for child in s.children.values()):
            return destination
        has_parent = s.parent_id < 0xFFF8 and s.role != NetworkRole.COORDINATOR
        end_device = s.role in (NetworkRole.END_DEVICE, NetworkRole.SLEEPY_END_DEVICE)
        if has_parent and (end_device or destination == 0x0000):
            return s.parent_id
        return destination

    def relay(self, nwk: NwkFrame, payload: bytes) -> None:
        """Forward a unicast addressed to another node (we are the MAC destination)."""
        s = self.stack.state
        if not s.joined or s.role not in (NetworkRole.COORDINATOR, NetworkRole.ROUTER):
            return
        if nwk.dst in BROADCAST_ADDRESSES or nwk.radius <= 1:
            return
        header = dataclasses.replace(nwk, radius=nwk.radius - 1, payload=b"")
        if nwk.dst in self.unauthenticated and _is_aps_command(nwk, payload):
            # The trust centre's key transport for our joining child (4.6.3.2).
            self.unauthenticated.discard(nwk.dst)
            frame = dataclasses.replace(header, security=False).with_payload(payload).build()
            self.stack.transmit_mac_data(nwk.dst, frame)
            return
        if not nwk.security or s.network_key is None:
            return  # nothing unsecured is relayed on a secured network
        frame = sec.secure_nwk_frame(
            header.header_bytes(),
            payload,
            s.network_key,
            self.stack.next_frame_counter("nwk"),
            s.eui64,
            s.network_key_seq,
        )
        LOGGER.debug("relaying 0x%04x -> 0x%04x", nwk.src, nwk.dst)
        self.stack.transmit_mac_data(nwk.dst, frame)


def _is_aps_command(nwk: NwkFrame, payload: bytes) -> bool:
    if nwk.frame_type != NwkFrameType.DATA:
        return False
    try:
        return ApsFrame.parse(payload).frame_type == ApsFrameType.COMMAND
    except DecodeError:
        return False

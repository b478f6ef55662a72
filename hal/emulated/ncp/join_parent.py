"""The parent side of joining, and the child and neighbour tables (ZigBee spec 3.6.1.4.1,
IEEE 802.15.4 MAC association).

A coordinator or router answers Beacon Requests (association permitted while joining is open),
admits a device that sends an Association Request by giving it a short address, and keeps it in
its child table. Who gets the network key is the trust centre's call: our own coordinator asks
`trust_centre.py` at once; a router admits the child and reports the join to the trust centre
(`join_relay.py`), which decides. A child that leaves is dropped from the tables.
"""

from __future__ import annotations

import bellows.types as t

from protocol.air_link import Receive
from protocol.ieee802154 import (
    AssociationRequest,
    AssociationResponse,
    AssociationStatus,
    BeaconPayload,
    Capability,
    FrameType,
    MacFrame,
)

from .join_relay import JoinRelay
from .network_management import NetworkManagement
from .nwk_routing import NwkRouting
from .stack_services import StackServices
from .state import Neighbour, NetworkRole
from .trust_centre import TrustCentre

#: Short addresses from 0xFFF8 up are broadcast or reserved (3.6.1.9).
FIRST_RESERVED_ADDRESS = 0xFFF8


class JoinParent:
    def __init__(
        self,
        stack: StackServices,
        network: NetworkManagement,
        routing: NwkRouting,
        trust_centre: TrustCentre,
        relay: JoinRelay,
    ) -> None:
        self.stack = stack
        self.state = stack.state
        self._network = network
        self._routing = routing
        self._trust_centre = trust_centre
        self._relay = relay

    def beacon_request(self) -> None:
        """Answer a Beacon Request; a router offers association too, and relays the join to
        the trust centre with an APS Update-Device (ZigBee spec 4.6.3.2; `join_relay.py`)."""
        s = self.state
        if not s.joined or s.role not in (NetworkRole.COORDINATOR, NetworkRole.ROUTER):
            return
        beacon = BeaconPayload(
            extended_pan_id=s.extended_pan_id,
            association_permit=self._network.permitting(),
            pan_coordinator=s.role == NetworkRole.COORDINATOR,
            update_id=s.nwk_update_id,
        )
        self.stack.transmit_mac(
            FrameType.BEACON,
            beacon.build(),
            dst_pan=None,
            dst=None,
            src=s.node_id,
            src_pan=s.pan_id,
        )

    def association_request(
        self, mac: MacFrame, command: AssociationRequest, radio: Receive
    ) -> None:
        s = self.state
        if s.joined and mac.dst_addr == s.node_id and mac.src_addr:
            self._admit(mac.src_addr, command.capability, radio)

    def _admit(self, eui64: int, capability: Capability, radio: Receive) -> None:
        s = self.state
        if not self._network.permitting():
            self._associate_response(eui64, 0xFFFF, AssociationStatus.PAN_ACCESS_DENIED)
            return
        known = s.children.get(eui64)
        nwk = known.nwk if known else self._allocate_address(eui64)
        role = (
            NetworkRole.ROUTER
            if capability & Capability.FULL_FUNCTION_DEVICE
            else NetworkRole.END_DEVICE
        )
        self._associate_response(eui64, nwk, AssociationStatus.SUCCESS)
        self._routing.add_route(nwk, nwk)
        if s.role == NetworkRole.ROUTER:
            s.children[eui64] = Neighbour(eui64, nwk, role, radio.lqi, radio.rssi)
            self._relay.child_associated(eui64, nwk)
            return
        if not self._trust_centre.admit_child(nwk, eui64):
            return
        s.children[eui64] = Neighbour(eui64, nwk, role, radio.lqi, radio.rssi)
        self.stack.emit(
            "childJoinHandler",
            {
                "index": list(s.children).index(eui64),
                "joining": True,
                "childId": nwk,
                "childEui64": t.EUI64(eui64.to_bytes(8, "little")),
                "childType": t.EmberNodeType(int(role)),
            },
        )
        self._trust_centre.report_join(nwk, eui64, t.EmberJoinDecision.USE_PRECONFIGURED_KEY)

    def _allocate_address(self, eui64: int) -> int:
        used = {n.nwk for n in self.state.children.values()} | {self.state.node_id}
        candidate = (eui64 ^ (eui64 >> 16) ^ (eui64 >> 32) ^ (eui64 >> 48)) & 0xFFF7 or 1
        while candidate in used or candidate >= FIRST_RESERVED_ADDRESS:
            candidate = (candidate * 31 + 7) & 0xFFF7
        return candidate

    def _associate_response(self, eui64: int, nwk: int, status: AssociationStatus) -> None:
        s = self.state
        self.stack.transmit_mac(
            FrameType.COMMAND,
            AssociationResponse(nwk, status).build(),
            dst_pan=s.pan_id,
            dst=eui64,
            src=s.eui64,
            ack_request=True,
        )

    # -- the tables --------------------------------------------------------------------------

    def learn(self, eui64: int, nwk: int, radio: Receive) -> None:
        """A node's addresses and link quality, from a NWK frame it sent."""
        if eui64 in self.state.children:
            entry = self.state.children[eui64]
            entry.nwk, entry.lqi, entry.rssi = nwk, radio.lqi, radio.rssi
            return
        self.state.neighbours[eui64] = Neighbour(
            eui64, nwk, NetworkRole.ROUTER, radio.lqi, radio.rssi
        )

    def child_left(self, eui64: int) -> bool:
        """Drop a child that left; False if it was not ours."""
        if eui64 not in self.state.children:
            return False
        del self.state.children[eui64]
        self.state.neighbours.pop(eui64, None)
        return True

"""Leaving the network: the NWK Leave command both ways (ZigBee spec 3.4.4, 3.6.1.10).

A node leaves (NLME-LEAVE.request: asked by a NWK Leave request or a ZDO Mgmt_Leave_req) by
announcing it with a NWK Leave indication and forgetting the network. A parent that hears a
child's Leave indication drops the child, and the trust centre tells its host. A Leave request
that reaches a node still joining is the trust centre's refusal.
"""

from __future__ import annotations

import bellows.types as t

from protocol.errors import DecodeError
from protocol.zigbee_nwk import (
    Leave,
    LeaveOptions,
    NwkCommandId,
    NwkFrame,
    NwkFrameType,
    parse_nwk_command,
)

from .join_parent import JoinParent
from .joiner import Joiner
from .stack_services import StackServices
from .state import NetworkRole
from .trust_centre import TrustCentre

#: Where a Leave indication goes: every rx-on-when-idle node in range (radius 1).
ALL_RX_ON = 0xFFFD


class Leaving:
    def __init__(
        self, stack: StackServices, joiner: Joiner, parent: JoinParent, trust_centre: TrustCentre
    ) -> None:
        self.stack = stack
        self.state = stack.state
        self._joiner = joiner
        self._parent = parent
        self._trust_centre = trust_centre

    def nwk_command(self, nwk: NwkFrame, payload: bytes) -> None:
        """A NWK command for us (or broadcast); only Leave is acted on."""
        try:
            command = parse_nwk_command(payload)
        except DecodeError:
            return
        if payload[0] != NwkCommandId.LEAVE or not isinstance(command, Leave):
            return
        if nwk.dst != self.state.node_id:
            if not command.options & LeaveOptions.REQUEST:
                self._child_left(nwk)
            return
        if self._joiner.active:
            self._joiner.refused()
        elif self.state.joined and command.options & LeaveOptions.REQUEST:
            self.leave()

    def leave(self) -> None:
        """Leave the network as NLME-LEAVE.request does (ZigBee spec 3.6.1.10.1): announce it
        with a NWK Leave indication, then forget the network. The tokens are written when the
        host hears NETWORK_DOWN, so a restart does not bring the node back (clause 17.2.6)."""
        if not self.state.joined:
            return
        indication = Leave(LeaveOptions.NONE).build()
        frame = self.stack.nwk_frame(
            ALL_RX_ON, indication, frame_type=NwkFrameType.COMMAND, radius=1
        )
        self.stack.transmit_mac_data(0xFFFF, frame)
        self.stack.drop_membership()
        self.stack.emit("stackStatusHandler", {"status": t.sl_Status.NETWORK_DOWN})

    def _child_left(self, nwk: NwkFrame) -> None:
        """A node's Leave indication: its parent drops it, and the trust centre tells its host
        (trustCenterJoinHandler DEVICE_LEFT, as EmberZNet does)."""
        eui64 = nwk.src64 or self.state.eui64_of(nwk.src)
        if eui64 is None or not self._parent.child_left(eui64):
            return
        if self.state.role == NetworkRole.COORDINATOR:
            self._trust_centre.device_left(nwk.src, eui64)

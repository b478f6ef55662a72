"""A router relaying joins to the trust centre: APS Update-Device and Remove-Device (ZigBee spec
4.6.3.2, 4.4.10).

A device out of the trust centre's range associates with a router (the ESME, clause 6.1.8). The
router gives it an address and tells the trust centre with an Update-Device ("standard security
unsecured join"). The trust centre (`trust_centre.py`) decides as for its own children: with a
link key for that EUI-64 it sends the APS Transport-Key, encrypted under the joiner's
key-transport key, to the joiner through the router, which forwards it unsecured at NWK to its
child (`nwk_routing.py`, while the child is in `unauthenticated`); without one it asks the router
to drop the child with a Remove-Device.

The Update-Device and Remove-Device commands travel NWK-secured; a real stack would also
APS-secure them with the router's trust-centre link key.
"""

from __future__ import annotations

from protocol.zigbee_aps import UpdateDevice, UpdateDeviceStatus
from protocol.zigbee_nwk import Leave, LeaveOptions, NwkFrameType

from .nwk_routing import NwkRouting
from .stack_services import StackServices, send_aps_command

TRUST_CENTRE = 0x0000


class JoinRelay:
    """The router's side of a join through it."""

    def __init__(self, stack: StackServices, routing: NwkRouting) -> None:
        self.stack = stack
        self.state = stack.state
        self._routing = routing

    def child_associated(self, eui64: int, nwk: int) -> None:
        """A device associated with us; ask the trust centre about it."""
        self._routing.unauthenticated.add(nwk)
        update = UpdateDevice(eui64, nwk, UpdateDeviceStatus.UNSECURED_JOIN)
        send_aps_command(self.stack, TRUST_CENTRE, update.build())

    def remove_child(self, eui64: int) -> None:
        """The trust centre's Remove-Device: the child it refused is told to leave."""
        child = self.state.children.pop(eui64, None)
        if child is None:
            return
        self._routing.unauthenticated.discard(child.nwk)
        # The child has no network key: the request to leave goes unsecured, one hop.
        leave = Leave(LeaveOptions.REQUEST).build()
        frame = self.stack.nwk_frame(
            child.nwk, leave, frame_type=NwkFrameType.COMMAND, radius=1, secure=False
        )
        self.stack.transmit_mac_data(child.nwk, frame)

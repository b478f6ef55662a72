"""Joining through a router: APS Update-Device and Remove-Device (ZigBee spec 4.6.3.2, 4.4.10).

A device out of the trust centre's range associates with a router (the ESME, clause 6.1.8). The
router gives it an address and tells the trust centre with an Update-Device ("standard security
unsecured join"). The trust centre decides as for its own children: with a link key for that
EUI-64 it sends the APS Transport-Key, encrypted under the joiner's key-transport key, to the
joiner through the router (`nwk_routing.py` forwards it); without one it asks the router to drop
the child (Remove-Device) and tells its host DENY_JOIN, so the failed attempt is recorded.

The Update-Device and Remove-Device commands travel NWK-secured; a real stack would also
APS-secure them with the router's trust-centre link key.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import bellows.types as t

from protocol.errors import DecodeError
from protocol.zigbee_aps import (
    ApsFrame,
    ApsFrameType,
    RemoveDevice,
    UpdateDevice,
    UpdateDeviceStatus,
    parse_aps_command,
)
from protocol.zigbee_nwk import Leave, LeaveOptions, NwkFrame, NwkFrameType

from .state import NetworkRole

if TYPE_CHECKING:
    from .joining import Joining

LOGGER = logging.getLogger(__name__)


class RouterJoin:
    def __init__(self, joining: Joining) -> None:
        self.joining = joining
        self.stack = joining.stack
        self.state = joining.state

    def child_associated(self, eui64: int, nwk: int) -> None:
        """Router: a device associated with us; ask the trust centre about it."""
        self.stack.routing.unauthenticated.add(nwk)
        update = UpdateDevice(eui64, nwk, UpdateDeviceStatus.UNSECURED_JOIN)
        self._send_command(0x0000, update.build())

    def command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        """An APS command without APS security, from a joined node."""
        s = self.state
        if not s.joined or aps.security or not nwk.security:
            return
        try:
            command = parse_aps_command(bytes(aps.payload))
        except DecodeError as exc:
            LOGGER.info("dropped APS command from 0x%04x: %s", nwk.src, exc)
            return
        if isinstance(command, UpdateDevice) and s.role == NetworkRole.COORDINATOR:
            if command.status == UpdateDeviceStatus.UNSECURED_JOIN:
                self._joined_via(nwk.src, command)
        elif (
            isinstance(command, RemoveDevice) and s.role == NetworkRole.ROUTER and nwk.src == 0x0000
        ):
            self._remove_child(command.target64)

    # -- trust centre ------------------------------------------------------------------

    def _joined_via(self, router: int, update: UpdateDevice) -> None:
        eui64, nwk = update.device64, update.device16
        self.stack.routing.add_route(nwk, router)
        status = t.EmberDeviceUpdate.STANDARD_SECURITY_UNSECURED_JOIN
        link_key = self.joining._link_key_for(eui64)
        if link_key is None:
            LOGGER.warning("trust centre refuses %016x behind 0x%04x: no key for it", eui64, router)
            self._send_command(router, RemoveDevice(eui64).build())
            self.joining._tc_join(nwk, eui64, status, t.EmberJoinDecision.DENY_JOIN, router)
            return
        # A (re)joining device may have been reset and start its counters again.
        self.state.incoming_nwk_counters.pop(eui64, None)
        self.joining._send_network_key(nwk, eui64, link_key, via_router=True)
        decision = t.EmberJoinDecision.USE_PRECONFIGURED_KEY
        self.joining._tc_join(nwk, eui64, status, decision, router)

    # -- router ------------------------------------------------------------------------

    def _remove_child(self, eui64: int) -> None:
        child = self.state.children.pop(eui64, None)
        if child is None:
            return
        self.stack.routing.unauthenticated.discard(child.nwk)
        # The child has no network key: the request to leave goes unsecured, one hop.
        leave = Leave(LeaveOptions.REQUEST).build()
        frame = self.stack.nwk_frame(
            child.nwk, leave, frame_type=NwkFrameType.COMMAND, radius=1, secure=False
        )
        self.stack.transmit_mac_data(child.nwk, frame)

    def _send_command(self, destination: int, payload: bytes) -> None:
        aps = ApsFrame(
            frame_type=ApsFrameType.COMMAND,
            counter=self.stack._next_aps_counter(),
            payload=payload,
        )
        self.stack.send_aps(destination, aps)

"""The trust centre (our coordinator): who may join, network-key transport, removal (ZigBee spec
4.6.3.2, 4.4.5, 4.4.10; clauses 17.2.1, 17.2.6).

A device is let in only if its EUI-64 has a link key: a transient key the host gave with
importTransientKey (the install-code key, DESIGN.md §3) or a key-table entry. It then gets the
network key in an APS Transport-Key secured with its key-transport key, sent to it directly when
it is our own child, or through its router when the router reported its join with an APS
Update-Device. Any other device is refused — told to leave (our child) or removed by its router
(Remove-Device) — and the host hears `trustCenterJoinHandler` with DENY_JOIN, so it can record the
failed attempt. The host also hears every admission, and DEVICE_LEFT when a child leaves.
"""

from __future__ import annotations

import logging

import bellows.types as t

from protocol import zigbee_security as sec
from protocol.zigbee_aps import (
    ApsFrame,
    ApsFrameType,
    RemoveDevice,
    TransportNetworkKey,
    UpdateDevice,
)
from protocol.zigbee_nwk import Leave, LeaveOptions, NwkFrameType

from .nwk_routing import NwkRouting
from .stack_services import StackServices, send_aps_command
from .state import LinkKeyEntry, NetworkRole

LOGGER = logging.getLogger(__name__)
UNSECURED_JOIN = t.EmberDeviceUpdate.STANDARD_SECURITY_UNSECURED_JOIN


class TrustCentre:
    def __init__(self, stack: StackServices, routing: NwkRouting) -> None:
        self.stack = stack
        self.state = stack.state
        self._routing = routing

    # -- admission ---------------------------------------------------------------------------

    def admit_child(self, nwk: int, eui64: int) -> bool:
        """A device just associated with us: send it the network key (True), or tell it to
        leave and the host DENY_JOIN (False). The parent reports the admission itself, once
        it has the child in its table (`report_join`)."""
        link_key = self._link_key_for(eui64)
        if link_key is None:
            LOGGER.warning("trust centre refuses %016x: no install-code key for it", eui64)
            # It has no network key yet: the request to leave goes unsecured, one hop.
            leave = Leave(LeaveOptions.REQUEST).build()
            frame = self.stack.nwk_frame(
                nwk, leave, frame_type=NwkFrameType.COMMAND, radius=1, secure=False
            )
            self.stack.transmit_mac_data(nwk, frame)
            self.report_join(nwk, eui64, t.EmberJoinDecision.DENY_JOIN)
            return False
        # A (re)joining device may have been reset and start its counters again: forget its
        # last NWK and APS counters, as EmberZNet does when the trust centre admits a device.
        # A node that did not re-join keeps its counters: replays of it are still refused.
        self.stack.forget_peer_counters(eui64)
        self._send_network_key(nwk, eui64, link_key)
        return True

    def update_device(self, router: int, update: UpdateDevice) -> None:
        """A router's Update-Device for a device that associated with it (4.6.3.2)."""
        eui64, nwk = update.device64, update.device16
        self._routing.add_route(nwk, router)
        link_key = self._link_key_for(eui64)
        if link_key is None:
            LOGGER.warning("trust centre refuses %016x behind 0x%04x: no key for it", eui64, router)
            send_aps_command(self.stack, router, RemoveDevice(eui64).build())
            self.report_join(nwk, eui64, t.EmberJoinDecision.DENY_JOIN, router)
            return
        # A (re)joining device may have been reset and start its counters again.
        self.stack.forget_peer_counters(eui64)
        self._send_network_key(nwk, eui64, link_key, via_router=True)
        self.report_join(nwk, eui64, t.EmberJoinDecision.USE_PRECONFIGURED_KEY, router)

    def report_join(
        self,
        nwk: int,
        eui64: int,
        decision: t.EmberJoinDecision,
        parent: int | None = None,
        update: t.EmberDeviceUpdate = UNSECURED_JOIN,
    ) -> None:
        """Tell the host (`trustCenterJoinHandler`) what became of a device."""
        self.stack.emit(
            "trustCenterJoinHandler",
            {
                "newNodeId": nwk,
                "newNodeEui64": t.EUI64(eui64.to_bytes(8, "little")),
                "status": update,
                "policyDecision": decision,
                "parentOfNewNodeId": self.state.node_id if parent is None else parent,
            },
        )

    def device_left(self, nwk: int, eui64: int) -> None:
        """A child's Leave indication: the host hears DEVICE_LEFT, as from EmberZNet."""
        # There is no policy decision to report with a departure.
        self.report_join(
            nwk, eui64, t.EmberJoinDecision.NO_ACTION, update=t.EmberDeviceUpdate.DEVICE_LEFT
        )

    def _link_key_for(self, eui64: int) -> bytes | None:
        entry = self.state.transient_keys.get(eui64)
        if entry is None:
            entry = next((e for e in self.state.key_table if e.eui64 == eui64), None)
        elif all(e.eui64 != eui64 for e in self.state.key_table):
            self.state.key_table.append(LinkKeyEntry(eui64, entry.key))
        return entry.key if entry else None

    def _send_network_key(
        self, nwk: int, eui64: int, link_key: bytes, *, via_router: bool = False
    ) -> None:
        s = self.state
        assert s.network_key is not None
        command = TransportNetworkKey(
            key=s.network_key, key_seq=s.network_key_seq, dst64=eui64, src64=s.eui64
        )
        header = ApsFrame(
            frame_type=ApsFrameType.COMMAND, counter=self.stack.next_aps_counter(), security=True
        )
        counter = self.stack.next_frame_counter("aps")
        aps = sec.secure_aps_frame(
            header.header_bytes(),
            command.build(),
            link_key,
            counter,
            s.eui64,
            sec.KeyId.KEY_TRANSPORT,
        )
        # The joiner has no network key yet: this one NWK frame goes unsecured (ZigBee spec
        # 4.6.3.2), or NWK-secured to the joiner's router, which forwards it unsecured.
        frame = self.stack.nwk_frame(
            nwk,
            aps,
            frame_type=NwkFrameType.DATA,
            radius=30 if via_router else 1,
            secure=via_router,
        )
        self.stack.transmit_mac_data(nwk, frame)

    # -- removal -----------------------------------------------------------------------------

    def remove_device(self, dest_short: int, dest_long: int, target_long: int) -> t.sl_Status:
        """EZSP removeDevice on the trust centre (ZigBee spec 4.4.5, clause 17.2.6).

        The target is asked to leave, with no rejoin, by a NWK Leave request — what EmberZNet
        sends when the destination is the target itself (bellows' force_remove always asks that);
        the request is routed like any unicast, so a target behind a router gets it too (an APS
        Remove-Device to a named parent is not sent). Then the trust centre forgets the device and
        erases its link key and its transient key, so the old install-code key cannot bring it
        back in: it has to be commissioned again (the host gives a key once more).
        """
        s = self.state
        if not s.joined or s.role != NetworkRole.COORDINATOR:
            return t.sl_Status.INVALID_STATE
        if dest_long != target_long:
            LOGGER.warning("removeDevice through a parent router is not supported")
            return t.sl_Status.NOT_SUPPORTED
        nwk = s.nwk_of(target_long)
        nwk = dest_short if nwk is None else nwk
        if nwk < 0xFFF8:
            leave = Leave(LeaveOptions.REQUEST).build()
            frame = self.stack.nwk_frame(nwk, leave, frame_type=NwkFrameType.COMMAND)
            self.stack.transmit_mac_data(nwk, frame)
        s.children.pop(target_long, None)
        s.neighbours.pop(target_long, None)
        s.transient_keys.pop(target_long, None)
        s.key_table[:] = [e for e in s.key_table if e.eui64 != target_long]
        # Its last NWK frame counter stays: old frames of the removed device remain replays.
        return t.sl_Status.OK

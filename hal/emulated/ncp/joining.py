"""Joining a ZigBee network, from both sides: the joiner and the parent / trust centre.

Joiner (router or end device): active scan (MAC Beacon Request, collect beacons), MAC Association
Request to the best parent that permits joining, then wait for the trust centre's APS
Transport-Key carrying the network key, APS-secured with the key-transport key derived from the
preconfigured link key (the install-code key, DESIGN.md §3). A wrong install code means the key
cannot be decrypted and the join fails; so does a refusal by the trust centre (NWK Leave).

Parent / trust centre (our coordinator; a router parent relays to it, `router_join.py`): answers
beacon requests, admits by association, then sends the network key only to a device whose EUI-64
has a link key (a transient key given by the host with importTransientKey, or a key-table
entry). Any other device is told to leave, and the
host hears `trustCenterJoinHandler` with `DENY_JOIN` so it can record the failed attempt.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import bellows.types as t

from protocol import zigbee_security as sec
from protocol.air_link import Receive
from protocol.errors import DecodeError
from protocol.ieee802154 import (
    AssociationRequest,
    AssociationResponse,
    AssociationStatus,
    BeaconPayload,
    BeaconRequest,
    Capability,
    FrameType,
    MacFrame,
    parse_mac_command,
)
from protocol.zigbee_aps import ApsFrame, ApsFrameType, TransportNetworkKey, parse_aps_command
from protocol.zigbee_nwk import (
    Leave,
    LeaveOptions,
    NwkCommandId,
    NwkFrame,
    NwkFrameType,
    parse_nwk_command,
)

from .router_join import RouterJoin
from .state import LinkKeyEntry, Neighbour, NetworkRole

if TYPE_CHECKING:
    from .zigbee_stack import ZigbeeStack

LOGGER = logging.getLogger(__name__)
SCAN_TIME_S = 0.3
#: The policy decision reported with DEVICE_LEFT: there is nothing to decide.
_NO_ACTION = t.EmberJoinDecision.NO_ACTION
JOIN_TIMEOUT_S = 6.0


class Joining:
    def __init__(self, stack: ZigbeeStack) -> None:
        self.stack = stack
        self.state = stack.state
        self.active = False
        self._role = NetworkRole.ROUTER
        self._wanted_epid = 0
        self._beacons: list[tuple[int, int, BeaconPayload, int]] = []  # pan, parent, beacon, lqi
        self._timers: list[asyncio.TimerHandle] = []
        self.via_router = RouterJoin(self)

    # -- joiner ------------------------------------------------------------------------

    def start(self, role: NetworkRole, params: t.EmberNetworkParameters) -> t.sl_Status:
        if self.state.joined or self.active:
            return t.sl_Status.INVALID_STATE
        if role == NetworkRole.COORDINATOR:
            return t.sl_Status.INVALID_PARAMETER
        self.active = True
        self._role = role
        self._wanted_epid = int.from_bytes(bytes(params.extendedPanId.serialize()), "little")
        self._beacons.clear()
        self.state.channel = int(params.radioChannel)
        self.state.network_status = t.EmberNetworkStatus.JOINING_NETWORK
        self.stack.transmit_mac(
            FrameType.COMMAND, BeaconRequest().build(), dst_pan=0xFFFF, dst=0xFFFF, src=None
        )
        loop = asyncio.get_running_loop()
        self._timers = [
            loop.call_later(SCAN_TIME_S, self._associate),
            loop.call_later(JOIN_TIMEOUT_S, self._fail, "no network key from the trust centre"),
        ]
        return t.sl_Status.OK

    def _associate(self) -> None:
        candidates = [
            b
            for b in self._beacons
            if b[2].association_permit and (self._wanted_epid in (0, b[2].extended_pan_id))
        ]
        if not candidates:
            self._fail("no joinable network found")
            return
        pan, parent, beacon, _lqi = max(candidates, key=lambda b: b[3])
        self.state.pan_id = pan
        self.state.extended_pan_id = beacon.extended_pan_id
        self.state.parent_id = parent
        capability = Capability.ALLOCATE_ADDRESS
        if self._role == NetworkRole.ROUTER:
            capability |= (
                Capability.FULL_FUNCTION_DEVICE
                | Capability.MAINS_POWERED
                | Capability.RX_ON_WHEN_IDLE
            )
        elif self._role == NetworkRole.END_DEVICE:
            capability |= Capability.RX_ON_WHEN_IDLE
        self.stack.transmit_mac(
            FrameType.COMMAND,
            AssociationRequest(capability).build(),
            dst_pan=pan,
            dst=parent,
            src=self.state.eui64,
            src_pan=0xFFFF,
            ack_request=True,
        )

    def _fail(self, reason: str) -> None:
        if not self.active:
            return
        LOGGER.warning("join failed: %s", reason)
        self._finish()
        self.stack.drop_membership()
        self.stack.emit("stackStatusHandler", {"status": t.sl_Status.NOT_JOINED})

    def _finish(self) -> None:
        self.active = False
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _key_received(self, key: TransportNetworkKey, tc_eui64: int) -> None:
        s = self.state
        s.network_key, s.network_key_seq = key.key, key.key_seq
        # A new network key starts a new frame-counter space for every sender (4.3.1.2).
        s.incoming_nwk_counters.clear()
        s.trust_center_eui64 = tc_eui64
        s.role = self._role
        s.network_status = t.EmberNetworkStatus.JOINED_NETWORK
        self._finish()
        self.stack.emit("stackStatusHandler", {"status": t.sl_Status.NETWORK_UP})
        self.stack.zdo.announce()

    # -- parent and trust centre -----------------------------------------------------------

    def _permitting(self) -> bool:
        return asyncio.get_running_loop().time() < self.state.permit_join_until

    def mac_frame(self, mac: MacFrame, radio: Receive) -> None:
        try:
            if mac.frame_type == FrameType.BEACON:
                if self.active and mac.src_addr is not None:
                    self._beacons.append(
                        (
                            mac.source_pan or 0,
                            mac.src_addr,
                            BeaconPayload.parse(mac.payload),
                            radio.lqi,
                        )
                    )
                return
            command = parse_mac_command(mac.payload)
        except DecodeError as exc:
            LOGGER.info("dropped MAC frame: %s", exc)
            return
        s = self.state
        if (
            isinstance(command, BeaconRequest)
            and s.joined
            and s.role in (NetworkRole.COORDINATOR, NetworkRole.ROUTER)
        ):
            # A router offers association too, and relays the join to the trust centre with
            # an APS Update-Device (ZigBee spec 4.6.3.2; `router_join.py`).
            beacon = BeaconPayload(
                extended_pan_id=s.extended_pan_id,
                association_permit=self._permitting(),
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
        elif (
            isinstance(command, AssociationRequest)
            and s.joined
            and mac.dst_addr == s.node_id
            and mac.src_addr
        ):
            self._admit(mac.src_addr, command.capability, radio)
        elif isinstance(command, AssociationResponse) and self.active and mac.dst_addr == s.eui64:
            if command.status != AssociationStatus.SUCCESS:
                self._fail(f"association refused: {command.status.name}")
                return
            s.node_id = command.short_addr

    def _admit(self, eui64: int, capability: Capability, radio: Receive) -> None:
        s = self.state
        if not self._permitting():
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
        self.stack.routing.add_route(nwk, nwk)
        if s.role == NetworkRole.ROUTER:
            s.children[eui64] = Neighbour(eui64, nwk, role, radio.lqi, radio.rssi)
            self.via_router.child_associated(eui64, nwk)
            return
        link_key = self._link_key_for(eui64)
        update = t.EmberDeviceUpdate.STANDARD_SECURITY_UNSECURED_JOIN
        if link_key is None:
            LOGGER.warning("trust centre refuses %016x: no install-code key for it", eui64)
            leave = Leave(LeaveOptions.REQUEST).build()
            frame = self.stack.nwk_frame(
                nwk, leave, frame_type=NwkFrameType.COMMAND, radius=1, secure=False
            )
            self.stack.transmit_mac_data(nwk, frame)
            self._tc_join(nwk, eui64, update, t.EmberJoinDecision.DENY_JOIN)
            return
        s.children[eui64] = Neighbour(eui64, nwk, role, radio.lqi, radio.rssi)
        # A (re)joining device may have been reset and start its counters again: forget its
        # last counter, as EmberZNet does when the trust centre admits a device.
        s.incoming_nwk_counters.pop(eui64, None)
        self._send_network_key(nwk, eui64, link_key)
        self.stack.emit(
            "childJoinHandler",
            {
                "index": list(s.children).index(eui64),
                "joining": True,
                "childId": nwk,
                "childEui64": _eui(eui64),
                "childType": t.EmberNodeType(int(role)),
            },
        )
        self._tc_join(nwk, eui64, update, t.EmberJoinDecision.USE_PRECONFIGURED_KEY)

    def _tc_join(
        self,
        nwk: int,
        eui64: int,
        update: t.EmberDeviceUpdate,
        decision: t.EmberJoinDecision,
        parent: int | None = None,
    ) -> None:
        self.stack.emit(
            "trustCenterJoinHandler",
            {
                "newNodeId": nwk,
                "newNodeEui64": _eui(eui64),
                "status": update,
                "policyDecision": decision,
                "parentOfNewNodeId": self.state.node_id if parent is None else parent,
            },
        )

    def _link_key_for(self, eui64: int) -> bytes | None:
        entry = self.state.transient_keys.get(eui64)
        if entry is None:
            entry = next((e for e in self.state.key_table if e.eui64 == eui64), None)
        elif all(e.eui64 != eui64 for e in self.state.key_table):
            self.state.key_table.append(LinkKeyEntry(eui64, entry.key))
        return entry.key if entry else None

    def _allocate_address(self, eui64: int) -> int:
        used = {n.nwk for n in self.state.children.values()} | {self.state.node_id}
        candidate = (eui64 ^ (eui64 >> 16) ^ (eui64 >> 32) ^ (eui64 >> 48)) & 0xFFF7 or 1
        while candidate in used or candidate >= 0xFFF8:
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

    def _send_network_key(
        self, nwk: int, eui64: int, link_key: bytes, *, via_router: bool = False
    ) -> None:
        s = self.state
        assert s.network_key is not None
        command = TransportNetworkKey(
            key=s.network_key, key_seq=s.network_key_seq, dst64=eui64, src64=s.eui64
        )
        header = ApsFrame(
            frame_type=ApsFrameType.COMMAND, counter=self.stack._next_aps_counter(), security=True
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

    # -- frames the stack hands over -------------------------------------------------------

    def aps_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        if not self.active:
            self.via_router.command(nwk, aps)
            return
        try:
            payload = bytes(aps.payload)
            if aps.security:
                _aux, payload = sec.unsecure_aps_frame(
                    aps.header_bytes(), payload, self.state.preconfigured_key
                )
            command = parse_aps_command(payload)
        except sec.AuthenticationError:
            self.stack.count(t.EmberCounterType.COUNTER_APS_DECRYPTION_FAILURE)
            self._fail("the network key could not be decrypted: wrong install code?")
            return
        except DecodeError as exc:
            LOGGER.info("dropped APS command: %s", exc)
            return
        if isinstance(command, TransportNetworkKey) and command.dst64 == self.state.eui64:
            self._key_received(command, command.src64)

    def nwk_command(self, nwk: NwkFrame, payload: bytes) -> None:
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
        if self.active:
            self._fail("the trust centre refused the join")
        elif self.state.joined and command.options & LeaveOptions.REQUEST:
            self.leave()

    def leave(self) -> None:
        """Leave the network as NLME-LEAVE.request does (ZigBee spec 3.6.1.10.1): announce it
        with a NWK Leave indication, then forget the network. The tokens are written when the
        host hears NETWORK_DOWN, so a restart does not bring the node back (clause 17.2.6)."""
        if not self.state.joined:
            return
        indication = Leave(LeaveOptions.NONE).build()
        frame = self.stack.nwk_frame(0xFFFD, indication, frame_type=NwkFrameType.COMMAND, radius=1)
        self.stack.transmit_mac_data(0xFFFF, frame)
        self.stack.drop_membership()
        self.stack.emit("stackStatusHandler", {"status": t.sl_Status.NETWORK_DOWN})

    def _child_left(self, nwk: NwkFrame) -> None:
        """A node's Leave indication: its parent drops it, and the trust centre tells its host
        (trustCenterJoinHandler DEVICE_LEFT, as EmberZNet does)."""
        eui64 = nwk.src64 or self.state.eui64_of(nwk.src)
        if eui64 is None or eui64 not in self.state.children:
            return
        del self.state.children[eui64]
        self.state.neighbours.pop(eui64, None)
        if self.state.role == NetworkRole.COORDINATOR:
            self._tc_join(nwk.src, eui64, t.EmberDeviceUpdate.DEVICE_LEFT, _NO_ACTION)

    def remove_device(self, dest_short: int, dest_long: int, target_long: int) -> t.sl_Status:
        """EZSP removeDevice on the trust centre (ZigBee spec 4.4.5, clause 17.2.6).

        The target is asked to leave, with no rejoin, by a NWK Leave request — what EmberZNet
        sends when the destination is the target itself (bellows' force_remove always asks that);
        the request is routed like any unicast, so a target behind a router gets it too (an APS
        Remove-Device to a named parent is not sent). Then the trust centre forgets the device and erases its link
        key and its transient key, so the old install-code key cannot bring it back in: it has
        to be commissioned again (the host gives a key once more).
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

    def learn(self, eui64: int, nwk: int, radio: Receive) -> None:
        if eui64 in self.state.children:
            entry = self.state.children[eui64]
            entry.nwk, entry.lqi, entry.rssi = nwk, radio.lqi, radio.rssi
            return
        self.state.neighbours[eui64] = Neighbour(
            eui64, nwk, NetworkRole.ROUTER, radio.lqi, radio.rssi
        )


def _eui(value: int) -> t.EUI64:
    return t.EUI64(value.to_bytes(8, "little"))

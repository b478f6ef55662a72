"""The joiner: a router or end device joining a ZigBee network (ZigBee spec 3.6.1.4, 4.6.3.2).

States, in order: scanning (a MAC Beacon Request, beacons collected for `SCAN_TIME_S`),
associating (a MAC Association Request to the best parent that permits joining), waiting for the
network key (the trust centre's APS Transport-Key, APS-secured with the key-transport key derived
from the preconfigured link key: the install-code key, DESIGN.md §3), then joined. It fails, and
the host hears NOT_JOINED, when no network permits joining, the parent refuses the association,
the key cannot be decrypted (a wrong install code), the trust centre refuses the join (NWK
Leave), or no key has come `JOIN_TIMEOUT_S` after the start. Both timeouts run on the stack's
timer.

The other side of the exchange is `join_parent.py` and `trust_centre.py`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

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
)
from protocol.zigbee_aps import ApsFrame, TransportNetworkKey, parse_aps_command

from .stack_services import StackServices
from .state import NetworkRole
from .timer import TimerHandle

LOGGER = logging.getLogger(__name__)
#: How long the joiner listens for beacons after its Beacon Request.
SCAN_TIME_S = 0.3
#: From the start of a join to giving up on the network key.
JOIN_TIMEOUT_S = 6.0


class Joiner:
    """The joining state machine of one node; `active` from `start` until joined or failed."""

    def __init__(self, stack: StackServices, announce: Callable[[], None]) -> None:
        self.stack = stack
        self.state = stack.state
        self._announce = announce
        self.active = False
        self._role = NetworkRole.ROUTER
        self._wanted_epid = 0
        self._beacons: list[tuple[int, int, BeaconPayload, int]] = []  # pan, parent, beacon, lqi
        self._timers: list[TimerHandle] = []

    def start(self, role: NetworkRole, params: t.EmberNetworkParameters) -> t.sl_Status:
        """EZSP joinNetwork: scan for the network `params` name and join it as `role`."""
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
        timer = self.stack.timer
        self._timers = [
            timer.call_later(SCAN_TIME_S, self._associate),
            timer.call_later(JOIN_TIMEOUT_S, self._fail, "no network key from the trust centre"),
        ]
        return t.sl_Status.OK

    # -- scanning and association ------------------------------------------------------------

    def beacon(self, mac: MacFrame, radio: Receive) -> None:
        """A beacon heard while scanning."""
        if not self.active or mac.src_addr is None:
            return
        try:
            payload = BeaconPayload.parse(mac.payload)
        except DecodeError as exc:
            LOGGER.info("dropped MAC frame: %s", exc)
            return
        self._beacons.append((mac.source_pan or 0, mac.src_addr, payload, radio.lqi))

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

    def association_response(self, mac: MacFrame, command: AssociationResponse) -> None:
        """The parent's answer: our short address, or a refusal."""
        if not self.active or mac.dst_addr != self.state.eui64:
            return
        if command.status != AssociationStatus.SUCCESS:
            self._fail(f"association refused: {command.status.name}")
            return
        self.state.node_id = command.short_addr

    # -- the network key ---------------------------------------------------------------------

    def aps_command(self, aps: ApsFrame) -> None:
        """An APS command while joining: the trust centre's Transport-Key, we hope."""
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
        self._announce()

    # -- the end of a join -------------------------------------------------------------------

    def refused(self) -> None:
        """A NWK Leave request while joining: the trust centre will not have us."""
        self._fail("the trust centre refused the join")

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

"""APS security with link keys in the emulated NCP (ZigBee spec 4.4.1, 4.4.10; clauses 17.2.1,
17.2.3, 17.2.12).

What EmberZNet does for its host, plus our firmware's Smart Energy policy
(`protocol.se_aps_policy`):

- A unicast is APS-secured with the link key shared with its destination when the host sets
  APS_OPTION_ENCRYPTION, or when the policy says its cluster must be (SE 1.x 5.4.6). Between a
  device and the trust centre that key is the install-code link key (`key_table` on the trust
  centre, `preconfigured_key` on the device). Between two devices (the IHD reading the ESME) it
  is an application link key: the sender asks the trust centre with an APS-secured Request-Key,
  and the trust centre sends a fresh random key to both partners in Transport-Key commands
  secured with each one's key-transport key (4.4.10.1, 4.6.3.4). Frames wait for it briefly.
- Incoming APS-secured data frames are decrypted and handed to the host with
  APS_OPTION_ENCRYPTION set, so the application can insist on it. What fails goes, counted:
  a bad MIC or an unknown key (COUNTER_APS_DECRYPTION_FAILURE), an APS frame counter going
  backwards (COUNTER_APS_FRAME_COUNTER_FAILURE), and an unencrypted unicast of a cluster the
  policy covers (COUNTER_APS_LINK_KEY_NOT_AUTHORIZED; clause 17.2.3: meter data only over an
  encrypted channel).

APS acknowledgements go unsecured: they carry no data, and the NWK layer protects them.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable

import bellows.types as t

from protocol import zigbee_security as sec
from protocol.errors import DecodeError
from protocol.se_aps_policy import needs_aps_encryption
from protocol.zdo import IeeeAddrReq
from protocol.zigbee_aps import (
    ApsFrame,
    ApsFrameType,
    DeliveryMode,
    RequestKey,
    RequestKeyType,
    TransportAppLinkKey,
    parse_aps_command,
)
from protocol.zigbee_nwk import NwkFrame

from .stack_services import StackServices
from .state import LinkKeyEntry, NetworkRole

LOGGER = logging.getLogger(__name__)
C = t.EmberCounterType
#: How long frames for a partner wait for the application link key the trust centre sends.
KEY_REQUEST_TIMEOUT_S = 3.0
DISCOVERY_POLL_S = 0.02
Transmit = Callable[[ApsFrame], None]
Fail = Callable[[], None]
#: The next ZDO transaction sequence number (the ZDO server's, so ours never repeat its own).
NextZdoTsn = Callable[[], int]


@dataclasses.dataclass
class _Waiting:
    """Frames for one partner, waiting for our application link key with it."""

    frames: list[tuple[ApsFrame, Transmit, Fail]] = dataclasses.field(default_factory=list)


class ApsSecurity:
    def __init__(self, stack: StackServices, next_zdo_tsn: NextZdoTsn) -> None:
        self.stack = stack
        self._next_zdo_tsn = next_zdo_tsn
        #: Last APS frame counter accepted per sender EUI-64 (4.4.1.2 step 5).
        self._incoming: dict[int, int] = {}
        self._waiting: dict[int, _Waiting] = {}

    # -- keys --------------------------------------------------------------------------------

    @property
    def _is_trust_centre(self) -> bool:
        return self.stack.state.role == NetworkRole.COORDINATOR

    def peer_eui64(self, nwk: int) -> int | None:
        s = self.stack.state
        if nwk == 0x0000 and not self._is_trust_centre and s.trust_center_eui64:
            return s.trust_center_eui64
        return s.eui64_of(nwk)

    def key_for(self, eui64: int) -> bytes | None:
        """The link key shared with `eui64`: TC link key or application link key."""
        s = self.stack.state
        if not self._is_trust_centre and eui64 == s.trust_center_eui64:
            return s.preconfigured_key
        entry = next((e for e in s.key_table if e.eui64 == eui64), None)
        if entry is None and self._is_trust_centre:
            # bellows erases the key-table entry after an unsecured join (it expects hashed TC
            # link keys); the install-code key its host imported is still the TC link key.
            entry = s.transient_keys.get(eui64)
        return entry.key if entry else None

    # -- sending -----------------------------------------------------------------------------

    def wants(self, aps_frame: t.EmberApsFrame) -> bool:
        """APS-encrypt this unicast: the host asked, or our SE policy requires it."""
        asked = bool(aps_frame.options & t.EmberApsOption.APS_OPTION_ENCRYPTION)
        return asked or needs_aps_encryption(int(aps_frame.profileId), int(aps_frame.clusterId))

    def send(self, destination: int, aps: ApsFrame, transmit: Transmit, fail: Fail) -> None:
        """Secure `aps` for `destination` and `transmit` it; wait for an application link key
        from the trust centre if we have none; `fail` if no key can be had."""
        eui64 = self.peer_eui64(destination)
        if eui64 is None and not self._is_trust_centre:
            self._discover(destination, lambda: self.send(destination, aps, transmit, fail), fail)
            return
        key = self.key_for(eui64) if eui64 is not None else None
        if eui64 is not None and key is not None:
            transmit(self._secure_data(aps, key))
            return
        if eui64 is None or self._is_trust_centre or eui64 == self.stack.state.trust_center_eui64:
            LOGGER.warning("no link key for 0x%04x: APS-secured frame not sent", destination)
            self.stack.later(0, fail)
            return
        waiting = self._waiting.get(eui64)
        if waiting is None:
            waiting = self._waiting[eui64] = _Waiting()
            self._request_key(eui64)
            self.stack.later(KEY_REQUEST_TIMEOUT_S, self._give_up, eui64, waiting)
        waiting.frames.append((aps, transmit, fail))

    def _discover(self, destination: int, then: Fail, fail: Fail) -> None:
        """IEEE_addr_req to a partner we never heard from: the Request-Key names it by EUI-64,
        and its answer's NWK header (extended source, 4.3.1.1) teaches it to the stack."""
        request = IeeeAddrReq(self._next_zdo_tsn(), destination).build()
        self.stack.send_aps(
            destination,
            ApsFrame(
                frame_type=ApsFrameType.DATA,
                counter=self.stack.next_aps_counter(),
                dst_endpoint=0,
                cluster=IeeeAddrReq.CLUSTER_ID,
                profile=0x0000,
                src_endpoint=0,
                payload=request,
            ),
        )
        deadline = self.stack.timer.monotonic() + KEY_REQUEST_TIMEOUT_S

        def check() -> None:
            if self.peer_eui64(destination) is not None:
                then()
            elif self.stack.timer.monotonic() > deadline:
                LOGGER.warning(
                    "0x%04x did not tell its EUI-64: APS-secured frame not sent", destination
                )
                fail()
            else:
                self.stack.later(DISCOVERY_POLL_S, check)

        self.stack.later(DISCOVERY_POLL_S, check)

    def delivery_failed(self, destination: int) -> None:
        """Forget an application link key a partner did not ack under: it may have been
        recommissioned and lost it, and the next frame then asks the trust centre again."""
        eui64 = self.peer_eui64(destination)
        s = self.stack.state
        if self._is_trust_centre or eui64 is None or eui64 == s.trust_center_eui64:
            return  # install-code keys are never dropped
        s.key_table[:] = [e for e in s.key_table if e.eui64 != eui64]

    def _give_up(self, eui64: int, waiting: _Waiting) -> None:
        if self._waiting.get(eui64) is not waiting:
            return
        del self._waiting[eui64]
        LOGGER.warning("no application link key for %016x from the trust centre", eui64)
        for _aps, _transmit, fail in waiting.frames:
            fail()

    def _secure_data(self, aps: ApsFrame, key: bytes) -> ApsFrame:
        return self._sealed(dataclasses.replace(aps, security=True), key, sec.KeyId.DATA)

    def _sealed(self, aps: ApsFrame, key: bytes, key_id: sec.KeyId) -> ApsFrame:
        header = dataclasses.replace(aps, payload=b"").header_bytes()
        counter = self.stack.next_frame_counter("aps")
        sealed = sec.secure_aps_frame(
            header, bytes(aps.payload), key, counter, self.stack.state.eui64, key_id
        )
        return dataclasses.replace(aps, payload=sealed[len(header) :])

    def _send_command(self, nwk: int, command: bytes, key: bytes, key_id: sec.KeyId) -> None:
        header = ApsFrame(
            frame_type=ApsFrameType.COMMAND,
            counter=self.stack.next_aps_counter(),
            security=True,
            payload=command,
        )
        self.stack.send_aps(nwk, self._sealed(header, key, key_id))

    def _request_key(self, partner: int) -> None:
        """Request-Key for an application link key (4.4.10.5), secured with our TC link key."""
        command = RequestKey(RequestKeyType.APPLICATION_LINK_KEY, partner).build()
        self._send_command(0x0000, command, self.stack.state.preconfigured_key, sec.KeyId.DATA)

    # -- receiving ---------------------------------------------------------------------------

    def incoming(self, nwk: NwkFrame, aps: ApsFrame) -> ApsFrame | None:
        """A received data frame with its payload in clear, or None if it is dropped."""
        if nwk.src == self.stack.state.node_id:
            return aps  # looped back by our own host: it never went on the air
        if not aps.security:
            if (
                aps.delivery_mode == DeliveryMode.UNICAST
                and aps.profile is not None
                and aps.cluster is not None
                and needs_aps_encryption(aps.profile, aps.cluster)
            ):
                self.stack.count(C.COUNTER_APS_LINK_KEY_NOT_AUTHORIZED)
                LOGGER.info(
                    "dropped unencrypted cluster 0x%04x frame from 0x%04x (17.2.3)",
                    aps.cluster,
                    nwk.src,
                )
                return None
            return aps
        opened = self._unsecured(nwk, aps)
        return opened[0] if opened else None

    def _unsecured(self, nwk: NwkFrame, aps: ApsFrame) -> tuple[ApsFrame, int] | None:
        """The frame in clear and its sender's EUI-64 (the key's owner), or None if dropped."""
        try:
            aux, _rest = sec.AuxSecurityHeader.parse_prefix(aps.payload)
            source = aux.source if aux.source is not None else self.peer_eui64(nwk.src)
            key = self.key_for(source) if source is not None else None
            if source is None or key is None:
                self.stack.count(C.COUNTER_APS_DECRYPTION_FAILURE)
                LOGGER.info("dropped APS-secured frame from 0x%04x: no link key", nwk.src)
                return None
            aux, plaintext = sec.unsecure_aps_frame(aps.header_bytes(), aps.payload, key, source)
        except sec.AuthenticationError as exc:
            self.stack.count(C.COUNTER_APS_DECRYPTION_FAILURE)
            LOGGER.info("dropped APS frame from 0x%04x failing its MIC: %s", nwk.src, exc)
            return None
        except DecodeError as exc:
            self.stack.count(C.COUNTER_PACKET_VALIDATE_LIBRARY_DROPPED_COUNT)
            LOGGER.info("dropped malformed APS-secured frame from 0x%04x: %s", nwk.src, exc)
            return None
        # An APS retry resends the same secured frame (same counter), so only a counter going
        # backwards is a replay here; the NWK layer's strict check has already run (17.2.12).
        last = self._incoming.get(source)
        if last is not None and aux.frame_counter < last:
            self.stack.count(C.COUNTER_APS_FRAME_COUNTER_FAILURE)
            LOGGER.info("dropped replayed APS frame from %016x", source)
            return None
        self._incoming[source] = aux.frame_counter
        return dataclasses.replace(aps, payload=plaintext), source

    def forget_counter(self, eui64: int) -> None:
        """New key material with `eui64` (its link key transported again at a re-join): the
        counters of the old are no reason to drop the new one's frames."""
        self._incoming.pop(eui64, None)

    def command(self, nwk: NwkFrame, aps: ApsFrame) -> bool:
        """Key management once joined: Request-Key at the trust centre, Transport-Key of an
        application link key at a device. True if the frame was ours to handle."""
        if not self.stack.state.joined or self.stack.joining_in_progress or not aps.security:
            return False
        opened = self._unsecured(nwk, aps)
        if opened is None:
            return True
        clear, source = opened
        try:
            command = parse_aps_command(clear.payload)
        except DecodeError as exc:
            self.stack.count(C.COUNTER_PACKET_VALIDATE_LIBRARY_DROPPED_COUNT)
            LOGGER.info("dropped APS command from 0x%04x: %s", nwk.src, exc)
            return True
        if isinstance(command, RequestKey) and self._is_trust_centre:
            self._serve_request(nwk.src, source, command)
        elif (
            isinstance(command, TransportAppLinkKey)
            and not self._is_trust_centre
            # Only a key secured under our TC link key comes from the trust centre.
            and source == self.stack.state.trust_center_eui64
        ):
            self._app_key_received(command)
        return True

    def _serve_request(self, requester_nwk: int, requester: int, request: RequestKey) -> None:
        """Trust centre: a fresh application link key to both partners (4.6.3.4)."""
        s = self.stack.state
        partner = request.partner64
        if request.key_type != RequestKeyType.APPLICATION_LINK_KEY or partner is None:
            return
        partner_nwk = s.nwk_of(partner)
        keys = {eui: self.key_for(eui) for eui in (requester, partner)}
        if partner_nwk is None or None in keys.values() or len(keys) != 2:
            LOGGER.info("Request-Key from 0x%04x for %016x refused", requester_nwk, partner)
            return
        app_key = secrets.token_bytes(16)
        # The partner first, so that it holds the key before the requester's first frame.
        for nwk, eui, other, initiator in (
            (partner_nwk, partner, requester, False),
            (requester_nwk, requester, partner, True),
        ):
            command = TransportAppLinkKey(app_key, other, initiator).build()
            key = keys[eui]
            assert key is not None
            self._send_command(nwk, command, key, sec.KeyId.KEY_TRANSPORT)

    def _app_key_received(self, command: TransportAppLinkKey) -> None:
        s = self.stack.state
        partner = command.partner64
        s.key_table[:] = [e for e in s.key_table if e.eui64 != partner]
        s.key_table.append(LinkKeyEntry(partner, command.key))
        # A new key starts a new frame-counter space for the partner (4.4.1.2).
        self._incoming.pop(partner, None)
        waiting = self._waiting.pop(partner, None)
        for aps, transmit, _fail in waiting.frames if waiting else []:
            transmit(self._secure_data(aps, command.key))

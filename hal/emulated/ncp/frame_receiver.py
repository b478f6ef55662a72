"""The receive path of the emulated ZigBee stack: MAC -> NWK -> APS, and who gets each frame.

A frame heard on our channel is parsed at the MAC (and acknowledged if addressed to us); MAC
commands and beacons go to the joiner or the parent; a data frame addressed to us (or broadcast)
has its NWK security checked — MIC first, then freshness of the sender's frame counter (ZigBee
spec 4.3.1.2, clause 17.2.12) — teaches routing and the neighbour table, is relayed if it is for
another node, and otherwise goes, by NWK and APS frame type, to leave handling, APS delivery
(acks), key management, the joiner, the trust centre or a router's relay, the ZDO server, or up
to the host in `incomingMessageHandler`. Malformed and unauthentic frames are dropped and counted
as EmberZNet counts them.
"""

from __future__ import annotations

import dataclasses
import logging

import bellows.types as t

from protocol import zigbee_security as sec
from protocol.air_link import Receive
from protocol.errors import DecodeError
from protocol.ieee802154 import (
    AssociationRequest,
    AssociationResponse,
    BeaconRequest,
    FrameType,
    MacFrame,
    parse_mac_command,
)
from protocol.zigbee_aps import (
    ApsFrame,
    ApsFrameType,
    RemoveDevice,
    UpdateDevice,
    UpdateDeviceStatus,
    parse_aps_command,
)
from protocol.zigbee_nwk import NwkFrame, NwkFrameType

from .aps_delivery import ApsDelivery
from .aps_security import ApsSecurity
from .frame_transmitter import FrameTransmitter
from .join_parent import JoinParent
from .join_relay import TRUST_CENTRE, JoinRelay
from .joiner import Joiner
from .leaving import Leaving
from .nwk_routing import NwkRouting
from .stack_services import BROADCAST_ADDRESSES, StackServices
from .state import NetworkRole
from .tokens import NcpTokens
from .trust_centre import TrustCentre
from .zdo_server import ZDO_PROFILE, ZdoServer

LOGGER = logging.getLogger(__name__)
C = t.EmberCounterType


class _Replay(Exception):
    """A secured NWK frame whose frame counter is not above the last one accepted."""


@dataclasses.dataclass(frozen=True)
class ReceiverParts:
    """The parts of the stack the receive path hands frames to."""

    transmitter: FrameTransmitter
    tokens: NcpTokens
    routing: NwkRouting
    joiner: Joiner
    parent: JoinParent
    trust_centre: TrustCentre
    relay: JoinRelay
    leaving: Leaving
    delivery: ApsDelivery
    aps_security: ApsSecurity
    zdo: ZdoServer


class FrameReceiver:
    def __init__(self, stack: StackServices, parts: ReceiverParts) -> None:
        self.stack = stack
        self.state = stack.state
        self._p = parts

    # -- MAC ---------------------------------------------------------------------------------

    def receive(self, message: Receive) -> None:
        """A frame from the air."""
        s, p = self.state, self._p
        if message.channel != s.channel:
            return
        try:
            mac = MacFrame.parse(message.psdu)
        except DecodeError:
            self.stack.count(C.COUNTER_PACKET_VALIDATE_LIBRARY_DROPPED_COUNT)
            return
        if mac.ack_request and mac.dst_addr in (s.node_id, s.eui64):
            p.transmitter.mac_acknowledge(mac.seq)
        if mac.frame_type == FrameType.BEACON:
            p.joiner.beacon(mac, message)
            return
        if mac.frame_type == FrameType.COMMAND:
            self._mac_command(mac, message)
            return
        if mac.frame_type != FrameType.DATA or (not s.joined and not p.joiner.active):
            return
        if mac.dst_pan != s.pan_id or mac.dst_addr not in (s.node_id, 0xFFFF):
            return
        self.stack.count(
            C.COUNTER_MAC_RX_UNICAST if mac.dst_addr != 0xFFFF else C.COUNTER_MAC_RX_BROADCAST
        )
        self._nwk_frame(mac, message)

    def _mac_command(self, mac: MacFrame, radio: Receive) -> None:
        try:
            command = parse_mac_command(mac.payload)
        except DecodeError as exc:
            LOGGER.info("dropped MAC frame: %s", exc)
            return
        if isinstance(command, BeaconRequest):
            self._p.parent.beacon_request()
        elif isinstance(command, AssociationRequest):
            self._p.parent.association_request(mac, command, radio)
        elif isinstance(command, AssociationResponse):
            self._p.joiner.association_response(mac, command)

    # -- NWK ---------------------------------------------------------------------------------

    def _nwk_frame(self, mac: MacFrame, message: Receive) -> None:
        s, p = self.state, self._p
        try:
            nwk = NwkFrame.parse(mac.payload)
            payload = self._nwk_payload(nwk)
        except sec.AuthenticationError as exc:
            self.stack.count(C.COUNTER_NWK_DECRYPTION_FAILURE)
            LOGGER.info("dropped NWK frame failing its MIC: %s", exc)
            return
        except DecodeError as exc:
            # Malformed: dropped and counted as the packet-validate library does (18.11.j).
            self.stack.count(C.COUNTER_PACKET_VALIDATE_LIBRARY_DROPPED_COUNT)
            LOGGER.info("dropped malformed NWK frame: %s", exc)
            return
        except _Replay as exc:
            self.stack.count(C.COUNTER_NWK_FRAME_COUNTER_FAILURE)
            LOGGER.info("dropped replayed NWK frame: %s", exc)
            return
        if payload is None:
            return  # secured traffic of a network we have no key for yet (still joining)
        p.routing.learn(mac.src_addr, nwk.src)
        if nwk.dst != s.node_id and nwk.dst not in BROADCAST_ADDRESSES:
            if mac.dst_addr == s.node_id:
                p.routing.relay(nwk, payload)
            return
        if nwk.src64 is not None and nwk.src != s.node_id:
            p.parent.learn(nwk.src64, nwk.src, message)
        if nwk.frame_type == NwkFrameType.COMMAND:
            p.leaving.nwk_command(nwk, payload)
            return
        try:
            aps = ApsFrame.parse(payload)
        except DecodeError as exc:
            self.stack.count(C.COUNTER_PACKET_VALIDATE_LIBRARY_DROPPED_COUNT)
            LOGGER.info("dropped APS frame from 0x%04x: %s", nwk.src, exc)
            return
        self._aps_frame(nwk, aps, message)

    def _nwk_payload(self, nwk: NwkFrame) -> bytes | None:
        """The NWK payload, decrypted and checked for freshness; None if we have no key."""
        s = self.state
        if not nwk.security:
            # Once on a secured network, only a joiner hears unsecured NWK frames (its key
            # transport, or the trust centre's refusal). Anything else unsecured addressed to a
            # joined node is forged (e.g. a fake Leave, clause 17.2.12) and is dropped.
            addressed = nwk.dst == s.node_id or nwk.dst in BROADCAST_ADDRESSES
            if s.joined and not self._p.joiner.active and addressed:
                raise sec.AuthenticationError("unsecured NWK frame on a secured network")
            return bytes(nwk.payload)
        if s.network_key is None:
            return None
        aux, plaintext = sec.unsecure_nwk_frame(nwk.header_bytes(), nwk.payload, s.network_key)
        # Freshness check after the MIC (ZigBee spec 4.3.1.2 step 6, clause 17.2.12): only an
        # authentic frame may move the sender's counter, else a forger could block a sender.
        source = aux.source or 0
        last = s.incoming_nwk_counters.get(source)
        if last is not None and aux.frame_counter <= last:
            raise _Replay(f"counter {aux.frame_counter} from {source:016x}, last was {last}")
        s.incoming_nwk_counters[source] = aux.frame_counter
        self._p.tokens.incoming_accepted(s)
        return plaintext

    # -- APS ---------------------------------------------------------------------------------

    def _aps_frame(self, nwk: NwkFrame, aps: ApsFrame, radio: Receive) -> None:
        p = self._p
        if aps.frame_type == ApsFrameType.ACK:
            p.delivery.ack_received(nwk.src, aps.counter)
            return
        if aps.frame_type == ApsFrameType.COMMAND:
            self._aps_command(nwk, aps)
            return
        opened = p.aps_security.incoming(nwk, aps)
        if opened is None:
            return  # failed APS security or policy: dropped, counted, never acked
        aps = opened
        if aps.ack_request and nwk.dst == self.state.node_id:
            # Once the frame is on its way to the host: the host's answer starts a little sooner
            # and the ack still goes out at once, long before a sender's retry is due.
            self.stack.later(0, p.delivery.acknowledge, nwk.src, aps)
        if p.delivery.duplicate(nwk.src, aps.counter):
            self.stack.count(C.COUNTER_APS_DATA_RX_UNICAST)
            return  # a retransmission of something already delivered: acked again, not delivered twice
        if aps.profile == ZDO_PROFILE and p.zdo.handle(nwk, aps):
            return
        self._to_host(nwk, aps, radio)

    def _aps_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        if self._p.aps_security.command(nwk, aps):
            return  # key management of a joined node
        if self._p.joiner.active:
            self._p.joiner.aps_command(aps)
        else:
            self._join_command(nwk, aps)

    def _join_command(self, nwk: NwkFrame, aps: ApsFrame) -> None:
        """An APS command without APS security from a joined node: a router's Update-Device at
        the trust centre, the trust centre's Remove-Device at a router (`join_relay.py`)."""
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
                self._p.trust_centre.update_device(nwk.src, command)
        elif (
            isinstance(command, RemoveDevice)
            and s.role == NetworkRole.ROUTER
            and nwk.src == TRUST_CENTRE
        ):
            self._p.relay.remove_child(command.target64)

    def _to_host(self, nwk: NwkFrame, aps: ApsFrame, radio: Receive) -> None:
        """`incomingMessageHandler`: an APS data frame for the host's endpoints."""
        unicast = nwk.dst == self.state.node_id
        incoming = (
            t.EmberIncomingMessageType.INCOMING_UNICAST
            if unicast
            else t.EmberIncomingMessageType.INCOMING_BROADCAST
        )
        aps_frame = t.EmberApsFrame(
            profileId=aps.profile,
            clusterId=aps.cluster,
            sourceEndpoint=aps.src_endpoint,
            destinationEndpoint=aps.dst_endpoint if aps.dst_endpoint is not None else 0xFF,
            # Tells the host the frame came APS-secured, so it can insist on it (17.2.3).
            options=t.EmberApsOption.APS_OPTION_ENCRYPTION
            if aps.security
            else t.EmberApsOption.APS_OPTION_NONE,
            groupId=aps.group or 0,
            sequence=aps.counter,
        )
        sender_eui = self.state.eui64_of(nwk.src) or nwk.src64 or 0
        self.stack.emit(
            "incomingMessageHandler",
            {
                "message_type": incoming,
                "aps_frame": aps_frame,
                "lqi": radio.lqi,
                "rssi": radio.rssi,
                "nwk": nwk.src,
                "sender": nwk.src,
                "eui64": t.EUI64(sender_eui.to_bytes(8, "little")),
                "bindingIndex": 0xFF,
                "addressIndex": 0xFF,
                "binding_index": 0xFF,
                "address_index": 0xFF,
                "timestamp": 0,
                "message": bytes(aps.payload),
            },
        )

    def loopback(self, aps: ApsFrame) -> None:
        """A frame the host addressed to its own NCP (zigpy asks its coordinator for its own
        descriptors): handled as if received, without going on the air."""
        own = NwkFrame(
            frame_type=NwkFrameType.DATA,
            dst=self.state.node_id,
            src=self.state.node_id,
            radius=1,
            seq=0,
        )
        self._aps_frame(
            own,
            dataclasses.replace(aps, ack_request=False),
            Receive(self.state.channel, 0, 255, b""),
        )

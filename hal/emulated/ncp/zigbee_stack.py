"""The small ZigBee PRO stack inside the emulated NCP: MAC, NWK and APS on the virtual channel.

What it does, as EmberZNet does for its host: forms a network (coordinator / trust centre) or
joins one (router, end device), carries APS data frames with APS acknowledgements and retries,
answers ZDO requests addressed to its own endpoints, and reports to the host through EZSP
callbacks (`stackStatusHandler`, `incomingMessageHandler`, `messageSentHandler`,
`trustCenterJoinHandler`, `childJoinHandler`). Joining is in `joining.py`, ZDO in `zdo_server.py`.

A node hears the frames the air's radio model lets reach it; unicasts go hop by hop through the
routes `nwk_routing.py` learns, relayed (and re-secured) by routers and the coordinator.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import logging
import secrets
from collections.abc import Callable
from typing import Any

import bellows.types as t

from hal.radio_link import RadioLink
from protocol import zigbee_security as sec
from protocol.air_link import Receive
from protocol.errors import DecodeError
from protocol.ieee802154 import AddrMode, FrameType, MacFrame
from protocol.zigbee_aps import ApsFrame, ApsFrameType, DeliveryMode
from protocol.zigbee_nwk import NwkFrame, NwkFrameType

from .aps_delivery import ApsDelivery
from .aps_security import ApsSecurity
from .joining import Joining
from .nwk_routing import NwkRouting
from .state import NcpState, NetworkRole
from .tokens import NcpTokens
from .zdo_server import ZdoServer

LOGGER = logging.getLogger(__name__)
EmitCallback = Callable[[str, dict[str, Any]], None]
BROADCAST_ADDRESSES = (0xFFFF, 0xFFFD, 0xFFFC, 0xFFFB)
C = t.EmberCounterType


class _Replay(Exception):
    """A secured NWK frame whose frame counter is not above the last one accepted."""


class ZigbeeStack:
    """One node's ZigBee stack, attached to the air through a `RadioLink`."""

    def __init__(
        self,
        state: NcpState,
        radio: RadioLink,
        emit: EmitCallback,
        tokens: NcpTokens | None = None,
    ) -> None:
        self.state = state
        self.tokens = tokens if tokens is not None else NcpTokens(None, state.eui64)
        self.radio = radio
        self.emit = emit
        self.joining = Joining(self)
        self.routing = NwkRouting(self)
        self.zdo = ZdoServer(self)
        # Sequence numbers start at random after a reboot, as on a real node: a restarted node
        # counting from 0 again would look like a retry to a peer's duplicate rejection.
        self._mac_seq = secrets.randbelow(256)
        self._nwk_seq = secrets.randbelow(256)
        self._aps_counter = secrets.randbelow(256)
        self.delivery = ApsDelivery(self)
        self.aps_security = ApsSecurity(self)
        self._counters: collections.Counter[int] = collections.Counter()

    # -- host-facing operations ----------------------------------------------------------

    def counters(self) -> list[int]:
        return [self._counters[int(counter)] for counter in t.EmberCounterType]

    def clear_counters(self) -> None:
        self._counters.clear()

    def count(self, counter: t.EmberCounterType) -> None:
        self._counters[int(counter)] += 1

    def network_init(self) -> t.sl_Status:
        if self.state.role is None or self.state.network_key is None:
            return t.sl_Status.NOT_JOINED
        self.state.network_status = t.EmberNetworkStatus.JOINED_NETWORK
        self.later(0, self.emit, "stackStatusHandler", {"status": t.sl_Status.NETWORK_UP})
        return t.sl_Status.OK

    def form_network(self, params: t.EmberNetworkParameters) -> t.sl_Status:
        if self.state.joined:
            return t.sl_Status.INVALID_STATE
        if self.state.network_key is None:
            return t.sl_Status.INVALID_CONFIGURATION
        s = self.state
        s.role = NetworkRole.COORDINATOR
        s.node_id = 0x0000
        s.pan_id = int(params.panId)
        s.extended_pan_id = int.from_bytes(bytes(params.extendedPanId.serialize()), "little")
        s.channel = int(params.radioChannel)
        s.nwk_update_id = int(params.nwkUpdateId)
        s.trust_center_eui64 = s.eui64
        s.network_status = t.EmberNetworkStatus.JOINED_NETWORK
        self.later(0, self.emit, "stackStatusHandler", {"status": t.sl_Status.NETWORK_UP})
        return t.sl_Status.OK

    def join_network(self, role: NetworkRole, params: t.EmberNetworkParameters) -> t.sl_Status:
        return self.joining.start(role, params)

    def leave_network(self) -> t.sl_Status:
        if not self.state.joined:
            return t.sl_Status.INVALID_STATE
        self.drop_membership()
        self.later(0, self.emit, "stackStatusHandler", {"status": t.sl_Status.NETWORK_DOWN})
        return t.sl_Status.OK

    def drop_membership(self) -> None:
        s = self.state
        s.network_status = t.EmberNetworkStatus.NO_NETWORK
        s.role, s.node_id, s.pan_id, s.network_key = None, 0xFFFE, 0xFFFF, None
        s.children.clear()
        s.neighbours.clear()
        self.routing.forget()

    def factory_reset(self, keep_outgoing_fc: bool) -> None:
        self.drop_membership()
        self.state.key_table.clear()
        self.state.transient_keys.clear()
        if not keep_outgoing_fc:
            self.state.nwk_frame_counter = self.state.aps_frame_counter = 0

    def permit_joining(self, duration: int) -> t.sl_Status:
        if not self.state.joined:
            return t.sl_Status.NOT_JOINED
        now = asyncio.get_running_loop().time()
        # 0xFF keeps joining open until told otherwise (ZigBee spec, NLME-PERMIT-JOINING).
        self.state.permit_join_until = float("inf") if duration == 0xFF else now + duration
        return t.sl_Status.OK

    def start_scan(self, scan_type: t.EzspNetworkScanType, channels: list[int]) -> t.sl_Status:
        if scan_type != t.EzspNetworkScanType.ENERGY_SCAN:
            return t.sl_Status.NOT_SUPPORTED
        for channel in channels:
            # The air carries only our own traffic: every channel reads as quiet.
            self.later(
                0, self.emit, "energyScanResultHandler", {"channel": channel, "maxRssiValue": -90}
            )
        self.later(0, self.emit, "scanCompleteHandler", {"channel": 0, "status": t.sl_Status.OK})
        return t.sl_Status.OK

    def send_unicast(
        self, destination: int, aps_frame: t.EmberApsFrame, tag: int, payload: bytes
    ) -> tuple[t.sl_Status, int]:
        if not self.state.joined:
            return t.sl_Status.NETWORK_DOWN, 0
        counter = self._next_aps_counter()
        wants_ack = bool(aps_frame.options & t.EmberApsOption.APS_OPTION_RETRY)
        aps = ApsFrame(
            frame_type=ApsFrameType.DATA,
            counter=counter,
            dst_endpoint=int(aps_frame.destinationEndpoint),
            cluster=int(aps_frame.clusterId),
            profile=int(aps_frame.profileId),
            src_endpoint=int(aps_frame.sourceEndpoint),
            ack_request=wants_ack,
            payload=payload,
        )
        sent = aps_frame.replace(sequence=counter)
        if destination == self.state.node_id:
            self.later(0, self._loopback, aps)
            self.delivery.report_sent(destination, sent, tag, payload, t.sl_Status.OK)
            return t.sl_Status.OK, counter

        def transmit(frame: ApsFrame) -> None:
            self.delivery.transmit_unicast(destination, frame, sent, tag, payload)

        if self.aps_security.wants(aps_frame):
            failed = t.sl_Status.ZIGBEE_DELIVERY_FAILED
            self.aps_security.send(
                destination,
                aps,
                transmit,
                lambda: self.delivery.report_sent(destination, sent, tag, payload, failed),
            )
        else:
            transmit(aps)
        return t.sl_Status.OK, counter

    def send_broadcast(
        self, destination: int, aps_frame: t.EmberApsFrame, radius: int, tag: int, payload: bytes
    ) -> tuple[t.sl_Status, int]:
        if not self.state.joined:
            return t.sl_Status.NETWORK_DOWN, 0
        counter = self._next_aps_counter()
        aps = ApsFrame(
            frame_type=ApsFrameType.DATA,
            counter=counter,
            delivery_mode=DeliveryMode.BROADCAST,
            dst_endpoint=int(aps_frame.destinationEndpoint),
            cluster=int(aps_frame.clusterId),
            profile=int(aps_frame.profileId),
            src_endpoint=int(aps_frame.sourceEndpoint),
            payload=payload,
        )
        self.transmit_mac_data(0xFFFF, self.nwk_data_frame(destination, aps.build(), radius or 30))
        self.count(C.COUNTER_APS_DATA_TX_BROADCAST)
        sent = aps_frame.replace(sequence=counter)
        self.delivery.report_sent(
            destination,
            sent,
            tag,
            payload,
            t.sl_Status.OK,
            t.EmberOutgoingMessageType.OUTGOING_BROADCAST,
        )
        return t.sl_Status.OK, counter

    # -- frame building ----------------------------------------------------------------

    def _next_aps_counter(self) -> int:
        self._aps_counter = (self._aps_counter + 1) & 0xFF
        return self._aps_counter

    def nwk_frame(
        self,
        destination: int,
        payload: bytes,
        *,
        frame_type: NwkFrameType,
        radius: int = 30,
        secure: bool = True,
    ) -> bytes:
        self._nwk_seq = (self._nwk_seq + 1) & 0xFF
        header = NwkFrame(
            frame_type=frame_type,
            dst=destination,
            src=self.state.node_id,
            radius=radius,
            seq=self._nwk_seq,
            security=secure,
            src64=self.state.eui64 if secure else None,
        )
        if not secure:
            return header.with_payload(payload).build()
        assert self.state.network_key is not None
        counter = self.next_frame_counter("nwk")
        return sec.secure_nwk_frame(
            header.header_bytes(),
            payload,
            self.state.network_key,
            counter,
            self.state.eui64,
            self.state.network_key_seq,
        )

    def next_frame_counter(self, kind: str) -> int:
        """The next outgoing NWK ("nwk") or APS ("aps") frame counter, its block reserved in
        non-volatile memory before it is used, so no counter is ever sent twice (4.3.1.1)."""
        s = self.state
        counter = s.nwk_frame_counter if kind == "nwk" else s.aps_frame_counter
        self.tokens.reserve(kind, counter)
        if kind == "nwk":
            s.nwk_frame_counter = counter + 1
        else:
            s.aps_frame_counter = counter + 1
        return counter

    def nwk_data_frame(self, destination: int, payload: bytes, radius: int = 30) -> bytes:
        return self.nwk_frame(destination, payload, frame_type=NwkFrameType.DATA, radius=radius)

    def transmit_mac_data(self, destination: int, nwk_frame: bytes) -> None:
        """Send a NWK frame for NWK `destination` to its next hop (itself if heard directly)."""
        mac_destination = self.routing.next_hop(destination)
        self.transmit_mac(
            FrameType.DATA,
            nwk_frame,
            dst_pan=self.state.pan_id,
            dst=mac_destination,
            src=self.state.node_id,
            ack_request=mac_destination not in BROADCAST_ADDRESSES,
        )

    def transmit_mac(
        self,
        frame_type: FrameType,
        payload: bytes,
        *,
        dst_pan: int | None,
        dst: int | None,
        src: int | None,
        src_pan: int | None = None,
        ack_request: bool = False,
    ) -> None:
        self._mac_seq = (self._mac_seq + 1) & 0xFF
        dst_mode = (
            AddrMode.NONE
            if dst is None
            else (AddrMode.EXTENDED if dst > 0xFFFF else AddrMode.SHORT)
        )
        src_mode = (
            AddrMode.NONE
            if src is None
            else (AddrMode.EXTENDED if src > 0xFFFF else AddrMode.SHORT)
        )
        compress = dst is not None and src is not None and src_pan is None
        frame = MacFrame(
            frame_type=frame_type,
            seq=self._mac_seq,
            dst_addr_mode=dst_mode,
            dst_pan=dst_pan,
            dst_addr=dst,
            src_addr_mode=src_mode,
            src_pan=src_pan if src is not None and not compress else None,
            src_addr=src,
            ack_request=ack_request,
            pan_id_compression=compress,
            payload=payload,
        )
        self.count(C.COUNTER_MAC_TX_UNICAST_SUCCESS if ack_request else C.COUNTER_MAC_TX_BROADCAST)
        self.radio.transmit(self.state.channel, frame.build())

    # -- reception -----------------------------------------------------------------------

    def _mac_acknowledge(self, seq: int) -> None:
        """The immediate MAC acknowledgement (802.15.4-2006 7.5.6.4) a radio sends for a frame
        addressed to it with the ack-request bit; the air is lossless for now, so nothing waits
        for it, but it is on the air as on a real channel."""
        self.radio.transmit(self.state.channel, MacFrame(FrameType.ACK, seq).build())

    def receive(self, message: Receive) -> None:
        if message.channel != self.state.channel:
            return
        try:
            mac = MacFrame.parse(message.psdu)
        except DecodeError:
            self.count(C.COUNTER_PACKET_VALIDATE_LIBRARY_DROPPED_COUNT)
            return
        if mac.ack_request and mac.dst_addr in (self.state.node_id, self.state.eui64):
            self._mac_acknowledge(mac.seq)
        if mac.frame_type == FrameType.COMMAND or mac.frame_type == FrameType.BEACON:
            self.joining.mac_frame(mac, message)
            return
        if mac.frame_type != FrameType.DATA or (not self.state.joined and not self.joining.active):
            return
        if mac.dst_pan != self.state.pan_id or mac.dst_addr not in (self.state.node_id, 0xFFFF):
            return
        self.count(
            C.COUNTER_MAC_RX_UNICAST if mac.dst_addr != 0xFFFF else C.COUNTER_MAC_RX_BROADCAST
        )
        try:
            nwk = NwkFrame.parse(mac.payload)
            payload = self._nwk_payload(nwk)
        except sec.AuthenticationError as exc:
            self.count(C.COUNTER_NWK_DECRYPTION_FAILURE)
            LOGGER.info("dropped NWK frame failing its MIC: %s", exc)
            return
        except DecodeError as exc:
            # Malformed: dropped and counted as the packet-validate library does (18.11.j).
            self.count(C.COUNTER_PACKET_VALIDATE_LIBRARY_DROPPED_COUNT)
            LOGGER.info("dropped malformed NWK frame: %s", exc)
            return
        except _Replay as exc:
            self.count(C.COUNTER_NWK_FRAME_COUNTER_FAILURE)
            LOGGER.info("dropped replayed NWK frame: %s", exc)
            return
        if payload is None:
            return  # secured traffic of a network we have no key for yet (still joining)
        self.routing.learn(mac.src_addr, nwk.src)
        if nwk.dst != self.state.node_id and nwk.dst not in BROADCAST_ADDRESSES:
            if mac.dst_addr == self.state.node_id:
                self.routing.relay(nwk, payload)
            return
        if nwk.src64 is not None and nwk.src != self.state.node_id:
            self.joining.learn(nwk.src64, nwk.src, message)
        if nwk.frame_type == NwkFrameType.COMMAND:
            self.joining.nwk_command(nwk, payload)
            return
        try:
            aps = ApsFrame.parse(payload)
        except DecodeError as exc:
            self.count(C.COUNTER_PACKET_VALIDATE_LIBRARY_DROPPED_COUNT)
            LOGGER.info("dropped APS frame from 0x%04x: %s", nwk.src, exc)
            return
        self._aps_frame(nwk, aps, message)

    def _nwk_payload(self, nwk: NwkFrame) -> bytes | None:
        """The NWK payload, decrypted and checked for freshness; None if we have no key."""
        if not nwk.security:
            # Once on a secured network, only a joiner hears unsecured NWK frames (its key
            # transport, or the trust centre's refusal). Anything else unsecured addressed to a
            # joined node is forged (e.g. a fake Leave, clause 17.2.12) and is dropped.
            addressed = nwk.dst == self.state.node_id or nwk.dst in BROADCAST_ADDRESSES
            if self.state.joined and not self.joining.active and addressed:
                raise sec.AuthenticationError("unsecured NWK frame on a secured network")
            return bytes(nwk.payload)
        if self.state.network_key is None:
            return None
        aux, plaintext = sec.unsecure_nwk_frame(
            nwk.header_bytes(), nwk.payload, self.state.network_key
        )
        # Freshness check after the MIC (ZigBee spec 4.3.1.2 step 6, clause 17.2.12): only an
        # authentic frame may move the sender's counter, else a forger could block a sender.
        source = aux.source or 0
        last = self.state.incoming_nwk_counters.get(source)
        if last is not None and aux.frame_counter <= last:
            raise _Replay(f"counter {aux.frame_counter} from {source:016x}, last was {last}")
        self.state.incoming_nwk_counters[source] = aux.frame_counter
        self.tokens.incoming_accepted(self.state)
        return plaintext

    def _aps_frame(self, nwk: NwkFrame, aps: ApsFrame, radio: Receive) -> None:
        if aps.frame_type == ApsFrameType.ACK:
            self.delivery.ack_received(nwk.src, aps.counter)
            return
        if aps.frame_type == ApsFrameType.COMMAND:
            if not self.aps_security.command(nwk, aps):
                self.joining.aps_command(nwk, aps)
            return
        opened = self.aps_security.incoming(nwk, aps)
        if opened is None:
            return  # failed APS security or policy: dropped, counted, never acked
        aps = opened
        if aps.ack_request and nwk.dst == self.state.node_id:
            self.delivery.acknowledge(nwk.src, aps)
        if self.delivery.duplicate(nwk.src, aps.counter):
            self.count(C.COUNTER_APS_DATA_RX_UNICAST)
            return  # a retransmission of something already delivered: acked again, not delivered twice
        if aps.profile == 0x0000 and self.zdo.handle(nwk, aps):
            return
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
        self.emit(
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

    def send_aps(self, destination: int, aps: ApsFrame) -> None:
        """Put a stack-originated APS frame (ZDO answers, acks) on its way, looping back frames
        for ourselves."""
        if destination == self.state.node_id:
            self.later(0, self._loopback, aps)
            return
        broadcast = destination in BROADCAST_ADDRESSES
        self.transmit_mac_data(
            0xFFFF if broadcast else destination, self.nwk_data_frame(destination, aps.build())
        )

    def _loopback(self, aps: ApsFrame) -> None:
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

    @staticmethod
    def later(delay: float, func: Callable[..., Any], *args: Any) -> None:
        """Run after the current EZSP response has gone out, as the NCP's event loop would."""
        asyncio.get_running_loop().call_later(delay, func, *args)

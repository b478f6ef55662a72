"""The transmit path of the emulated ZigBee stack: sequence numbers, frame counters, NWK frames
(secured with the network key) and the MAC frames that carry them onto the air.

Routing decides the next hop (`nwk_routing.py`); this module only builds and sends, so it is
given the routing's `next_hop` rather than the routing itself.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import bellows.types as t

from hal.radio_link import RadioLink
from protocol import zigbee_security as sec
from protocol.ieee802154 import MAX_PSDU, AddrMode, FrameType, MacFrame
from protocol.zigbee_nwk import NwkFrame, NwkFrameType

from .stack_services import BROADCAST_ADDRESSES
from .state import NcpState
from .tokens import NcpTokens

C = t.EmberCounterType
Count = Callable[[t.EmberCounterType], None]
NextHop = Callable[[int], int]

#: Octets this stack puts around an APS payload in a data frame: the MAC header and FCS (11,
#: short addresses with the PAN id compressed), the NWK header with its extended source (16), the
#: NWK auxiliary security header (14) and MIC (4), and the APS data header (8).
_DATA_FRAME_OVERHEAD = 11 + 16 + 14 + 4 + 8
#: What APS security adds: its auxiliary header with the extended nonce (13) and MIC (4).
_APS_SECURITY_OVERHEAD = 13 + 4


def max_aps_payload(*, aps_secured: bool) -> int:
    """The largest APS payload one unfragmented data frame of this stack carries (74 octets,
    57 when APS-secured as Smart Energy clusters are): a longer one is refused with
    MESSAGE_TOO_LONG, as EmberZNet refuses it, rather than overflowing the 127-octet PSDU."""
    overhead = _DATA_FRAME_OVERHEAD + (_APS_SECURITY_OVERHEAD if aps_secured else 0)
    return MAX_PSDU - overhead


class FrameTransmitter:
    """Builds this node's frames and transmits them through its `RadioLink`."""

    def __init__(
        self, state: NcpState, tokens: NcpTokens, radio: RadioLink, count: Count, next_hop: NextHop
    ) -> None:
        self.state = state
        self.tokens = tokens
        self.radio = radio
        self._count = count
        self._next_hop = next_hop
        # Sequence numbers start at random after a reboot, as on a real node: a restarted node
        # counting from 0 again would look like a retry to a peer's duplicate rejection.
        self._mac_seq = secrets.randbelow(256)
        self._nwk_seq = secrets.randbelow(256)
        self.aps_counter = secrets.randbelow(256)

    # -- counters ------------------------------------------------------------------------

    def next_aps_counter(self) -> int:
        self.aps_counter = (self.aps_counter + 1) & 0xFF
        return self.aps_counter

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

    # -- NWK -----------------------------------------------------------------------------

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

    def nwk_data_frame(self, destination: int, payload: bytes, radius: int = 30) -> bytes:
        return self.nwk_frame(destination, payload, frame_type=NwkFrameType.DATA, radius=radius)

    # -- MAC -----------------------------------------------------------------------------

    def transmit_mac_data(self, destination: int, nwk_frame: bytes) -> None:
        """Send a NWK frame for NWK `destination` to its next hop (itself if heard directly)."""
        mac_destination = self._next_hop(destination)
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
        compress = dst is not None and src is not None and src_pan is None
        frame = MacFrame(
            frame_type=frame_type,
            seq=self._mac_seq,
            dst_addr_mode=_addr_mode(dst),
            dst_pan=dst_pan,
            dst_addr=dst,
            src_addr_mode=_addr_mode(src),
            src_pan=src_pan if src is not None and not compress else None,
            src_addr=src,
            ack_request=ack_request,
            pan_id_compression=compress,
            payload=payload,
        )
        self._count(C.COUNTER_MAC_TX_UNICAST_SUCCESS if ack_request else C.COUNTER_MAC_TX_BROADCAST)
        self.radio.transmit(self.state.channel, frame.build())

    def mac_acknowledge(self, seq: int) -> None:
        """The immediate MAC acknowledgement (802.15.4-2006 7.5.6.4) a radio sends for a frame
        addressed to it with the ack-request bit; nothing waits for it (no MAC retries here),
        but it is on the air as on a real channel."""
        self.radio.transmit(self.state.channel, MacFrame(FrameType.ACK, seq).build())


def _addr_mode(address: int | None) -> AddrMode:
    """The MAC addressing mode of an address: none, short (16-bit) or extended (EUI-64)."""
    if address is None:
        return AddrMode.NONE
    return AddrMode.EXTENDED if address > 0xFFFF else AddrMode.SHORT

"""Network management the host asks of the stack: resume, form, leave, reset, permit joining and
the energy scan (EZSP networkInit, formNetwork, leaveNetwork, tokenFactoryReset, permitJoining,
startScan), as EmberZNet answers them.

Joining a network is the joiner's (`joiner.py`); the NWK Leave exchanged on the air is
`leaving.py`'s. Permit-join expiry is read on the stack's timer, like every other deadline.

The energy scan takes the time 802.15.4 gives it: aBaseSuperframeDuration * (2^n + 1) symbols on
each channel (IEEE 802.15.4-2006, 7.5.2.1.1), 16 us a symbol at 2.4 GHz, n the scan duration
0..14; it reports each channel when its dwell ends, with the strongest signal the radio heard
there (`channel_energy`), then scanCompleteHandler.
"""

from __future__ import annotations

import bellows.types as t

from .channel_energy import NOISE_FLOOR_DBM
from .nwk_routing import NwkRouting
from .stack_services import StackServices
from .state import NetworkRole

#: permitJoining duration meaning "until told otherwise" (ZigBee spec, NLME-PERMIT-JOINING).
PERMIT_FOREVER = 0xFF
#: aBaseSuperframeDuration, symbols (802.15.4 MAC constant).
BASE_SUPERFRAME_SYMBOLS = 960
#: One O-QPSK symbol at 2.4 GHz, seconds.
SYMBOL_S = 16e-6
#: The largest scan duration exponent 802.15.4 allows (about 252 s a channel).
MAX_SCAN_DURATION = 14
#: A scan reports the strongest signal of its dwell or of this long before it, seconds: the
#: virtual air carries bursts of frames, and a dwell of a few milliseconds would miss most.
ENERGY_LOOKBACK_S = 1.0
__all__ = ["NOISE_FLOOR_DBM", "NetworkManagement", "scan_dwell_s"]


def scan_dwell_s(duration: int) -> float:
    """Seconds an energy scan of duration exponent `duration` spends on one channel."""
    return float(BASE_SUPERFRAME_SYMBOLS * (2**duration + 1) * SYMBOL_S)


class NetworkManagement:
    def __init__(self, stack: StackServices, routing: NwkRouting) -> None:
        self.stack = stack
        self.state = stack.state
        self._routing = routing
        self._scanning = False

    def network_init(self) -> t.sl_Status:
        """Resume the network the tokens remember (EZSP networkInit)."""
        if self.state.role is None or self.state.network_key is None:
            return t.sl_Status.NOT_JOINED
        self.state.network_status = t.EmberNetworkStatus.JOINED_NETWORK
        self._network_up()
        return t.sl_Status.OK

    def form_network(self, params: t.EmberNetworkParameters) -> t.sl_Status:
        """Become the coordinator and trust centre of a new network (EZSP formNetwork)."""
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
        self._network_up()
        return t.sl_Status.OK

    def leave_network(self) -> t.sl_Status:
        """EZSP leaveNetwork: forget the network and tell the host NETWORK_DOWN."""
        if not self.state.joined:
            return t.sl_Status.INVALID_STATE
        self.drop_membership()
        self.stack.later(
            0, self.stack.emit, "stackStatusHandler", {"status": t.sl_Status.NETWORK_DOWN}
        )
        return t.sl_Status.OK

    def drop_membership(self) -> None:
        s = self.state
        s.network_status = t.EmberNetworkStatus.NO_NETWORK
        s.role, s.node_id, s.pan_id, s.network_key = None, 0xFFFE, 0xFFFF, None
        s.children.clear()
        s.neighbours.clear()
        self._routing.forget()

    def factory_reset(self, keep_outgoing_fc: bool) -> None:
        """EZSP tokenFactoryReset; the outgoing frame counters survive if the host asks."""
        self.drop_membership()
        self.state.key_table.clear()
        self.state.transient_keys.clear()
        if not keep_outgoing_fc:
            self.state.nwk_frame_counter = self.state.aps_frame_counter = 0

    def permit_joining(self, duration: int) -> t.sl_Status:
        """Accept associations for `duration` seconds (EZSP permitJoining, Mgmt_Permit_Joining)."""
        if not self.state.joined:
            return t.sl_Status.NOT_JOINED
        now = self.stack.timer.monotonic()
        forever = duration == PERMIT_FOREVER
        self.state.permit_join_until = float("inf") if forever else now + duration
        return t.sl_Status.OK

    def permitting(self) -> bool:
        """Joining is open now (a beacon's association-permit bit, admission of a joiner)."""
        return self.stack.timer.monotonic() < self.state.permit_join_until

    def start_scan(
        self, scan_type: t.EzspNetworkScanType, channels: list[int], duration: int
    ) -> t.sl_Status:
        """EZSP startScan: only the energy scan is offered; one channel after the other, each
        for its dwell time, then scanCompleteHandler."""
        if scan_type != t.EzspNetworkScanType.ENERGY_SCAN:
            return t.sl_Status.NOT_SUPPORTED
        if not 0 <= duration <= MAX_SCAN_DURATION:
            return t.sl_Status.BAD_SCAN_DURATION
        if self._scanning:
            return t.sl_Status.MAC_SCANNING
        if not channels:
            return t.sl_Status.INVALID_PARAMETER
        self._scanning = True
        self.stack.later(0, self._scan_channel, channels, 0, scan_dwell_s(duration))
        return t.sl_Status.OK

    def _scan_channel(self, channels: list[int], index: int, dwell: float) -> None:
        """Dwell on `channels[index]`, then report it and go on to the next."""
        start = self.stack.timer.monotonic()
        self.stack.later(dwell, self._channel_scanned, channels, index, dwell, start)

    def _channel_scanned(self, channels: list[int], index: int, dwell: float, start: float) -> None:
        channel, now = channels[index], self.stack.timer.monotonic()
        energy = self.stack.energy.peak(channel, min(start, now - ENERGY_LOOKBACK_S), now)
        self.stack.emit("energyScanResultHandler", {"channel": channel, "maxRssiValue": energy})
        if index + 1 < len(channels):
            self._scan_channel(channels, index + 1, dwell)
            return
        self._scanning = False
        self.stack.emit("scanCompleteHandler", {"channel": 0, "status": t.sl_Status.OK})

    def _network_up(self) -> None:
        self.stack.later(
            0, self.stack.emit, "stackStatusHandler", {"status": t.sl_Status.NETWORK_UP}
        )

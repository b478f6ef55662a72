"""What the NCP's radio hears on each 2.4 GHz channel: the energy an energy scan reports.

An energy scan (802.15.4 ED, MLME-SCAN.request with ScanType ED) tunes to each channel in turn
and reports the strongest signal it measured there. On the virtual air every frame reaches every
node with the RSSI the radio model gives that link, on whatever channel it was sent, so the
radio keeps the receptions of the last moments per channel and a scan reads the strongest of
them. A node never hears its own transmissions (the air does not hand a sender its own frame),
so an NCP alone on its channel measures only the noise floor there.
"""

from __future__ import annotations

import collections

#: What an idle channel measures, dBm: the receiver's noise floor (an EFR32 reads about here).
NOISE_FLOOR_DBM = -100
#: How long receptions are remembered, seconds: longer than any window a scan asks about.
MEMORY_S = 10.0


class ChannelEnergy:
    """Recent receptions per channel; times are on the stack's timer clock."""

    def __init__(self, memory_s: float = MEMORY_S) -> None:
        self._memory_s = memory_s
        self._heard: dict[int, collections.deque[tuple[float, int]]] = {}

    def heard(self, channel: int, rssi: int, at: float) -> None:
        """A frame was received on `channel` at `rssi` dBm, at time `at`."""
        receptions = self._heard.setdefault(channel, collections.deque())
        receptions.append((at, rssi))
        while receptions and receptions[0][0] < at - self._memory_s:
            receptions.popleft()

    def peak(self, channel: int, since: float, until: float) -> int:
        """The strongest reception on `channel` within [since, until], or the noise floor."""
        levels = [rssi for at, rssi in self._heard.get(channel, ()) if since <= at <= until]
        return max(levels, default=NOISE_FLOOR_DBM)

"""Frames the radio dropped for security reasons, seen through the NCP's counters.

A ZigBee stack drops a frame that fails its MIC, a replay (frame counter not above the last one
accepted from that sender) and a malformed frame before the host ever sees it (clauses 17.2.12,
18.11.f, 18.11.j, 18.11.m). EmberZNet reports these only as `EmberCounterType` counters, read
with `readCounters`, so the hub and the devices poll them and raise "unusual HAN traffic" when
one rises. `CounterWatch` turns successive readings into the rises since the last one.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["SECURITY_DROP_COUNTERS", "CounterWatch"]

#: EmberCounterType names (without COUNTER_) of the drops that mean suspicious traffic.
SECURITY_DROP_COUNTERS = (
    "NWK_DECRYPTION_FAILURE",  # NWK MIC failed: wrong key or tampered frame
    "APS_DECRYPTION_FAILURE",  # APS MIC failed (link-key secured frames)
    "NWK_FRAME_COUNTER_FAILURE",  # replay: NWK frame counter not fresh
    "APS_FRAME_COUNTER_FAILURE",  # replay at the APS layer
    "PACKET_VALIDATE_LIBRARY_DROPPED_COUNT",  # malformed frame
    "APS_LINK_KEY_NOT_AUTHORIZED",  # SE data that should have been APS-encrypted (17.2.3)
)


class CounterWatch:
    """Remembers the last reading of the security-drop counters.

    The 16-bit counters only grow until someone clears them (bellows' watchdog calls
    `readAndClearCounters` now and then, and an NCP reset clears them too): a reading below the
    previous one therefore means "cleared, then this many new drops".
    """

    def __init__(self) -> None:
        self._last: dict[str, int] = {}

    def rises(self, reading: Mapping[str, int]) -> dict[str, int]:
        """The drops counted since the previous reading, by counter; empty if none."""
        out: dict[str, int] = {}
        for name in SECURITY_DROP_COUNTERS:
            if name not in reading:
                continue
            value = int(reading[name])
            before = self._last.get(name, 0)
            rise = value - before if value >= before else value
            if rise > 0:
                out[name] = rise
            self._last[name] = value
        return out

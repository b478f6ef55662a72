"""Latency tracing: where the time of a request goes, hop by hop, across the rig's processes.

Off by default. With `SMARTMETER_TRACE=1` in the environment (the launcher passes it on to every
process), the head-end and the hub stamp an on-demand read at each hop — head-end sends, hub
receives, HAN exchange starts and ends, hub sends the result, head-end receives it — and the
head-end returns the stamps with the reply (`"trace"`), so `make bench` (and anyone reading
their own rig's latency) can split the round trip into MQTT down, HAN, MQTT up and the rest.

Stamps are the host's CLOCK_MONOTONIC, the same for every process on one machine. This is
instrumentation of the emulator, not firmware behaviour: firmware time still comes from its
clock port.
"""

from __future__ import annotations

import os
import time

__all__ = ["ENV", "enabled", "stamp"]

ENV = "SMARTMETER_TRACE"
_ON = os.environ.get(ENV, "") not in ("", "0")


def enabled() -> bool:
    return _ON


def stamp() -> float:
    """Seconds on the host's monotonic clock (shared by every process of the machine)."""
    return time.monotonic()

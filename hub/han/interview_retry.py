"""Interview the rig's devices again when zigpy's interview failed or hangs.

zigpy interviews a device (node, endpoints and simple descriptors) when it joins and, after a
restart of the hub, each device the hub recalls from its store. When the whole premises starts
at once, the hub may ask before a device is back on the air: the request is lost and zigpy,
which knows no node descriptor yet (the hub keeps no zigpy database), waits its extended reply
timeout, 28 s, before it tries again; and an interview that failed is tried again only when
the device next sends the hub something. A healthy interview takes a few round trips (a tenth
of a second, a few tenths on a loaded machine), so this watch asks again (zigpy's
`schedule_initialize` cancels the one in progress) when an interview is not done after
`FIRST_S` real seconds, then after twice that, up to `MAX_S`, until it is done or the device
is gone: a device is joined about as soon as it answers. It asks again only when nothing was
heard from the device meanwhile (zigpy's `last_seen` unchanged): an interview that is being
answered, only slowly (a cold start on busy cores), is left to finish, not restarted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine, Mapping, Set
from typing import Any, Protocol

from firmware.clock_waits import sleep_real
from hal.ports import Clock

__all__ = ["FIRST_S", "MAX_S", "InterviewRetry", "Interviewee"]

LOGGER = logging.getLogger(__name__)
#: Real seconds an interview may take before it is asked again; then doubling, up to MAX_S.
FIRST_S = 0.5
MAX_S = 15.0

Spawn = Callable[[Coroutine[Any, Any, None]], Any]


class _Application(Protocol):
    @property
    def devices(self) -> Mapping[Any, Any]: ...


class Interviewee(Protocol):
    """What the watch uses of a zigpy device."""

    @property
    def ieee(self) -> Any: ...

    @property
    def is_initialized(self) -> bool: ...

    @property
    def last_seen(self) -> float | None: ...

    @property
    def application(self) -> _Application: ...

    def schedule_initialize(self) -> Any: ...


class InterviewRetry:
    """Watches interviews of the rig's devices; also a zigpy listener, for failed ones."""

    def __init__(self, clock: Clock, ours: Set[str], spawn: Spawn) -> None:
        self._clock = clock
        self._ours = ours  # EUI-64 texts of the rig's devices: strangers are not chased
        self._spawn = spawn
        # Keyed by the device object, not its EUI-64: when a rejoin makes zigpy replace the
        # object, the new one is watched at once while the old watch, asleep, ends on its own.
        # (Its id: a watched device is held by its watch, so the id is not reused meanwhile.)
        self._watched: set[int] = set()

    def watch(self, device: Interviewee) -> None:
        """See that this device's interview, scheduled or about to be, gets done."""
        if str(device.ieee) in self._ours and id(device) not in self._watched:
            self._watched.add(id(device))
            self._spawn(self._watch(device))

    def device_init_failure(self, device: Interviewee) -> None:
        """zigpy listener event: an interview failed (a request was not delivered)."""
        self.watch(device)

    async def _watch(self, device: Interviewee) -> None:
        delay = FIRST_S
        heard = device.last_seen
        try:
            while True:
                await sleep_real(self._clock, delay)
                if (
                    device.is_initialized
                    or device.application.devices.get(device.ieee) is not device
                ):
                    return  # done, or the device left (or was replaced by a new join)
                if device.last_seen != heard:
                    heard = device.last_seen
                    continue  # answering, slowly: a restart would only throw that away
                LOGGER.info("interview of %s not done after %g s; asking again", device.ieee, delay)
                device.schedule_initialize()
                delay = min(delay * 2, MAX_S)
        finally:
            self._watched.discard(id(device))

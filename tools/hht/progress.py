"""Stage-by-stage progress of an HHT workflow, and the exception that stops one (20.2.5, 20.4.2.c-d).

Each stage is announced with its number, its name and the time it usually takes (so an
installer can tell a stage that is slow from one that has locked up, 20.2.5), then closed with
its outcome and the time it took. A stage that cannot go on raises `WorkflowStopped`, which
carries the cause and what the installer should do (20.4.2.d); the workflow's front end prints
both and exits with a failure.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TextIO

from protocol.errors import SmartMeterError

__all__ = ["Progress", "WorkflowStopped"]


class WorkflowStopped(SmartMeterError):
    """A workflow stopped at a stage: the cause, and what to do about it."""

    def __init__(self, stage: str, cause: str, guidance: str) -> None:
        super().__init__(f"stopped at '{stage}': {cause}\n  what to do: {guidance}")
        self.stage, self.cause, self.guidance = stage, cause, guidance


class Progress:
    def __init__(self, out: TextIO, stages: list[tuple[str, float]]) -> None:
        self._out = out
        self._stages = dict(stages)
        self._order = [name for name, _ in stages]
        self.times: dict[str, float] = {}

    def say(self, text: str) -> None:
        print(text, file=self._out, flush=True)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[None]:
        number = self._order.index(name) + 1
        self.say(
            f"[{number}/{len(self._order)}] {name} (usually about {self._stages[name]:g} s) ..."
        )
        started = time.monotonic()
        try:
            yield
        except WorkflowStopped:
            self.say(f"      FAILED after {time.monotonic() - started:.1f} s")
            raise
        self.times[name] = time.monotonic() - started
        self.say(f"      ok ({self.times[name]:.1f} s)")

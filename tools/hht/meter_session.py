"""The HHT's sessions with one meter through its probe: readout, and programming jobs."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

from hal.serial_line import SerialLine
from protocol.iec62056_21.frames import DataSet

from .optical_client import OpticalClient

__all__ = ["program", "readout"]

T = TypeVar("T")


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coroutine)


def readout(line: SerialLine) -> tuple[str, list[DataSet]]:
    """(the meter's identification, every data set of its readout)."""

    async def go() -> tuple[str, list[DataSet]]:
        async with OpticalClient(line) as hht:
            data = await hht.readout()
            assert hht.identification is not None
            return hht.identification.identification, data

    return _run(go())


def program(
    line: SerialLine,
    password: str,
    engineer: str,
    job: Callable[[OpticalClient], Coroutine[Any, Any, T]],
) -> T:
    """Log in (the proof, never the password, crosses the port), run `job`, break off."""

    async def go() -> T:
        async with OpticalClient(line) as hht:
            await hht.login(password, engineer)
            result = await job(hht)
            await hht.break_off()
            return result

    return _run(go())

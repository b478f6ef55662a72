"""The registry of EZSP commands the emulated NCP implements, and helpers the handlers share.

`@command(name)` registers a handler method under bellows' name for the command; the runner
answers any name missing here with `invalidCommand`, never with a made-up success.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import bellows.types as t

OK = t.sl_Status.OK
Params = dict[str, Any]
Result = dict[str, Any]
Handler = Callable[[Any, Params], Result]
IMPLEMENTED: dict[str, Handler] = {}


def command(name: str) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        IMPLEMENTED[name] = func
        return func

    return register


def eui(value: int) -> t.EUI64:
    return t.EUI64(value.to_bytes(8, "little"))


def int_eui(value: t.EUI64) -> int:
    return int.from_bytes(bytes(value.serialize()), "little")

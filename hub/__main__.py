"""`python -m hub --rig RIG`: the communications hub of a rig, as a process.

The hub's composition root: its board (NCP, WAN link, clock, store) comes from the rig through
`firmware.wiring.hub_board`; the hub's firmware sees only that board.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING

from firmware import process
from firmware.deferred_import import defer
from firmware.rig import Rig
from firmware.wiring import hub_board

if TYPE_CHECKING:
    from .firmware import Hub


def main(argv: Sequence[str] | None = None) -> int:
    # zigpy's OTA image providers (aiohttp, jsonschema: a fifth of the hub's imports) serve
    # zigpy's OTA, which the hub turns off (hub.han.network): they load only if something ever
    # uses them. Deferred here, by the process that starts, not by whoever imports this module;
    # the hub's firmware (which brings in zigpy) is imported after it, or it would come too late.
    defer("zigpy.ota.providers")
    from .firmware import Hub

    @contextlib.asynccontextmanager
    async def build(rig: Rig, _name: str | None) -> AsyncIterator[Hub]:
        async with hub_board(rig) as board:
            yield Hub(rig, board)

    return process.main(
        "python -m hub", "Smart metering communications hub", build, argv, named=False, tag="hub"
    )


if __name__ == "__main__":
    raise SystemExit(main())

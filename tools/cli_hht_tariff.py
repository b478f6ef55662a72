"""`smartmeter hht tariff ...`: the meter's tariff items (12.1.a-e, q, aa) through the probe.

    smartmeter hht tariff read [ITEM] (--meter NAME | --probe PATH)    every item, or one
    smartmeter hht tariff set ITEM VALUE (...)                          VALUE: JSON, or @FILE
    smartmeter hht tariff suppress|unsuppress ITEM (...)

Items: structure (12.1.a), rates (b), tiers (c), pricing (d), block_period (e), currency (q),
conversion (aa); VALUE is the item's keys of the tariff document, e.g. `'{"standing_charge":
{"amount":"0.60","period_days":1}}'`. Each runs in programming mode with the engineer's job
password (configure role, D.2.2); set and suppress need the meter's seal broken (17.2.21.a).
An engineer with the read role reads the items from the meter's readout (no password).
Replies are JSON on stdout; a refusal is one line on stderr.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocol.errors import DecodeError
from protocol.iec62056_21.frames import DataSet
from protocol.iec62056_21.json_value import decode_json_value
from tools.cli_common import UsageError, print_json
from tools.hht.optical_client import OpticalClient
from tools.hht.tariff_items import (
    ITEMS,
    check_item,
    items_of_readout,
    read_items,
    set_item,
    suppress_item,
)

__all__ = ["OPERATIONS", "add_tariff_arguments", "hht_tariff"]

OPERATIONS = ("read", "set", "suppress", "unsuppress")
#: Runs a job in a programming session of the meter the arguments name (cli_hht._program).
Program = Callable[[argparse.Namespace, Any], Any]
#: The readout of that meter when the engineer may only read (D.2.2); None for one who may
#: configure (who reads in a programming session).
ReadOnly = Callable[[argparse.Namespace], list[DataSet] | None]


def add_tariff_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("operation", choices=OPERATIONS)
    parser.add_argument("item", nargs="?", help=f"one of {', '.join(ITEMS)} (read: default all)")
    parser.add_argument("value", nargs="?", help="set: the item's JSON, or @FILE holding it")


def _value(text: str | None) -> object:
    if text is None:
        raise UsageError("set needs ITEM and VALUE (the item's JSON, or @FILE)")
    if text.startswith("@"):
        try:
            text = Path(text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot read {text[1:]}: {exc.strerror or exc}") from None
    try:  # the codec the port carries: integers and strings, nested as deep as it reads
        return decode_json_value(text, "VALUE")
    except DecodeError as exc:
        raise UsageError(str(exc)) from None


def hht_tariff(args: argparse.Namespace, program: Program, read_only: ReadOnly) -> int:
    """Check the arguments in full before the probe is touched, then run one session."""
    operation: str = args.operation
    if operation != "read" and args.item is None:
        raise UsageError(f"{operation} needs an ITEM: one of {', '.join(ITEMS)}")
    items = [check_item(args.item)] if args.item else list(ITEMS)
    if operation == "set":
        value = _value(args.value)
    elif args.value is not None:
        raise UsageError(f"{operation} takes no VALUE")

    if operation == "read":  # authorised staff read, whatever their role (12.1, D.2.2)
        data = read_only(args)
        if data is not None:
            print_json({"items": items_of_readout(data, items)})
            return 0

    async def job(hht: OpticalClient) -> dict[str, Any]:
        if operation == "read":
            return {"items": await read_items(hht, items)}
        if operation == "set":
            return {"item": items[0], **await set_item(hht, items[0], value)}
        suppressed = await suppress_item(hht, items[0], operation == "suppress")
        return {"item": items[0], **suppressed}

    print_json(program(args, job))
    return 0

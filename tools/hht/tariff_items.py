"""The HHT's side of the meter's tariff items (12.1.a-e, q, aa) on the optical port.

Each item is one object of the meter (`protocol.iec62056_21.tariff_items`: 0-0:128.3.N the item as
JSON, 0-0:128.4.N whether it is suppressed). These jobs run inside a programming session
(`meter_session.program`): the engineer's proof is already accepted, and the meter checks,
applies and logs each change as it does the head-end's. An engineer who may only read (D.2.2)
reads the items from the readout instead (`items_of_readout`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from protocol.errors import DecodeError, LocalProtocolError
from protocol.iec62056_21.frames import DataSet
from protocol.iec62056_21.json_value import (
    decode_json_value,
    encode_json_value,
    join_values,
    write_parts,
)
from protocol.iec62056_21.tariff_items import ITEM_OBIS, SUPPRESS_OBIS, TARIFF_ITEMS

from .optical_client import MeterRefused, OpticalClient

__all__ = [
    "ITEMS",
    "UnknownItem",
    "check_item",
    "items_of_readout",
    "read_items",
    "set_item",
    "suppress_item",
]

ITEMS = TARIFF_ITEMS


class UnknownItem(LocalProtocolError):
    """An item name the meter does not have."""


def check_item(item: str) -> str:
    """`item` if the meter has it; UnknownItem naming the items otherwise."""
    if item not in ITEM_OBIS:
        raise UnknownItem(f"unknown tariff item {item!r}; items: {', '.join(ITEMS)}")
    return item


def _found(item: str, text: str, flag: str) -> dict[str, Any]:
    try:
        value = decode_json_value(text, f"tariff item {item}")
    except DecodeError as exc:
        raise MeterRefused(f"the meter's {item} is not JSON: {exc}") from None
    return {"obis": ITEM_OBIS[item], "suppressed": flag == "1", "value": value}


async def read_items(hht: OpticalClient, items: list[str]) -> dict[str, Any]:
    """{item: {"obis", "suppressed", "value"}} of each item, read from the meter."""
    found: dict[str, Any] = {}
    for item in map(check_item, items):
        text = join_values(await hht.read_all(ITEM_OBIS[item]))
        found[item] = _found(item, text, (await hht.read(SUPPRESS_OBIS[item])).value)
    return found


def items_of_readout(data: Sequence[DataSet], items: list[str]) -> dict[str, Any]:
    """The same as `read_items`, from the meter's readout: what an engineer with the read role
    only (no programming session, D.2.2) may read of the tariff (12.1)."""
    found: dict[str, Any] = {}
    for item in map(check_item, items):
        parts = [d for d in data if d.address == ITEM_OBIS[item]]
        flags = [d.value for d in data if d.address == SUPPRESS_OBIS[item]]
        if not parts or not flags:
            raise MeterRefused(f"the meter's readout does not list tariff item {item}")
        found[item] = _found(item, join_values(parts), flags[0])
    return found


async def set_item(hht: OpticalClient, item: str, value: object) -> dict[str, Any]:
    """Write a new value of `item` (in parts when long), then read it back."""
    for part in write_parts(encode_json_value(value)):
        await hht.write(ITEM_OBIS[check_item(item)], part)
    found: dict[str, Any] = (await read_items(hht, [item]))[item]
    return found


async def suppress_item(hht: OpticalClient, item: str, suppressed: bool) -> dict[str, Any]:
    await hht.write(SUPPRESS_OBIS[check_item(item)], "1" if suppressed else "0")
    flag = (await hht.read(SUPPRESS_OBIS[item])).value
    return {"obis": SUPPRESS_OBIS[item], "suppressed": flag == "1"}

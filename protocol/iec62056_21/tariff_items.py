"""The OBIS names of a meter's tariff items (12.1.a-e, q, aa) on the optical port.

Both ends use this table: the meter's objects (`devices.meter.optical_tariff`) and the HHT
(`tools.hht.tariff_items`). Each item is one object holding it as JSON (0-0:128.3.N, R1/W1) and
one holding whether it is suppressed (0-0:128.4.N, "1" or "0"), N in the order below, which is
the order of the meter's items (`devices.meter.tariff_commands.ITEMS`).
"""

from __future__ import annotations

__all__ = ["ITEM_OBIS", "SUPPRESS_OBIS", "TARIFF_ITEMS"]

#: Structure (12.1.a), rates (b), tiers (c), pricing (d), block period (e), the currency
#: conversion (q) and the gas conversion (aa).
TARIFF_ITEMS = ("structure", "rates", "tiers", "pricing", "block_period", "currency", "conversion")
#: The OBIS name of each tariff item, and of its suppression flag.
ITEM_OBIS = {item: f"0-0:128.3.{i}" for i, item in enumerate(TARIFF_ITEMS, start=1)}
SUPPRESS_OBIS = {item: f"0-0:128.4.{i}" for i, item in enumerate(TARIFF_ITEMS, start=1)}

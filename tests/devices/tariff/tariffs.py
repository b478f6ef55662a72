"""Tariff documents and a driver for the engine tests: small builders, not fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.meter.tariff import TariffEngine, TariffEvent
from protocol.tariff import CppEvent, Tariff, decode_cpp_event, decode_tariff

LONDON = ZoneInfo("Europe/London")
JAN_1 = datetime(2026, 1, 1, tzinfo=UTC)


def document(structure: str, body: dict[str, Any], **top: Any) -> dict[str, Any]:
    """A tariff document effective from 2026-01-01 00:00 UTC (a Thursday, GMT)."""
    doc: dict[str, Any] = {
        "tariff": 1,
        "name": "Test tariff",
        "fuel": "electricity",
        "effective_from": "2026-01-01T00:00:00+00:00",
        structure: body,
    }
    doc.update(top)
    return doc


def single(price: str = "0.25", **top: Any) -> Tariff:
    return decode_tariff(document("single", {"import_price": price}, **top))


def tou(switches: list[tuple[str, int]], prices: dict[int, str], **top: Any) -> Tariff:
    """A 48x1 tariff: switches as (HH:MM, register), every day; one price per register."""
    body = {
        "registers": [
            {"register": r, "label": f"Register {r}", "import_price": p} for r, p in prices.items()
        ],
        "switches": [{"start": hhmm, "register": r} for hhmm, r in switches],
    }
    return decode_tariff(document("tou", body, **top))


def cpp(
    event_id: int,
    start: datetime,
    end: datetime,
    threshold_wh: int,
    prices: tuple[str, str],
    **more: Any,
) -> CppEvent:
    doc: dict[str, Any] = {
        "cpp": 1,
        "id": event_id,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "threshold_wh": threshold_wh,
        "prices": list(prices),
        "refusable": False,
    }
    doc.update(more)
    return decode_cpp_event(doc, received=start)


def engine_with(tariff: Tariff) -> TariffEngine:
    engine = TariffEngine(LONDON)
    engine.set_passive(tariff)
    return engine


def steps(start: datetime, end: datetime, step: timedelta) -> Iterator[tuple[datetime, datetime]]:
    at = start
    while at < end:
        yield at, min(at + step, end)
        at += step


def run_flat(
    engine: TariffEngine, start: datetime, end: datetime, step: timedelta, wh: int
) -> list[TariffEvent]:
    """Consume `wh` per step from start to end; every event in order."""
    events: list[TariffEvent] = []
    for a, b in steps(start, end, step):
        events += engine.consume(a, b, wh)
    return events

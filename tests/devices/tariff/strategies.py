"""Hypothesis strategies of tariff documents and CPP events, valid by construction."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import strategies as st

from protocol.tariff import CppEvent, Tariff, decode_cpp_event, decode_tariff

WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]

prices = st.integers(-(10**6), 10**6).map(lambda v: _price(v))
export_prices = st.integers(-(10**6), 0).map(lambda v: _price(v))


def _price(value: int) -> str:
    sign = "-" if value < 0 else ""
    whole, part = divmod(abs(value), 10**6)
    return f"{sign}{whole}.{part:06d}"


@st.composite
def switches(draw: st.DrawFn, numbers: list[int], key: str) -> list[dict[str, Any]]:
    entries = []
    for _ in range(draw(st.integers(1, 8))):
        minute = draw(st.integers(0, 1439))
        entry: dict[str, Any] = {
            "start": f"{minute // 60:02d}:{minute % 60:02d}",
            key: draw(st.sampled_from(numbers)),
        }
        days = draw(st.sets(st.sampled_from(WEEKDAYS), min_size=1))
        if len(days) < 7:
            entry["days"] = sorted(days, key=WEEKDAYS.index)
        entries.append(entry)
    return entries


@st.composite
def thresholds(draw: st.DrawFn, count: int) -> list[int]:
    values = sorted(draw(st.sets(st.integers(1, 20_000), min_size=count, max_size=count)))
    return values


@st.composite
def structures(draw: st.DrawFn) -> tuple[str, dict[str, Any]]:
    kind = draw(st.sampled_from(["single", "tou", "matrix", "block"]))
    if kind == "single":
        return kind, {"import_price": draw(prices), "export_price": draw(export_prices)}
    if kind == "tou":
        numbers = sorted(draw(st.sets(st.integers(1, 48), min_size=1, max_size=5)))
        registers = [
            {
                "register": n,
                "label": f"R{n}",
                "import_price": draw(prices),
                "export_price": draw(export_prices),
            }
            for n in numbers
        ]
        return kind, {"registers": registers, "switches": draw(switches(numbers, "register"))}
    if kind == "matrix":
        numbers = sorted(draw(st.sets(st.integers(1, 8), min_size=1, max_size=4)))
        rates = []
        for n in numbers:
            tiers = draw(st.integers(1, 4))
            limits = draw(thresholds(tiers - 1))
            rates.append(
                {
                    "rate": n,
                    "label": f"Rate {n}",
                    "export_price": draw(export_prices),
                    "threshold_rates": sorted(draw(st.sets(st.sampled_from(numbers), min_size=1))),
                    "tiers": [
                        {"label": f"T{t + 1}", "import_price": draw(prices)}
                        | ({"up_to_wh": limits[t]} if t < len(limits) else {})
                        for t in range(tiers)
                    ],
                }
            )
        period = draw(st.sampled_from(["daily", "weekly", "monthly", "billing"]))
        return kind, {
            "threshold_period": period,
            "rates": rates,
            "switches": draw(switches(numbers, "rate")),
        }
    count = draw(st.integers(1, 4))
    limits = draw(thresholds(count - 1))
    blocks = [
        {"label": f"B{b + 1}", "import_price": draw(prices)}
        | ({"up_to_wh": limits[b]} if b < len(limits) else {})
        for b in range(count)
    ]
    return kind, {
        "period_days": draw(st.integers(1, 3)),
        "blocks": blocks,
        "export_price": draw(export_prices),
    }


@st.composite
def tariffs(draw: st.DrawFn, start: datetime) -> Tariff:
    kind, body = draw(structures())
    offset = draw(st.integers(-3 * 24 * 60, 12 * 60))
    doc: dict[str, Any] = {
        "tariff": 1,
        "name": "random",
        "fuel": "electricity",
        "effective_from": (start + timedelta(minutes=offset)).isoformat(),
        kind: body,
        "billing": {
            "period": draw(st.sampled_from(["monthly", "quarterly"])),
            "day": draw(st.integers(1, 28)),
        },
        "generation_discount": draw(export_prices),
    }
    if draw(st.booleans()):
        doc["standing_charge"] = {
            "amount": _price(draw(st.integers(0, 10**6))),
            "period_days": draw(st.integers(1, 3)),
        }
    return decode_tariff(doc)


@st.composite
def cpp_events(draw: st.DrawFn, start: datetime) -> list[CppEvent]:
    events = []
    for number in range(draw(st.integers(0, 2))):
        begin = start + timedelta(minutes=draw(st.integers(0, 36 * 60)))
        doc: dict[str, Any] = {
            "cpp": 1,
            "id": number + 1,
            "start": begin.isoformat(),
            "end": (begin + timedelta(minutes=draw(st.integers(1, 600)))).isoformat(),
            "threshold_wh": draw(st.integers(0, 3_000)),
            "prices": [draw(prices), draw(prices)],
            "refusable": False,
        }
        if draw(st.booleans()):
            doc["recurrence"] = {"every_days": 1, "count": draw(st.integers(2, 3))}
        events.append(decode_cpp_event(doc, begin))
    return events

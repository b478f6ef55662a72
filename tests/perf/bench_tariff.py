"""Benchmark (not a test): half-hour intervals per second through the meters' tariff engine.

    .venv/bin/python -m tests.perf.bench_tariff [--days 365]

One meter, a year of half-hours (17,520 intervals), with a full 8x8 tariff (8 rates of 8 tiers,
50 switch entries, a daily tier threshold over two rates) and a recurring CPP event every day;
then a 48x1 tariff with 1 to 200 switch entries, to show how the time grows with them. Goal
(issue 9): a year in under 0.2 s on one core. Times are CPU seconds of this process, the best of
`--repeat` runs, so other work on a shared machine disturbs them little. Prints figures; asserts
nothing about speed.
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.meter.tariff import TariffEngine
from protocol.tariff import CppEvent, Tariff, decode_cpp_event, decode_tariff

START = datetime(2026, 1, 1, tzinfo=UTC)
HALF_HOUR = timedelta(minutes=30)
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
LONDON = ZoneInfo("Europe/London")


def _switches(count: int, registers: int, key: str) -> list[dict[str, Any]]:
    """`count` entries spread over the day and the week, cycling through the registers."""
    entries = []
    for n in range(count):
        minute = (n * 1439 * 7 // max(count, 1)) % 1440
        entry = {"start": f"{minute // 60:02d}:{minute % 60:02d}", key: n % registers + 1}
        if n % 3:
            entry["days"] = [DAYS[n % 7], DAYS[(n + 2) % 7]]
        entries.append(entry)
    entries[0] = {"start": "00:00", key: 1}
    return entries


def matrix_tariff() -> Tariff:
    rates = [
        {
            "rate": r,
            "label": f"Rate {r}",
            "export_price": "-0.05",
            "threshold_rates": [r, r % 8 + 1],
            "tiers": [
                {"label": f"Tier {t}", "import_price": f"0.{10 + r + t}"}
                | ({"up_to_wh": 400 * t} if t < 8 else {})
                for t in range(1, 9)
            ],
        }
        for r in range(1, 9)
    ]
    return decode_tariff(
        {
            "tariff": 1,
            "name": "8x8 bench",
            "fuel": "electricity",
            "effective_from": START.isoformat(),
            "standing_charge": {"amount": "0.45"},
            "matrix": {
                "threshold_period": "daily",
                "rates": rates,
                "switches": _switches(50, 8, "rate"),
            },
        }
    )


def tou_tariff(switches: int) -> Tariff:
    registers = [
        {"register": r, "label": f"R{r}", "import_price": f"0.{10 + r}"} for r in range(1, 49)
    ]
    return decode_tariff(
        {
            "tariff": 1,
            "name": "48x1 bench",
            "fuel": "electricity",
            "effective_from": START.isoformat(),
            "tou": {"registers": registers, "switches": _switches(switches, 48, "register")},
        }
    )


def daily_cpp(days: int) -> CppEvent:
    start = START + timedelta(hours=17)
    return decode_cpp_event(
        {
            "cpp": 1,
            "id": 1,
            "start": start.isoformat(),
            "end": (start + timedelta(hours=2)).isoformat(),
            "recurrence": {"every_days": 1, "count": days},
            "threshold_wh": 500,
            "prices": ["0.60", "0.90"],
            "refusable": False,
        },
        start,
    )


def run(tariff: Tariff, cpp: CppEvent | None, days: int, repeat: int) -> tuple[float, int]:
    """Best CPU time of `repeat` runs over `days` of half-hours, and the number of intervals."""
    intervals = [
        (START + k * HALF_HOUR, START + (k + 1) * HALF_HOUR, 150 + (k * 37) % 400)
        for k in range(days * 48)
    ]
    best = float("inf")
    for _ in range(repeat):
        engine = TariffEngine(LONDON)
        engine.set_passive(tariff)
        if cpp is not None:
            engine.add_cpp_event(cpp)
        started = time.process_time()
        for a, b, wh in intervals:
            engine.consume(a, b, wh, 10)
        best = min(best, time.process_time() - started)
    return best, len(intervals)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    days, repeat = args.days, args.repeat
    elapsed, count = run(matrix_tariff(), daily_cpp(days), days, repeat)
    print(
        f"tariff engine, 8x8 (50 switches) + daily CPP: {count} half-hours in {elapsed:.3f} s CPU, "
        f"{count / elapsed:,.0f} intervals/s (goal: 17,520 in < 0.2 s)"
    )
    engine = TariffEngine(LONDON)
    engine.set_passive(matrix_tariff())
    engine.add_cpp_event(daily_cpp(days))
    for k in range(48 * 31):
        engine.consume(START + k * HALF_HOUR, START + (k + 1) * HALF_HOUR, 200)
    for name, call in (("snapshot()", engine.snapshot), ("registers()", engine.registers)):
        started = time.process_time()
        for _ in range(1000):
            call()
        print(
            f"tariff engine, 8x8 after a month: {name} {time.process_time() - started:.3f} ms each"
        )
    for switches in (1, 10, 50, 100, 200):
        elapsed, count = run(tou_tariff(switches), None, days, repeat)
        print(
            f"tariff engine, 48x1 with {switches:3d} switch entries: {count} half-hours in "
            f"{elapsed:.3f} s CPU, {count / elapsed:,.0f} intervals/s"
        )


if __name__ == "__main__":
    main()

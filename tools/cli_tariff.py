"""`smartmeter tariff simulate`: run the meters' own tariff engine over a load profile.

    smartmeter tariff simulate --tariff FILE [--tariff FILE ...] --profile FILE
                               [--cpp FILE ...] [--tz ZONE]

For checking a tariff before sending it to a rig: the tariff file is the tariff document
(README "Tariffs"); several are applied in the order of their effective-from times, each
becoming the passive tariff once the one before it is active. The profile is a CSV of
cumulative register readings:

    timestamp,import_wh[,export_wh]
    2026-01-15T00:00:00+00:00,0,0
    2026-01-15T00:30:00+00:00,180,0

Each timestamp is ISO 8601 with a UTC offset, each reading the meter's cumulative register in
Wh; the energy of an interval is the difference of two consecutive rows, spread evenly over it.
Blank lines and lines starting with '#' are skipped. The result is one JSON document: the
registers and costs, and the logged events. A bad file is a one-line error and exit status 1.
"""

from __future__ import annotations

import argparse
import csv
import itertools
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from devices.meter.tariff import Registers, TariffEngine, TariffEvent
from protocol.errors import DecodeError, LocalProtocolError
from protocol.json_fields import shown
from protocol.tariff import CppEvent, Tariff, cpp_event_from_json, tariff_from_json
from tools.cli_common import UsageError, print_json

MAX_FILE_BYTES = 1 << 20  # a tariff document is a few KB
MAX_PROFILE_BYTES = 64 << 20  # a year of minutes is about 25 MB
_US = timedelta(microseconds=1)


@dataclass(frozen=True)
class Reading:
    at: datetime
    import_wh: int
    export_wh: int


def add_parsers(commands: Any) -> None:
    """Register `tariff` on the top-level subparsers."""
    tariff = commands.add_parser("tariff", help="check a tariff file with the meters' engine")
    actions = tariff.add_subparsers(dest="action", required=True, metavar="ACTION")
    simulate = actions.add_parser(
        "simulate",
        help="bill a load profile by a tariff and print the registers and costs as JSON",
        description="Run the meters' tariff engine over a CSV of cumulative readings "
        "(timestamp,import_wh[,export_wh]) and print the registers, costs and events as JSON.",
    )
    simulate.add_argument(
        "--tariff",
        required=True,
        action="append",
        type=Path,
        metavar="FILE",
        help="tariff document (JSON); repeat to switch tariffs at their effective-from times",
    )
    simulate.add_argument(
        "--profile",
        required=True,
        type=Path,
        metavar="FILE",
        help="CSV of cumulative readings: timestamp,import_wh[,export_wh]",
    )
    simulate.add_argument(
        "--cpp",
        action="append",
        default=[],
        type=Path,
        metavar="FILE",
        help="critical peak pricing event document (JSON); repeatable",
    )
    simulate.add_argument(
        "--tz",
        default="Europe/London",
        metavar="ZONE",
        help="local time zone of the switch times (default Europe/London)",
    )
    simulate.set_defaults(handler=simulate_command)


def _read(path: Path, limit: int) -> bytes:
    with path.open("rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise UsageError(f"{path}: larger than {limit} bytes")
    return data


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(f"--tz: unknown time zone {name!r}") from None


def read_profile(path: Path) -> list[Reading]:
    """The readings of a profile CSV, in strictly increasing time and never decreasing."""
    text = _read(path, MAX_PROFILE_BYTES).decode("utf-8", errors="replace")
    rows = [
        (number, row)
        for number, row in enumerate(csv.reader(text.splitlines()), start=1)
        if row and not row[0].lstrip().startswith("#")
    ]
    if not rows or [c.strip() for c in rows[0][1]] not in (
        ["timestamp", "import_wh"],
        ["timestamp", "import_wh", "export_wh"],
    ):
        raise DecodeError(
            f"profile {path}",
            "a header timestamp,import_wh[,export_wh]",
            shown(rows[0][1] if rows else ""),
        )
    width = len(rows[0][1])
    readings: list[Reading] = []
    for number, row in rows[1:]:
        what = f"profile {path} line {number}"
        if len(row) != width:
            raise DecodeError(what, f"{width} columns", shown(row))
        try:
            at = datetime.fromisoformat(row[0].strip())
            values = [int(cell.strip()) for cell in row[1:]]
        except ValueError:
            raise DecodeError(what, "an ISO 8601 time and whole Wh readings", shown(row)) from None
        if at.utcoffset() is None:
            raise DecodeError(what, "a timestamp with a UTC offset", shown(row[0]))
        reading = Reading(at, values[0], values[1] if width == 3 else 0)
        if min(values) < 0:
            raise DecodeError(what, "readings of zero or more", shown(row))
        if readings:
            last = readings[-1]
            if reading.at <= last.at:
                raise DecodeError(what, f"a time after {last.at.isoformat()}", shown(row[0]))
            if reading.import_wh < last.import_wh or reading.export_wh < last.export_wh:
                raise DecodeError(what, "cumulative readings that never decrease", shown(row))
        readings.append(reading)
    if len(readings) < 2:
        raise DecodeError(f"profile {path}", "at least two readings", f"{len(readings)}")
    return readings


def simulate(
    tariffs: list[Tariff], readings: list[Reading], events: list[CppEvent], engine: TariffEngine
) -> list[TariffEvent]:
    """Consume the profile. The engine holds one passive tariff, so the next one is set once
    the one before is active, cutting an interval at its effective-from instant if need be
    (apportioned by time as the engine does)."""
    pending = sorted(tariffs, key=lambda t: t.effective_from)
    engine.set_passive(pending.pop(0))
    for event in events:
        engine.add_cpp_event(event)
    logged: list[TariffEvent] = []
    for before, after in itertools.pairwise(readings):
        imp = after.import_wh - before.import_wh
        exp = after.export_wh - before.export_wh
        cuts = sorted(
            {t.effective_from for t in pending if before.at < t.effective_from < after.at}
        )
        span = (after.at - before.at) // _US
        done_imp = done_exp = 0
        for start, end in itertools.pairwise([before.at, *cuts, after.at]):
            if pending and engine.passive is None:
                engine.set_passive(pending.pop(0))
            elapsed = (end - before.at) // _US
            part_imp, part_exp = imp * elapsed // span, exp * elapsed // span
            logged += engine.consume(start, end, part_imp - done_imp, part_exp - done_exp)
            done_imp, done_exp = part_imp, part_exp
        if pending and engine.passive is None:
            engine.set_passive(pending.pop(0))
    return logged


def summary(regs: Registers) -> dict[str, Any]:
    """The registers as JSON, leaving out registers, cells and blocks never used."""
    doc = regs.document()
    used = [
        i for i in range(48) if regs.tou_labels[i] or regs.tou_import_wh[i] or regs.tou_export_wh[i]
    ]
    doc["tou"] = [
        {
            "register": i + 1,
            "label": regs.tou_labels[i],
            "import_wh": regs.tou_import_wh[i],
            "import_cost": str(regs.tou_import_cost[i]),
            "export_wh": regs.tou_export_wh[i],
            "export_cost": str(regs.tou_export_cost[i]),
        }
        for i in used
    ]
    doc["matrix"] = [
        {
            "rate": r + 1,
            "tier": t + 1,
            "wh": regs.matrix_wh[r][t],
            "cost": str(regs.matrix_cost[r][t]),
            "unit_price": str(regs.matrix_price[r][t]),
        }
        for r in range(8)
        for t in range(8)
        if regs.matrix_wh[r][t] or regs.matrix_price[r][t] is not None
    ]
    doc["blocks"] = [
        {"block": b + 1, "wh": regs.block_wh[b], "cost": str(regs.block_cost[b])}
        for b in range(8)
        if regs.block_wh[b]
    ]
    for key in (
        "tou_import_wh",
        "tou_export_wh",
        "tou_import_cost",
        "tou_export_cost",
        "tou_labels",
        "matrix_wh",
        "matrix_cost",
        "matrix_price",
        "block_wh",
        "block_cost",
    ):
        del doc[key]
    return doc


def simulate_command(args: argparse.Namespace) -> int:
    zone = _zone(args.tz)
    tariffs = [tariff_from_json(_read(p, MAX_FILE_BYTES), f"tariff {p}") for p in args.tariff]
    readings = read_profile(args.profile)
    events = [
        cpp_event_from_json(_read(p, MAX_FILE_BYTES), readings[0].at, f"cpp event {p}")
        for p in args.cpp
    ]
    engine = TariffEngine(zone)
    try:
        logged = simulate(tariffs, readings, events, engine)
    except LocalProtocolError as exc:  # e.g. a second tariff in another currency
        raise UsageError(str(exc)) from None
    price = engine.price_at(readings[-1].at)
    print_json(
        {
            "tariff": engine.active.name if engine.active is not None else None,
            "from": readings[0].at.isoformat(),
            "to": readings[-1].at.isoformat(),
            "intervals": len(readings) - 1,
            "registers": summary(engine.registers()),
            "price_at_end": None if price is None else price.document(),
            "events": [
                {"at": e.at.isoformat(), "code": int(e.code), "title": e.code.title, **e.detail}
                for e in logged
                if e.code is not None
            ],
            "price_changes": dict(Counter(e.kind.value for e in logged if e.code is None)),
        }
    )
    return 0

"""Interval data (the load profile) in the meter's non-volatile store (16.15, 12.4).

The meter closes one interval every `period_min` minutes of UTC (30 by default; 1, 5, 10, 15
or 30 may be configured, so never longer than the 30 minutes the clauses ask), recording the
energy (Wh, or litres for gas) and the cost (Money, 1e-9 currency units) consumed in it. The
open interval's start and what it has gathered so far are kept with the registers, in the same
transaction (`MeterFirmware.persist`), so a restart neither loses nor counts twice what an
interval holds. The store keeps `CAPACITY` intervals, 400 days of half hours, overwriting the
oldest once full; the head-end reads them back by time range (`read_profile`, 16.15).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from hal.ports import NonVolatileStore, Tx, require_utc

__all__ = ["CAPACITY", "PERIODS_MIN", "Interval", "ProfileStore"]

#: Intervals kept: 400 days of half-hour intervals (19,200 rows of a few dozen octets each).
CAPACITY = 400 * 48
#: Interval periods a meter may be configured to, in minutes (at most 30: 16.15, 12.4).
PERIODS_MIN = (1, 5, 10, 15, 30)
#: Most intervals one read returns (a day and a half of half hours fits one WAN answer).
MAX_READ = 96

SCHEMA_COMPONENT = "meter_profile"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meter_profile (
    start_s INTEGER PRIMARY KEY,
    period_min INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    cost INTEGER NOT NULL
);
"""
_NAMESPACE = "meter_profile"


@dataclass(frozen=True, slots=True)
class Interval:
    """One closed interval: its UTC start, length, quantity (Wh or l) and cost (1e-9 units)."""

    start: datetime
    period_min: int
    quantity: int
    cost: int

    def to_json(self) -> dict[str, object]:
        return {
            "start": self.start.isoformat(),
            "minutes": self.period_min,
            "quantity": self.quantity,
            "cost_nano": self.cost,
        }


class ProfileStore:
    """The profile table and the open interval."""

    def __init__(self, store: NonVolatileStore, period_min: int = 30) -> None:
        if period_min not in PERIODS_MIN:
            raise ValueError(f"a profile period is one of {PERIODS_MIN} minutes")
        self._store = store
        self.period_min = period_min
        store.ensure_schema(SCHEMA_COMPONENT, SCHEMA_VERSION, SCHEMA)
        saved = store.get(_NAMESPACE, "open")
        self.open_start: datetime | None = None
        self.open_quantity = 0
        self.open_cost = 0
        self._closed: list[Interval] = []
        if isinstance(saved, dict):
            self.open_start = datetime.fromtimestamp(int(saved["start_s"]), UTC)
            self.open_quantity = int(saved["quantity"])
            self.open_cost = int(saved["cost"])

    def _start_of(self, when: datetime) -> datetime:
        seconds = int(require_utc(when).timestamp())
        step = self.period_min * 60
        return datetime.fromtimestamp(seconds - seconds % step, UTC)

    def add(self, when: datetime, quantity: int, cost: int) -> None:
        """Count `quantity` and `cost` consumed up to `when`; close the open interval first if
        `when` is past its end. Nothing is written until `save`, with the registers."""
        start = self._start_of(when)
        if self.open_start is not None and start > self.open_start:
            self._closed.append(
                Interval(self.open_start, self.period_min, self.open_quantity, self.open_cost)
            )
        if self.open_start is None or start > self.open_start:
            self.open_start, self.open_quantity, self.open_cost = start, 0, 0
        self.open_quantity += quantity
        self.open_cost += cost

    def save(self, tx: Tx) -> None:
        """Write the intervals closed since the last save and the open one (in the registers'
        transaction), keeping at most `CAPACITY`."""
        for interval in self._closed:
            tx.execute(
                "INSERT OR REPLACE INTO meter_profile (start_s, period_min, quantity, cost) "
                "VALUES (?, ?, ?, ?)",
                (
                    int(interval.start.timestamp()),
                    interval.period_min,
                    interval.quantity,
                    interval.cost,
                ),
            )
        if self._closed:
            tx.execute(
                "DELETE FROM meter_profile WHERE start_s <= (SELECT start_s FROM meter_profile "
                "ORDER BY start_s DESC LIMIT 1 OFFSET ?)",
                (CAPACITY,),
            )
        self._closed = []
        if self.open_start is None:
            return
        self._store.put(
            _NAMESPACE,
            "open",
            {
                "start_s": int(self.open_start.timestamp()),
                "quantity": self.open_quantity,
                "cost": self.open_cost,
            },
            tx=tx,
        )

    def read(self, start: datetime, end: datetime, limit: int = MAX_READ) -> list[Interval]:
        """Closed intervals that start in [start, end), oldest first, at most `limit`."""
        with self._store.transaction() as tx:
            rows = tx.execute(
                "SELECT start_s, period_min, quantity, cost FROM meter_profile "
                "WHERE start_s >= ? AND start_s < ? ORDER BY start_s LIMIT ?",
                (int(require_utc(start).timestamp()), int(require_utc(end).timestamp()), limit),
            ).fetchall()
        return [
            Interval(datetime.fromtimestamp(int(r[0]), UTC), int(r[1]), int(r[2]), int(r[3]))
            for r in rows
        ]

    def count(self) -> int:
        with self._store.transaction() as tx:
            return int(tx.execute("SELECT COUNT(*) FROM meter_profile").fetchone()[0])

"""Cumulative registers in non-volatile memory (DESIGN.md §6; clause 18.2's store).

One row per register holds its whole units and the integrator's remainder, written together in
one SQLite transaction, so a restart resumes from exactly the state of the last save: nothing
is counted twice. The meter saves whenever the register's visible value moves, so a crash (a
kill -9, a power cut without the last-gasp capacitor we do not emulate) loses at most the
fraction of a unit not yet shown, and never a value anyone has seen; the remainder is saved at
least every `PERSIST_INTERVAL_S` of clock time and at a clean stop. The time a meter is off is
not integrated at all: an unpowered meter measures nothing.
"""

from __future__ import annotations

from datetime import datetime

from hal.ports import NonVolatileStore, Tx, require_utc

from .integrator import EnergyIntegrator

__all__ = ["PERSIST_INTERVAL_S", "RegisterStore"]

#: Longest stretch of clock time between two saves of the register's sub-unit remainder.
PERSIST_INTERVAL_S = 10.0

SCHEMA_COMPONENT = "meter_registers"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meter_register (
    name TEXT PRIMARY KEY,
    units INTEGER NOT NULL CHECK (units >= 0),
    remainder INTEGER NOT NULL CHECK (remainder >= 0),
    saved_utc TEXT NOT NULL
);
"""


class RegisterStore:
    """Load and save `EnergyIntegrator` registers by name."""

    def __init__(self, store: NonVolatileStore) -> None:
        self._store = store
        store.ensure_schema(SCHEMA_COMPONENT, SCHEMA_VERSION, SCHEMA)

    def load(self, name: str) -> EnergyIntegrator:
        """The register as last saved; a fresh (zero) register if it was never saved."""
        with self._store.transaction() as tx:
            row = tx.execute(
                "SELECT units, remainder FROM meter_register WHERE name = ?", (name,)
            ).fetchone()
        if row is None:
            return EnergyIntegrator()
        return EnergyIntegrator(int(row[0]), int(row[1]))

    def save(self, name: str, register: EnergyIntegrator, now: datetime, tx: Tx) -> None:
        """Write the register inside `tx` (units and remainder commit together)."""
        tx.execute(
            "INSERT INTO meter_register (name, units, remainder, saved_utc) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET units = excluded.units, "
            "remainder = excluded.remainder, saved_utc = excluded.saved_utc",
            (name, register.units, register.remainder, require_utc(now).isoformat()),
        )

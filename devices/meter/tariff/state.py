"""The engine's persistent state: integers, strings and lists of them, saved as one JSON value.

The firmware saves `snapshot()` in the same SQLite transaction as the meter's register, so a
meter killed at any instant restarts with its tariff registers exactly where its energy register
is. Money is held in billionths of a currency unit (`Money.value`), energy in Wh, instants in
microseconds since the epoch (`calendar.to_us`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from protocol.errors import DecodeError
from protocol.json_fields import shown

__all__ = ["STATE_VERSION", "EngineState"]

STATE_VERSION = 1
REGISTERS = 48
CELLS = 64  # 8 rates x 8 tiers, rate-major
BLOCKS = 8


def _zeros(n: int) -> list[int]:
    return [0] * n


@dataclass
class EngineState:
    """Everything the engine must remember across a restart."""

    version: int = STATE_VERSION
    active: dict[str, Any] | None = None
    """Tariff document of the active tariff (converted after a currency switch)."""
    passive: dict[str, Any] | None = None
    cpp_events: list[dict[str, Any]] = field(default_factory=list)
    cpp_rejected: list[int] = field(default_factory=list)
    cpp_accepted: list[int] = field(default_factory=list)
    currency: str = "GBP"
    cursor_us: int | None = None
    """End of the last interval consumed: the engine's now."""
    day_ordinal: int | None = None
    """Local date (proleptic ordinal) the engine is in."""
    bill_start_ordinal: int | None = None
    threshold_key: int | None = None
    block_key: int | None = None
    import_wh: int = 0
    export_wh: int = 0
    net_export_wh: int = 0
    generation_wh: int = 0
    tou_import_wh: list[int] = field(default_factory=lambda: _zeros(REGISTERS))
    tou_export_wh: list[int] = field(default_factory=lambda: _zeros(REGISTERS))
    tou_import_cost: list[int] = field(default_factory=lambda: _zeros(REGISTERS))
    tou_export_cost: list[int] = field(default_factory=lambda: _zeros(REGISTERS))
    tou_labels: list[str] = field(default_factory=lambda: [""] * REGISTERS)
    matrix_wh: list[int] = field(default_factory=lambda: _zeros(CELLS))
    matrix_cost: list[int] = field(default_factory=lambda: _zeros(CELLS))
    block_wh: list[int] = field(default_factory=lambda: _zeros(BLOCKS))
    block_cost: list[int] = field(default_factory=lambda: _zeros(BLOCKS))
    threshold_wh: list[int] = field(default_factory=lambda: _zeros(8))
    """Consumption of each rate in the current tier threshold period (16.13.1.e)."""
    block_period_wh: int = 0
    cpp_records: list[list[int]] = field(default_factory=list)
    """[event id, occurrence, start us, tier 1 Wh, tier 2 Wh, cost] per CPP occurrence."""
    import_cost: int = 0
    export_cost: int = 0
    generation_discount: int = 0
    standing_charge: int = 0
    cost_today: int = 0
    cost_since_bill: int = 0
    last_bill_cost: int = 0

    def to_dict(self) -> dict[str, Any]:
        """The fields by name, sharing their values: copy before handing it out."""
        return {name: getattr(self, name) for name in _NAMES}

    @classmethod
    def from_dict(cls, data: object) -> EngineState:
        """Restore a snapshot; anything but one this version wrote is a DecodeError."""
        if not isinstance(data, dict) or data.get("version") != STATE_VERSION:
            raise DecodeError("tariff engine snapshot", f"version {STATE_VERSION}", shown(data))
        names = set(_NAMES)
        if set(data) != names:
            raise DecodeError(
                "tariff engine snapshot", f"keys {sorted(names)}", shown(sorted(data))
            )
        state = cls(**data)
        for name in ("tou_import_wh", "tou_export_wh", "tou_import_cost", "tou_export_cost"):
            _check_ints(name, getattr(state, name), REGISTERS)
        for name in ("matrix_wh", "matrix_cost"):
            _check_ints(name, getattr(state, name), CELLS)
        for name in ("block_wh", "block_cost"):
            _check_ints(name, getattr(state, name), BLOCKS)
        _check_ints("threshold_wh", state.threshold_wh, 8)
        return state


def _check_ints(name: str, value: object, length: int) -> None:
    if (
        not isinstance(value, list)
        or len(value) != length
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        raise DecodeError("tariff engine snapshot", f"{name} a list of {length} ints", shown(value))


_NAMES = tuple(f.name for f in fields(EngineState))

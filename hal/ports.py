"""The simple HAL ports: what firmware in devices/ and hub/ may ask of the hardware.

One small `typing.Protocol` per port, plus the plain data the ports exchange. Backends live in
`hal/emulated/` and `hal/real/`; firmware is written against these protocols only, so the same code
runs on a test rig, on a Raspberry Pi with real hardware and in unit tests (DESIGN.md §1, §7).
The radio, optical and WAN ports are defined elsewhere.

Time is kept in UTC and shown in UK local time (DESIGN.md §6; clauses 15.1, 15.5, 15.6.a):
`uk_local` is the one place that converts for display.
"""

from __future__ import annotations

import enum
import sqlite3
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from protocol.errors import SmartMeterError

UK_ZONE = ZoneInfo("Europe/London")

#: An open store transaction. Both store backends are SQLite, so this is a real cursor: firmware
#: may run its own SQL on it and pass it on so that related writes commit together.
Tx = sqlite3.Cursor


class PortError(SmartMeterError):
    """A port was asked for something its (emulated) hardware cannot do, e.g. a bench load above
    the meter's rating or a button the device does not have."""


def uk_local(dt: datetime) -> datetime:
    """UK civil time (GMT in winter, BST in summer) for an aware datetime (clause 15.6.a).

    For display only: keep and compare times in UTC. An hour repeated at the October change is
    told apart by `fold`, and PEP 495 makes such a time compare unequal to any other zone's.
    """
    if dt.tzinfo is None:
        raise ValueError("uk_local needs an aware datetime; the clocks only hand out UTC")
    return dt.astimezone(UK_ZONE)


def require_utc(dt: datetime) -> datetime:
    """Return `dt` as an aware UTC datetime; naive datetimes are refused, not guessed at."""
    if dt.tzinfo is None:
        raise ValueError("naive datetime: every time in this system is timezone-aware")
    return dt.astimezone(UTC)


# --- real-time clock ---------------------------------------------------------------------------


@runtime_checkable
class Clock(Protocol):
    """Real-time clock, the only source of time for firmware (clauses 15.1-15.6).

    `now()` is GMT/UTC (clause 15.5). `monotonic()` counts emulated seconds for timeouts and
    intervals and is unaffected by `adjust`, so a head-end clock set never stretches a timer.
    """

    @property
    def scale(self) -> float:
        """Emulated seconds per real second (1 on real hardware)."""
        ...

    def now(self) -> datetime:
        """Current date-time, timezone-aware UTC."""
        ...

    def monotonic(self) -> float:
        """Emulated seconds from an arbitrary origin; never goes back."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait `seconds` of emulated time."""
        ...

    def adjust(self, new_now: datetime) -> timedelta:
        """Set the RTC to `new_now` (aware); return the step applied (new minus old)."""
        ...


# --- non-volatile memory -----------------------------------------------------------------------


class NonVolatileStore(Protocol):
    """Non-volatile memory of one component: registers, logs, configuration, keys (DESIGN.md §6).

    Every write happens inside a transaction that commits atomically, so a component killed at any
    instant restarts from its last commit. `get`/`put` are a small JSON key-value layer that can
    join a transaction the caller already holds (`tx=`). Do not `await` while a transaction is
    open: other coroutines on the same thread would write into it.
    """

    def transaction(self) -> AbstractContextManager[Tx]: ...

    def ensure_schema(self, component: str, version: int, ddl: str) -> int | None: ...

    def get(
        self, namespace: str, key: str, default: Any = None, *, tx: Tx | None = None
    ) -> Any: ...

    def put(self, namespace: str, key: str, value: Any, *, tx: Tx | None = None) -> None: ...

    def delete(self, namespace: str, key: str, *, tx: Tx | None = None) -> None: ...

    def items(self, namespace: str, *, tx: Tx | None = None) -> dict[str, Any]: ...

    def close(self) -> None: ...


# --- metrology ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ElectricitySample:
    """Instantaneous single-phase measurements (clause 1.1.b: single phase, up to 100 A).

    `active_power_w` is the net power at the meter: the household's load less what generation
    behind the meter (rooftop PV, clause 16.22.1) produces, negative while exporting.
    `generation_w` is that gross generation, measured apart (a generation meter's element), so
    import - export = load - generation over any time.
    """

    active_power_w: float
    voltage_v: float
    current_a: float
    power_factor: float
    frequency_hz: float
    generation_w: float = 0.0


@dataclass(frozen=True, slots=True)
class GasSample:
    """Instantaneous gas flow (clause 1.1.a: domestic meter, up to 6 m3/h)."""

    flow_m3_per_h: float


class ElectricityMetrology(Protocol):
    """Measuring element of the ESME."""

    def sample(self, now: datetime) -> ElectricitySample: ...

    def set_load(self, watts: float | None) -> None:
        """Bench override of the active power; None goes back to the backend's own load."""
        ...

    def set_generation(self, watts: float | None) -> None:
        """Bench override of the gross generation (W, >= 0); None goes back to the backend's
        own generation (its PV profile, or none)."""
        ...


class GasMetrology(Protocol):
    """Measuring element of the GSME."""

    def sample(self, now: datetime) -> GasSample: ...

    def set_flow(self, m3_per_h: float | None) -> None:
        """Bench override of the flow; None goes back to the backend's own profile."""
        ...


# --- supply switch (contactor or valve) --------------------------------------------------------


class SwitchState(enum.Enum):
    """Position of the shut-off mechanism (section 11).

    ARMED is open contacts (no supply) waiting for a local consumer action to reconnect
    (clauses 11.2, 11.9); the mechanism does not move between DISCONNECTED and ARMED.
    """

    CONNECTED = "connected"
    DISCONNECTED = "disconnected"
    ARMED = "armed"

    @property
    def supply_on(self) -> bool:
        return self is SwitchState.CONNECTED


class SwitchFailure(enum.Enum):
    """Injectable faults of the mechanism (clauses 11.6.a, 11.6.b, 11.7; event B.5.14)."""

    FAIL_TO_OPERATE = "fail_to_operate"
    """Actuator does not move at all (drive not charged in time, or stuck after dormancy)."""
    WELDED_CONTACTS = "welded_contacts"
    """Contacts will not open: connecting works, disconnecting fails (current still flows)."""
    WORN_OUT = "worn_out"
    """Rated number of operations exceeded; nothing moves any more."""


@dataclass(frozen=True, slots=True)
class SwitchResult:
    """Outcome of one `SupplySwitch.operate` call.

    A failed operation never changes the state (clause 11.8: no unintended restoration).
    """

    ok: bool
    previous: SwitchState
    state: SwitchState
    moved: bool
    operation_count: int
    failure: SwitchFailure | None = None


#: Called inside the switch's own transaction with the outcome, so the caller can write the
#: matching event (clause 11.10) atomically with the new state.
SwitchJournal = Callable[[Tx, SwitchResult], object]


class SupplySwitch(Protocol):
    """Load switch of the ESME or valve of the GSME (section 11)."""

    @property
    def state(self) -> SwitchState: ...

    @property
    def operation_count(self) -> int:
        """Mechanical operations (open or close) over the life of the mechanism."""
        ...

    async def operate(
        self, target: SwitchState, *, journal: SwitchJournal | None = None
    ) -> SwitchResult: ...

    def inject_failure(self, kind: SwitchFailure | None) -> None: ...


# --- display and buttons -----------------------------------------------------------------------


class Display(Protocol):
    """Text display of a meter or IHD (clauses 8.5, 11.3)."""

    def show(self, lines: Sequence[str]) -> None: ...

    def lines(self) -> list[str]: ...

    @property
    def updated_at(self) -> datetime | None:
        """Clock time of the last change of content, None before the first."""
        ...


class Buttons(Protocol):
    """Push buttons of a meter or IHD; presses are queued in order (clause 8.6.b: single presses)."""

    def press(self, name: str) -> None: ...

    async def next_press(self) -> str: ...

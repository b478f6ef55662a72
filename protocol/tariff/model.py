"""The tariff and the critical peak pricing event as frozen values (requirements section 16).

A `Tariff` is what a supplier sets on a meter (16.2): one pricing structure (single rate, 48x1
time of use, 8x8 rate x tier, or block), the standing charge, the billing period, export terms,
currency and, for gas, the conversion factors; it takes effect at `effective_from` (16.7). A
`CppEvent` is a critical peak pricing period laid over it (16.11). Both are built from, and
written to, the tariff document by `protocol.tariff.document`, which validates them; the
constructors here only hold values.

Times of day in switch entries are local (UK) wall-clock minutes; the meter's engine turns them
into instants with the time zone it is given, so the clock changes move them correctly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum

from protocol.tariff.fixed import (
    CalorificValue,
    ConversionRate,
    Money,
    UnitPrice,
    VolumeFactor,
)

__all__ = [
    "MAX_BLOCKS",
    "MAX_MATRIX_SWITCHES",
    "MAX_RATES",
    "MAX_TIERS",
    "MAX_TOU_REGISTERS",
    "MAX_TOU_SWITCHES",
    "ZERO_PRICE",
    "Billing",
    "BillingPeriod",
    "Block",
    "BlockTariff",
    "CppEvent",
    "CppRecurrence",
    "Currency",
    "CurrencySwitch",
    "DayOfYear",
    "Fuel",
    "GasFactors",
    "Matrix",
    "MatrixRate",
    "Season",
    "SingleRate",
    "StandingCharge",
    "Structure",
    "StructureKind",
    "Switch",
    "Tariff",
    "ThresholdPeriod",
    "TimeOfUse",
    "TouRegister",
]

MAX_TOU_REGISTERS = 48  # 16.12.1.a
MAX_TOU_SWITCHES = 200  # 16.12.1.d
MAX_RATES = 8  # 16.13.1.b
MAX_TIERS = 8
MAX_MATRIX_SWITCHES = 50  # 16.13.1.c
MAX_BLOCKS = 8
ZERO_PRICE = UnitPrice(0)


class Fuel(StrEnum):
    ELECTRICITY = "electricity"
    GAS = "gas"


class Currency(StrEnum):
    """16.18: money is shown with the symbol of its currency."""

    GBP = "GBP"
    EUR = "EUR"

    @property
    def symbol(self) -> str:
        return "£" if self is Currency.GBP else "€"


class StructureKind(StrEnum):
    SINGLE = "single"
    TOU = "tou"
    MATRIX = "matrix"
    BLOCK = "block"


class BillingPeriod(StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"


class ThresholdPeriod(StrEnum):
    """Period over which 8x8 tier thresholds accumulate (16.13.1.e); weeks start on Monday."""

    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"
    BILLING = "billing"


@dataclass(frozen=True, slots=True)
class DayOfYear:
    """A DD/MM date of any year; 29/02 matches only in leap years."""

    day: int
    month: int

    def key(self) -> int:
        return self.month * 100 + self.day


@dataclass(frozen=True, slots=True)
class Season:
    """Dates `start` to `end` inclusive, wrapping over the new year when end < start."""

    start: DayOfYear
    end: DayOfYear

    def contains(self, when: date) -> bool:
        key = when.month * 100 + when.day
        low, high = self.start.key(), self.end.key()
        return low <= key <= high if low <= high else key >= low or key <= high


@dataclass(frozen=True, slots=True)
class Switch:
    """One time-of-use switch entry (16.12.1.d, 16.13.1.c): from `start_minute` (local time,
    minutes after midnight) the register (48x1) or rate (8x8) `register` is in force, on the
    `days` (ISO weekdays, 1 = Monday) of the `months` (1..12) or of the `season`; `aux_load`
    is the electricity meter's auxiliary load switch output while the entry is in force."""

    start_minute: int
    register: int
    days: frozenset[int] = frozenset(range(1, 8))
    months: frozenset[int] | None = None
    season: Season | None = None
    aux_load: bool = False

    def applies(self, when: date) -> bool:
        if when.isoweekday() not in self.days:
            return False
        if self.months is not None and when.month not in self.months:
            return False
        return self.season is None or self.season.contains(when)


@dataclass(frozen=True, slots=True)
class SingleRate:
    """A single unit rate for import and one for export (16.5.a, 16.6.a)."""

    import_price: UnitPrice
    export_price: UnitPrice = ZERO_PRICE
    label: str = "Standard"

    kind = StructureKind.SINGLE


@dataclass(frozen=True, slots=True)
class TouRegister:
    """One of the 48 time-of-use registers with its label (16.8) and rates (16.12.1.c)."""

    register: int
    label: str
    import_price: UnitPrice
    export_price: UnitPrice = ZERO_PRICE


@dataclass(frozen=True, slots=True)
class TimeOfUse:
    """48x1 time of use (16.12): up to 48 registers, up to 200 switch entries."""

    registers: tuple[TouRegister, ...]
    switches: tuple[Switch, ...]

    kind = StructureKind.TOU


@dataclass(frozen=True, slots=True)
class MatrixRate:
    """One rate of the 8x8 matrix (16.13): a unit price per tier, the tier thresholds in Wh
    (tier n+1 applies once the threshold quantity reaches thresholds_wh[n]), and the rates whose
    consumption over the threshold period makes up that quantity (16.13.1.f: e.g. rates 1 + 2
    month to date)."""

    rate: int
    label: str
    tier_labels: tuple[str, ...]
    import_prices: tuple[UnitPrice, ...]
    thresholds_wh: tuple[int, ...]
    threshold_rates: frozenset[int]
    export_price: UnitPrice = ZERO_PRICE


@dataclass(frozen=True, slots=True)
class Matrix:
    """8 rates x 8 tiers (16.13) with up to 50 switch entries choosing the rate."""

    rates: tuple[MatrixRate, ...]
    switches: tuple[Switch, ...]
    threshold_period: ThresholdPeriod

    kind = StructureKind.MATRIX


@dataclass(frozen=True, slots=True)
class Block:
    """One block of a block tariff: its price while the period's consumption is below
    `up_to_wh` (None for the last block, which has no limit)."""

    label: str
    import_price: UnitPrice
    up_to_wh: int | None


@dataclass(frozen=True, slots=True)
class BlockTariff:
    """Block tariff resolved over `period_days` (>= 1) days from the tariff's first local day
    (16.19)."""

    period_days: int
    blocks: tuple[Block, ...]
    export_price: UnitPrice = ZERO_PRICE

    kind = StructureKind.BLOCK


Structure = SingleRate | TimeOfUse | Matrix | BlockTariff


@dataclass(frozen=True, slots=True)
class StandingCharge:
    """`amount` charged at the start of every `period_days` local days (16.16)."""

    amount: Money
    period_days: int = 1


@dataclass(frozen=True, slots=True)
class Billing:
    """Billing periods start at local midnight of `day` of every month, or of January, April,
    July and October when quarterly (16.15, 14.4)."""

    period: BillingPeriod = BillingPeriod.MONTHLY
    day: int = 1


@dataclass(frozen=True, slots=True)
class CurrencySwitch:
    """At `at`, prices and money registers turn into `currency` at `rate` (12.1.q, 16.18)."""

    at: datetime
    currency: Currency
    rate: ConversionRate


@dataclass(frozen=True, slots=True)
class GasFactors:
    """Indicative calorific value and volume conversion factor set by the head-end (13.2)."""

    calorific_value: CalorificValue
    volume_factor: VolumeFactor


@dataclass(frozen=True, slots=True)
class Tariff:
    """A complete tariff as set on a meter; `effective_from` is aware, in UTC (16.7)."""

    name: str
    fuel: Fuel
    effective_from: datetime
    structure: Structure
    currency: Currency = Currency.GBP
    billing: Billing = field(default_factory=Billing)
    standing_charge: StandingCharge | None = None
    generation_discount: UnitPrice = ZERO_PRICE
    """Credit per kWh of gross generation (16.22.3), zero or negative."""
    currency_switch: CurrencySwitch | None = None
    gas: GasFactors | None = None

    @property
    def kind(self) -> StructureKind:
        return self.structure.kind


@dataclass(frozen=True, slots=True)
class CppRecurrence:
    """The event repeats `count` times in all, every `every_days` days at the same local time."""

    every_days: int
    count: int


@dataclass(frozen=True, slots=True)
class CppEvent:
    """A critical peak pricing event (16.11): from `start` to `end` (aware, UTC), consumption up
    to `threshold_wh` at `prices[0]` and beyond it at `prices[1]` (16.11.5, 16.11.6); the
    consumer may reject it only when `refusable` (16.11.8, 16.11.9)."""

    event_id: int
    start: datetime
    end: datetime
    threshold_wh: int
    prices: tuple[UnitPrice, UnitPrice]
    refusable: bool
    recurrence: CppRecurrence | None = None
    label: str = "Critical peak"

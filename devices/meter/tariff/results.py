"""What the tariff engine hands out: events to log, the price in force, and the registers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from protocol.event_codes import EventCode
from protocol.tariff import Currency, Money, StructureKind, UnitPrice

__all__ = [
    "CppConsumption",
    "CppInForce",
    "PriceNow",
    "Registers",
    "TariffEvent",
    "TariffEventKind",
]


class TariffEventKind(StrEnum):
    TARIFF_ACTIVATED = "tariff_activated"
    """The passive tariff became active (16.7); code 401/402/403 or BLOCK_TARIFF_ACTIVATED."""
    RATE_SWITCHED = "rate_switched"
    """A time-of-use switch changed the register or rate in force (16.20 push; aux load)."""
    TIER_CHANGED = "tier_changed"
    """An 8x8 tier threshold was crossed or its period restarted (16.13.1.d, 16.20 push)."""
    BLOCK_CHANGED = "block_changed"
    """A block threshold was crossed or the block period restarted (16.19, 16.20 push)."""
    CPP_STARTED = "cpp_started"
    CPP_ENDED = "cpp_ended"
    CPP_TIER_CHANGED = "cpp_tier_changed"
    BILLING_RESET = "billing_reset"
    """A scheduled billing period ended (B.4.5)."""
    CURRENCY_SWITCHED = "currency_switched"
    """Prices and money registers turned into the new currency (12.1.q, 16.18)."""


@dataclass(frozen=True, slots=True)
class TariffEvent:
    """Something that happened at `at` while consuming; `code` is the event to log (Appendix B
    or our additions), None for a price change that is only pushed to the HAN (16.20)."""

    at: datetime
    kind: TariffEventKind
    code: EventCode | None
    detail: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CppInForce:
    event_id: int
    occurrence: int
    label: str
    tier: int
    """1 below the threshold, 2 above (16.11.5)."""
    price: UnitPrice
    end: datetime
    refusable: bool


@dataclass(frozen=True, slots=True)
class PriceNow:
    """The price in force at an instant: what the display (16.17), the Price cluster and the
    IHD show."""

    at: datetime
    tariff_name: str
    structure: StructureKind
    currency: Currency
    register: int
    """48x1 register or 8x8 rate in force (1 for single rate and block)."""
    register_label: str
    tier: int | None
    """8x8 tier (1..8), None for other structures."""
    tier_label: str | None
    block: int | None
    """Block number (1..8) of a block tariff, None for other structures."""
    import_price: UnitPrice
    """The unit price charged now: the CPP price while an event is in force (16.12.1.e)."""
    export_price: UnitPrice
    aux_load: bool
    cpp: CppInForce | None
    next_change: datetime | None
    """The next scheduled switch, day boundary or CPP edge, when known."""
    block_label: str | None = None
    """Label of the block in force (16.8), None for other structures."""

    def document(self) -> dict[str, Any]:
        """The price in force as JSON: the meter's bench and WAN answers, `tariff simulate`."""
        return {
            "register": self.register,
            "label": self.register_label,
            "tier": self.tier,
            "block": self.block,
            "unit_price": str(self.import_price),
            "currency": self.currency.value,
            "cpp": None if self.cpp is None else self.cpp.event_id,
        }


@dataclass(frozen=True, slots=True)
class CppConsumption:
    """Consumption and cost of one occurrence of one CPP event, per tier (16.11.7)."""

    event_id: int
    occurrence: int
    start: datetime
    tier_wh: tuple[int, int]
    cost: Money


@dataclass(frozen=True, slots=True)
class Registers:
    """Every register the engine keeps (16.12.1.a/b, 16.13.1.b, 16.15, 16.22.1, 14.4)."""

    currency: Currency
    import_wh: int
    export_wh: int
    net_export_wh: int
    gross_generation_wh: int
    tou_import_wh: tuple[int, ...]
    """48 import registers; the 8x8 rate sums land in registers 1..8 (CPP consumption excluded)."""
    tou_export_wh: tuple[int, ...]
    tou_import_cost: tuple[Money, ...]
    tou_export_cost: tuple[Money, ...]
    tou_labels: tuple[str, ...]
    matrix_wh: tuple[tuple[int, ...], ...]
    matrix_cost: tuple[tuple[Money, ...], ...]
    matrix_price: tuple[tuple[UnitPrice | None, ...], ...]
    block_wh: tuple[int, ...]
    block_cost: tuple[Money, ...]
    cpp: tuple[CppConsumption, ...]
    import_cost: Money
    """Import charged by the structure and by CPP events."""
    export_cost: Money
    """Export credit (zero or negative, 16.22.2)."""
    generation_discount: Money
    standing_charge: Money
    total_cost: Money
    cost_today: Money
    cost_since_bill: Money
    last_bill_cost: Money
    billing_day: int
    """Day N of the billing period ("day 4 of 30"); 0 before any tariff."""
    billing_days: int

    def document(self) -> dict[str, Any]:
        """JSON-able form: energy as ints (Wh), money and prices as decimal strings."""

        def money(values: tuple[Money, ...]) -> list[str]:
            return [str(v) for v in values]

        return {
            "currency": self.currency.value,
            "import_wh": self.import_wh,
            "export_wh": self.export_wh,
            "net_export_wh": self.net_export_wh,
            "gross_generation_wh": self.gross_generation_wh,
            "tou_import_wh": list(self.tou_import_wh),
            "tou_export_wh": list(self.tou_export_wh),
            "tou_import_cost": money(self.tou_import_cost),
            "tou_export_cost": money(self.tou_export_cost),
            "tou_labels": list(self.tou_labels),
            "matrix_wh": [list(row) for row in self.matrix_wh],
            "matrix_cost": [money(row) for row in self.matrix_cost],
            "matrix_price": [
                [None if p is None else str(p) for p in row] for row in self.matrix_price
            ],
            "block_wh": list(self.block_wh),
            "block_cost": money(self.block_cost),
            "cpp": [
                {
                    "id": c.event_id,
                    "occurrence": c.occurrence,
                    "start": c.start.isoformat(),
                    "tier_wh": list(c.tier_wh),
                    "cost": str(c.cost),
                }
                for c in self.cpp
            ],
            "import_cost": str(self.import_cost),
            "export_cost": str(self.export_cost),
            "generation_discount": str(self.generation_discount),
            "standing_charge": str(self.standing_charge),
            "total_cost": str(self.total_cost),
            "cost_today": str(self.cost_today),
            "cost_since_bill": str(self.cost_since_bill),
            "last_bill_cost": str(self.last_bill_cost),
            "billing_day": self.billing_day,
            "billing_days": self.billing_days,
        }

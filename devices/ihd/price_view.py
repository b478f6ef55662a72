"""What the IHD knows of each meter's price and cost, and the lines it shows (16.17, 16.20).

The meter is the price server of its own tariff (Price 0x0700): the IHD asks it once for the
current price (GetCurrentPrice) and is then told of every change at once by PublishPrice
(16.20); a PublishCPPEvent is a critical peak notice the consumer may accept or reject when the
event allows it (16.11). The cost of today and since the last bill come from the meter's
attributes (Prepayment's CurrentDayCostConsumptionDelivered, Metering's BillToDateDelivered
less BillToDateReceived, where an exporting meter puts a credit: `devices.meter.bill_credit`),
read with the readings; a credit shows as "bill CR £1.23". Money is fixed point: an integer and the number of digits right of the
point, shown with the currency's symbol (16.18); nothing here is a float.

    Elec £0.2845/kWh Day (T1)
    Elec today £1.23 bill £45.67
    CPP 17:00 60 min: accept? (ihd cpp)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from hal.ports import uk_local

__all__ = ["CURRENCY_SYMBOLS", "CppNotice", "PriceInfo", "money_text", "price_lines"]

CURRENCY_SYMBOLS = {826: "£", 978: "€"}
ZIGBEE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_SHORT = {"electricity": "Elec", "gas": "Gas"}


def money_text(value: int, digits: int, currency: int, *, places: int | None = None) -> str:
    """`value` x 10^-digits as money with its currency's symbol: a unit price in full, at least
    to the penny ("£0.2845"), or a cost to `places` decimals ("£1.23"). No float."""
    amount = Decimal(value).scaleb(-digits)
    if places is not None:
        amount = amount.quantize(Decimal(1).scaleb(-places))
        text = f"{amount:f}"
    else:
        text = f"{amount.normalize():f}"
        whole, _, fraction = text.partition(".")
        text = f"{whole}.{fraction.ljust(2, '0')}"
    return f"{CURRENCY_SYMBOLS.get(currency, '')}{text}"


@dataclass
class CppNotice:
    """A critical peak event the meter announced (PublishCPPEvent)."""

    event_id: int
    start: datetime
    minutes: int
    auth: str
    """Pending (the consumer may answer), Accepted, Rejected or Forced (cannot be refused)."""

    def line(self) -> str:
        start = f"{uk_local(self.start):%d/%m %H:%M}"
        ask = ": accept?" if self.auth == "Pending" else f" {self.auth.lower()}"
        return f"CPP {start} {self.minutes} min{ask}"

    def describe(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "start": self.start.isoformat(),
            "minutes": self.minutes,
            "auth": self.auth,
        }


@dataclass
class PriceInfo:
    """The last PublishPrice of a meter and its costs."""

    price: int | None = None
    digits: int = 0
    currency: int = 826
    tier: int = 0
    label: str = ""
    received_at: datetime | None = None
    cost_today: int | None = None
    cost_today_digits: int = 0
    bill: int | None = None
    bill_digits: int = 0
    #: BillToDateReceived: the credit since the last bill (export), a magnitude.
    credit: int | None = None
    credit_digits: int = 0
    cpp: CppNotice | None = None
    #: The block thresholds (Wh) per tier, as the meter last published them (16.19, 16.20).
    block_thresholds: dict[int, list[int]] | None = None
    #: The block period in force: its start and its length in days.
    block_period: tuple[datetime, int] | None = None

    def take_block_thresholds(self, fields: Any) -> None:
        """A PublishBlockThresholds (one command of possibly several: the first resets)."""
        if int(fields.command_index) == 0 or self.block_thresholds is None:
            self.block_thresholds = {}
        for entry in fields.block_thresholds:
            tier = int(entry.tier_and_count.tier)
            self.block_thresholds.setdefault(tier, []).extend(
                int(v) for v in entry.block_thresholds
            )

    def take_block_period(self, fields: Any) -> None:
        start = ZIGBEE_EPOCH + timedelta(seconds=int(fields.block_period_start_time))
        self.block_period = (start, int(fields.block_period_duration))

    def take_price(self, fields: Any, now: datetime) -> None:
        """A PublishPrice (pushed, or the answer to GetCurrentPrice)."""
        tier_field = fields.price_trailing_digit_and_price_tier
        tier = int(tier_field.price_tier)
        extended = int(getattr(fields, "extended_price_tier", 0) or 0)
        self.price = int(fields.price)
        self.digits = int(tier_field.trailing_digit)
        self.currency = int(fields.currency)
        self.tier = tier + extended if tier == 15 else tier
        self.label = bytes(fields.rate_label).decode("utf-8", "replace")
        self.received_at = now

    def take_cpp(self, fields: Any) -> None:
        self.cpp = CppNotice(
            int(fields.issuer_event_id),
            ZIGBEE_EPOCH + timedelta(seconds=int(fields.start_time)),
            int(fields.duration_in_minutes),
            fields.cpp_auth.name,
        )

    def net_bill(self) -> tuple[int, int] | None:
        """The cost since the last bill, signed: Delivered less Received, as (value, digits)."""
        if self.bill is None:
            return None
        if not self.credit:
            return self.bill, self.bill_digits
        digits = max(self.bill_digits, self.credit_digits)
        value = self.bill * 10 ** (digits - self.bill_digits)
        return value - self.credit * 10 ** (digits - self.credit_digits), digits

    def lines(self, fuel: str) -> list[str]:
        short = _SHORT.get(fuel, fuel)
        if self.price is None:
            return []
        price = money_text(self.price, self.digits, self.currency)
        lines = [f"{short} {price}/kWh {self.label} (T{self.tier})"]
        costs = []
        if self.cost_today is not None:
            today = money_text(self.cost_today, self.cost_today_digits, self.currency, places=2)
            costs.append(f"today {today}")
        net = self.net_bill()
        if net is not None:
            # A credit reads "CR £1.23": a minus sign is easy to miss on a small screen.
            text = money_text(abs(net[0]), net[1], self.currency, places=2)
            costs.append(f"bill {'CR ' if net[0] < 0 else ''}{text}")
        if costs:
            lines.append(f"{short} {' '.join(costs)}")
        if self.cpp is not None:
            lines.append(self.cpp.line())
        return lines

    def describe(self) -> dict[str, Any]:
        """For the bench port: the values, money as plain decimal text ("0.2511")."""
        return {
            "price": _decimal(self.price, self.digits),
            "currency": self.currency,
            "tier": self.tier,
            "label": self.label,
            "received_at": None if self.received_at is None else self.received_at.isoformat(),
            "cost_today": _decimal(self.cost_today, self.cost_today_digits),
            "bill": None if (net := self.net_bill()) is None else _decimal(*net),
            "cpp": None if self.cpp is None else self.cpp.describe(),
            "block_thresholds": None
            if self.block_thresholds is None
            else {str(tier): limits for tier, limits in self.block_thresholds.items()},
            "block_period": None
            if self.block_period is None
            else {"start": self.block_period[0].isoformat(), "days": self.block_period[1]},
        }


def _decimal(value: int | None, digits: int) -> str | None:
    return None if value is None else f"{Decimal(value).scaleb(-digits).normalize():f}"


def price_lines(prices: dict[str, PriceInfo]) -> list[str]:
    """Every meter's price lines, electricity first."""
    lines: list[str] = []
    for fuel in ("electricity", "gas"):
        info = prices.get(fuel)
        if info is not None:
            lines.extend(info.lines(fuel))
    return lines

"""A tariff flattened for the engine's inner loop: prices as ints indexed by register and tier.

Built once per activation. Registers and rates are 1-based in the tariff and in events, 0-based
in the lists here. Money arithmetic stays in ints: Wh x UnitPrice.value is Money.value.
"""

from __future__ import annotations

from datetime import date, timedelta, tzinfo

from devices.meter.tariff.calendar import SwitchTables, local_date, to_us
from protocol.tariff import (
    BillingPeriod,
    BlockTariff,
    Matrix,
    SingleRate,
    Tariff,
    ThresholdPeriod,
    TimeOfUse,
)

__all__ = ["Pricing"]

REGISTERS = 48
_QUARTER_MONTHS = (1, 4, 7, 10)


class Pricing:
    """Prices, labels, thresholds and calendars of one tariff."""

    def __init__(self, tariff: Tariff, tz: tzinfo) -> None:
        self.tariff = tariff
        self.kind = tariff.kind
        self.anchor = local_date(to_us(tariff.effective_from), tz)
        self.labels = [""] * REGISTERS
        self.import_price = [0] * REGISTERS
        self.export_price = [0] * REGISTERS
        self.tables: SwitchTables | None = None
        # 8x8: per rate (0-based) its tier prices, thresholds and the rates counted for them.
        self.tier_prices: list[tuple[int, ...]] = [()] * 8
        self.tier_labels: list[tuple[str, ...]] = [()] * 8
        self.thresholds: list[tuple[int, ...]] = [()] * 8
        self.counted: list[tuple[int, ...]] = [()] * 8
        self.self_counted = [False] * 8
        self.threshold_period = ThresholdPeriod.DAILY
        # Block tariff.
        self.block_limits: tuple[int, ...] = ()
        self.block_prices: tuple[int, ...] = ()
        self.block_labels: tuple[str, ...] = ()
        self.block_days = 1
        self.generation_discount = tariff.generation_discount.value
        self.standing_charge = tariff.standing_charge
        structure = tariff.structure
        if isinstance(structure, SingleRate):
            self._single(
                structure.label, structure.import_price.value, structure.export_price.value
            )
        elif isinstance(structure, TimeOfUse):
            for reg in structure.registers:
                i = reg.register - 1
                self.labels[i] = reg.label
                self.import_price[i] = reg.import_price.value
                self.export_price[i] = reg.export_price.value
            default = structure.registers[0].register
            self.tables = SwitchTables(structure.switches, default, tz)
        elif isinstance(structure, Matrix):
            for rate in structure.rates:
                i = rate.rate - 1
                self.labels[i] = rate.label
                self.export_price[i] = rate.export_price.value
                self.import_price[i] = rate.import_prices[0].value
                self.tier_prices[i] = tuple(p.value for p in rate.import_prices)
                self.tier_labels[i] = rate.tier_labels
                self.thresholds[i] = rate.thresholds_wh
                self.counted[i] = tuple(sorted(r - 1 for r in rate.threshold_rates))
                self.self_counted[i] = rate.rate in rate.threshold_rates
            self.threshold_period = structure.threshold_period
            self.tables = SwitchTables(structure.switches, structure.rates[0].rate, tz)
        else:
            self._block(structure)

    def _single(self, label: str, import_price: int, export_price: int) -> None:
        self.labels[0] = label
        self.import_price[0] = import_price
        self.export_price[0] = export_price

    def _block(self, structure: BlockTariff) -> None:
        self._single(structure.blocks[0].label, structure.blocks[0].import_price.value, 0)
        self.labels[0] = "Block tariff"
        self.export_price[0] = structure.export_price.value
        self.block_limits = tuple(b.up_to_wh for b in structure.blocks if b.up_to_wh is not None)
        self.block_prices = tuple(b.import_price.value for b in structure.blocks)
        self.block_labels = tuple(b.label for b in structure.blocks)
        self.block_days = structure.period_days

    # --------------------------------------------------------------- calendar keys of a day

    def bill_start(self, day: date) -> date:
        """First day of the billing period holding `day` (16.15)."""
        billing = self.tariff.billing
        year, month = day.year, day.month
        if day.day < billing.day:
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        if billing.period is BillingPeriod.QUARTERLY:
            while month not in _QUARTER_MONTHS:
                year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        return date(year, month, billing.day)

    def bill_end(self, start: date) -> date:
        """First day of the next billing period."""
        months = 3 if self.tariff.billing.period is BillingPeriod.QUARTERLY else 1
        month = start.month - 1 + months
        return date(start.year + month // 12, month % 12 + 1, start.day)

    def threshold_key(self, day: date, bill_start: date) -> int:
        """Which tier threshold period `day` is in (16.13.1.e); a change resets the counts."""
        period = self.threshold_period
        if period is ThresholdPeriod.DAILY:
            return day.toordinal()
        if period is ThresholdPeriod.WEEKLY:
            return day.toordinal() - day.weekday()
        if period is ThresholdPeriod.MONTHLY:
            return day.year * 12 + day.month
        return bill_start.toordinal()

    def block_key(self, day: date) -> int:
        """Which block period `day` is in, counted from the tariff's first local day (16.19)."""
        return (day - self.anchor).days // self.block_days

    def standing_charge_due(self, day: date) -> int:
        """The standing charge (Money.value) due at the start of `day`, 0 if none (16.16)."""
        charge = self.standing_charge
        if charge is None or (day - self.anchor).days % charge.period_days:
            return 0
        return charge.amount.value

    def days_in_bill(self, day: date) -> tuple[int, int]:
        """(N, M): `day` is day N of the M-day billing period."""
        start = self.bill_start(day)
        return (day - start).days + 1, (self.bill_end(start) - start).days


def next_day(day: date) -> date:
    return day + timedelta(days=1)

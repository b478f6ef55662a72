"""A meter's tariff on the HAN and on its display: the pieces `MeterFirmware` wires together.

`MeterTariffLink` holds the meter's `MeterTariff` (engine, profile, gas factors), the Price
server (`price_server`), the Tunneling server that takes the head-end's commands
(`tunnel_server`, `tariff_commands`) and what the Metering cluster adds for tariffs:

- CurrentTier1..48SummationDelivered: the time-of-use registers (Wh, like the total);
- CurrentDayConsumptionDelivered, BillToDateDelivered (cost since the last bill, 14.4) with its
  time stamp and BillDeliveredTrailingDigit;
- GetProfile (SE D.3.2.3.1.1): the load profile by end time and number of periods (16.15).

and, from the Prepayment cluster's Historical Cost Consumption set, the cost of today
(CurrentDayCostConsumptionDelivered) the IHD shows. Money on the HAN is in millionths of the
currency unit (trailing digit 6), cut, never rounded up.

The firmware calls `sample` with each metrology sample, `save` inside its register
transaction and `saved` once it committed, and sends `take_outbox` after each HAN message; every change of the price in
force is pushed to the price clients at once (16.20).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from zigpy.zcl import foundation

from firmware.zcl.cluster_server import (
    AttributeBinding,
    ClusterResponse,
    ClusterServer,
    CommandRequest,
    ZclStatusError,
)
from firmware.zcl.reporting import Destination
from hal.ports import NonVolatileStore, Tx
from protocol.event_codes import EventCode
from protocol.se import Prepayment
from protocol.se.price_types import CppAuth
from protocol.se.types import TrailingDigit
from protocol.tariff.model import CppEvent, Fuel, Tariff

from .price_publish import PRICE_TRAILING_DIGIT, HanPrice, utc_time
from .price_server import PriceServer
from .tariff_commands import Pending, TariffCommands, Write, log_events
from .tariff_runtime import MeterTariff
from .tariff_setup import TariffSetup
from .tunnel_server import TunnelServer

#: PriceTrailingDigit and friends: six digits right of the point (millionths).
_TRAILING = TrailingDigit(reserved=0, digits=PRICE_TRAILING_DIGIT)
__all__ = ["MeterTariffLink", "money_text"]

_NANO_PER_MICRO = 1000
#: GetProfile answers at most this many intervals (uint24 each) in one 57-octet frame.
MAX_PROFILE_PERIODS = 15
#: ProfileIntervalPeriod enumeration (SE D.3.2.3.2.1): minutes -> value.
_INTERVAL_PERIOD = {30: 2, 15: 3, 10: 4, 5: 6, 1: 7}
Status = foundation.Status


def money_text(nano: int, symbol: str) -> str:
    """Money in billionths as the display shows it, to the penny: "£1.23"."""
    pennies = Decimal(nano).scaleb(-9).quantize(Decimal("0.01"))
    return f"-{symbol}{-pennies}" if pennies < 0 else f"{symbol}{pennies}"


class MeterTariffLink:
    """See the module doc."""

    def __init__(
        self,
        store: NonVolatileStore,
        fuel: Fuel,
        setup: TariffSetup,
        now: Callable[[], datetime],
        changed: Callable[[], None],
    ) -> None:
        self.tariff = MeterTariff(store, fuel, setup.initial, setup.profile_minutes)
        self._now = now
        self._changed = changed
        # A command's events and records join the engine's in `pending` for the save of its
        # change (`_save_change`), in one transaction.
        self.commands = TariffCommands(
            self.tariff, store, now, self._save_change, self._command_done
        )
        self.tunnel = TunnelServer(self.commands.dispatch)
        self.price_server = PriceServer(self, store, now, self._cpp_answer)
        self._shown: HanPrice | None = None
        self._blocks_shown: object = None
        #: Events from the engine or the consumer waiting to be saved with the registers.
        self.pending: list[Pending] = []
        #: More records of the change being saved (the optical port's change log, 17.2.21.e).
        self.pending_writes: list[Write] = []
        #: The consumer's CPP answers to pass on to the hub, for the head-end (16.11.8).
        self.to_hub: list[tuple[int, CppAuth]] = []

    # -- metering ------------------------------------------------------------------------

    def sample(self, raw_total: int, exported: int = 0, generated: int = 0) -> bool:
        """Price the registers' gains since the last sample (import, export and gross
        generation, raw units); True when something must be saved at once (an event to log)."""
        now = self._now()
        start = self.tariff.begin(now, raw_total, exported, generated)
        # Nothing to price until time moves: the units gained wait for the next sample.
        events = (
            self.tariff.consume(start, now, raw_total, exported, generated) if now > start else []
        )
        log_events(events, lambda code, detail: self.pending.append((code, detail)))
        self._push_if_changed()
        return bool(self.pending)

    def _push_if_changed(self) -> None:
        price = self.han_price()
        if price != self._shown:
            self._shown = price
            self.price_server.push_price()
        blocks = self.price_server.blocks_in_force() if price is not None else None
        if blocks != self._blocks_shown:
            self._blocks_shown = blocks
            if blocks is not None:
                self.price_server.push_blocks()

    def han_price(self) -> HanPrice | None:
        if "rates" in self.commands.suppressed or "pricing" in self.commands.suppressed:
            return None
        now = self.tariff.price(self._now())
        return None if now is None else HanPrice.of(now)

    def save(self, tx: Tx, events: Any) -> None:
        """Inside the registers' transaction: the tariff's state and the pending records. They
        stay pending until `saved` (after the commit): a transaction that fails leaves them
        for the next save, with the state they go with."""
        self.tariff.save(tx)
        self.commands.save(tx)
        for code, detail in self.pending:
            events.record(code, detail, tx)
        for write in self.pending_writes:
            write(tx)

    def saved(self) -> None:
        """The transaction of `save` committed: its records are written."""
        self.pending, self.pending_writes = [], []

    def _save_change(self, events: list[Pending], writes: list[Write]) -> None:
        """A command's change: saved now with its records, in the registers' transaction. If
        that fails the records are dropped with the change (`TariffCommands.dispatch` undoes
        it): what waited before stays for the next save."""
        marks = len(self.pending), len(self.pending_writes)
        self.pending += events
        self.pending_writes += writes
        try:
            self._changed()
        except BaseException:
            del self.pending[marks[0] :], self.pending_writes[marks[1] :]
            raise

    def _command_done(self, what: str, tariff_id: int | None = None) -> None:
        """A head-end command's change is saved: tell the price clients."""
        if what == "passive":
            self.price_server.push_tariff()
        elif what == "cancel" and tariff_id is not None:
            self.price_server.push_cancel(tariff_id)
        elif what == "cpp":
            for event, auth in self.tariff.cpp_events():
                self.price_server.push_cpp(event, auth)
        self._push_if_changed()

    def _cpp_answer(self, event_id: int, accept: bool, source: Destination) -> bool:
        """The consumer's answer from the IHD (16.11.8): recorded, saved, told to the HAN."""
        if not self.tariff.answer_cpp(event_id, accept):
            return False
        code = EventCode.CPP_EVENT_ACCEPTED if accept else EventCode.CPP_EVENT_REJECTED
        self.pending.append((code, {"id": event_id, "from": f"0x{source[0]:04x}"}))
        self.to_hub.append((event_id, CppAuth.Accepted if accept else CppAuth.Rejected))
        for event, auth in self.tariff.cpp_events():
            if event.event_id == event_id:
                self.price_server.push_cpp(event, auth)
        self._changed()
        self._push_if_changed()
        return True

    # -- the Price server's source (price_server.PriceSource) ----------------------------

    def active_tariff(self) -> tuple[int, Tariff] | None:
        return self.tariff.active_tariff()

    def passive_tariff(self) -> tuple[int, Tariff] | None:
        return self.tariff.passive_tariff()

    def billing_period(self) -> tuple[datetime, int] | None:
        return self.tariff.billing_period()

    def cpp_events(self) -> list[tuple[CppEvent, CppAuth]]:
        return self.tariff.cpp_events()

    def suppressed(self, item: str) -> bool:
        return item in self.commands.suppressed

    # -- clusters ------------------------------------------------------------------------

    def metering_bindings(self) -> dict[str, AttributeBinding]:
        """The tariff attributes of the Metering cluster."""
        bindings = {
            f"current_tier{n}_summ_delivered": AttributeBinding(self._tier_register(n))
            for n in range(1, 49)
        }
        bindings["bill_to_date"] = AttributeBinding(
            lambda: _micro(self.tariff.registers().cost_since_bill.value)
        )
        bindings["bill_to_date_time_stamp"] = AttributeBinding(lambda: utc_time(self._now()))
        bindings["bill_delivered_trailing_digit"] = AttributeBinding(lambda: _TRAILING)
        return bindings

    def _tier_register(self, n: int) -> Callable[[], int]:
        return lambda: self.tariff.registers().tou_import_wh[n - 1] % (1 << 48)

    def get_profile(self, request: CommandRequest) -> ClusterResponse:
        """GetProfile: up to NumberOfPeriods intervals ending at EndTime (0: now), newest
        first, as SE lays them out (16.15)."""
        args = request.args
        if int(args.interval_channel) != 0:
            raise ZclStatusError(Status.INVALID_VALUE, "only consumption delivered is kept")
        minutes = self.tariff.profile.period_min
        end = self._now() if int(args.end_time) == 0 else _from_utc_time(int(args.end_time))
        periods = max(1, min(int(args.number_of_periods), MAX_PROFILE_PERIODS))
        start = end - timedelta(minutes=minutes * periods)
        intervals = self.tariff.profile.read(start, end, periods)
        values = [min(i.quantity, (1 << 24) - 1) for i in reversed(intervals)]
        last_end = intervals[-1].start + timedelta(minutes=minutes) if intervals else end
        return ClusterResponse(
            "get_profile_response",
            {
                "end_time": utc_time(last_end),
                "status": 0x00 if intervals else 0x05,
                "profile_interval_period": _INTERVAL_PERIOD[minutes],
                "number_of_periods_delivered": len(values),
                "intervals": values,
            },
        )

    def prepayment_cluster(self) -> ClusterServer:
        """Prepayment's Historical Cost Consumption set: the cost of today (16.15, the IHD)."""
        currency = {"GBP": 826, "EUR": 978}
        return ClusterServer(
            Prepayment,
            {
                "current_day_cost_consumption_delivered": AttributeBinding(
                    lambda: _micro(self.tariff.registers().cost_today.value)
                ),
                "currency_scaling_factor": AttributeBinding(lambda: _TRAILING),
                "currency": AttributeBinding(
                    lambda: currency[self.tariff.registers().currency.value]
                ),
            },
        )

    # -- display -------------------------------------------------------------------------

    def display_lines(self) -> list[str]:
        """The unit price in money (16.17), and the cost since the last bill; nothing while
        there is no tariff or the item is suppressed (12.1.d)."""
        price = self.tariff.price(self._now())
        if price is None or self.han_price() is None:
            return []
        symbol = price.currency.symbol
        unit = str(price.import_price)  # plain notation, never "4E+1" (Fixed.text)
        registers = self.tariff.registers()
        return [
            f"{price.register_label[:8]} {symbol}{unit}/kWh",
            f"Bill {money_text(registers.cost_since_bill.value, symbol)} "
            f"day {registers.billing_day}/{registers.billing_days}",
        ]


def _micro(nano: int) -> int:
    """Billionths to millionths of the currency unit, cut toward zero, within uint32 (a credit,
    below zero, shows as 0: the unsigned SE fields hold no sign)."""
    micro = nano // _NANO_PER_MICRO if nano >= 0 else -((-nano) // _NANO_PER_MICRO)
    return max(0, min(micro, (1 << 32) - 1))


def _from_utc_time(seconds: int) -> datetime:
    return datetime(2000, 1, 1, tzinfo=UTC) + timedelta(seconds=seconds)

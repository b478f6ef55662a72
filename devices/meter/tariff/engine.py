"""The meters' tariff engine: bills consumption by the active tariff (requirements section 16).

Pure logic: no clock, no store. The firmware feeds it intervals of energy with their aware
start and end instants; the engine apportions each interval over every boundary inside it
(switch entries, local midnights, CPP edges, the passive tariff's effective-from instant, the
currency switch-over) in proportion to time, splits it again at tier and block thresholds by
quantity, and keeps every register in integers. See `devices.meter.tariff` for the API.

The engine's "now" is the end of the last interval consumed (`cursor`). Boundaries are
processed in instant order; at one instant: the passive tariff becomes active, then the
currency switches, then a local day begins (billing reset, cost today, threshold and block
periods, the standing charge), then CPP events start or end, then the switch entry applies.
"""

from __future__ import annotations

import json
from bisect import bisect_right
from datetime import date, datetime, timedelta, tzinfo
from typing import Any

from devices.meter.tariff.calendar import (
    DayTable,
    from_us,
    local_date,
    local_midnight_us,
    to_us,
)
from devices.meter.tariff.cpp_schedule import CppSchedule
from devices.meter.tariff.currency import convert_tariff
from devices.meter.tariff.pricing import Pricing
from devices.meter.tariff.results import (
    CppConsumption,
    CppInForce,
    PriceNow,
    Registers,
    TariffEvent,
    TariffEventKind,
)
from devices.meter.tariff.state import EngineState
from protocol.errors import LocalProtocolError
from protocol.event_codes import EventCode
from protocol.tariff import (
    CppEvent,
    Currency,
    Fuel,
    Money,
    StructureKind,
    Tariff,
    UnitPrice,
    decode_tariff,
    encode_tariff,
)

__all__ = ["TariffEngine"]

_NEVER = 1 << 62
_ACTIVATED = {
    StructureKind.SINGLE: EventCode.SINGLE_RATE_TARIFF_ACTIVATED,
    StructureKind.TOU: EventCode.TOU_ACTIVATED,
    StructureKind.MATRIX: EventCode.TARIFF_8X8_ACTIVATED,
    StructureKind.BLOCK: EventCode.BLOCK_TARIFF_ACTIVATED,
}


def _energy(name: str, value: int) -> int:
    if type(value) is not int or value < 0:  # bool is not energy either
        raise LocalProtocolError(f"{name} is a non-negative int of Wh, got {value!r}")
    return value


class TariffEngine:
    """One meter's tariff registers; see the package docstring for the API."""

    def __init__(self, tz: tzinfo, snapshot: dict[str, Any] | None = None) -> None:
        self._tz = tz
        self._s = EngineState() if snapshot is None else EngineState.from_dict(snapshot)
        st = self._s
        self._active = None if st.active is None else decode_tariff(st.active, "active tariff")
        self._passive = None if st.passive is None else decode_tariff(st.passive, "passive tariff")
        self._pricing = None if self._active is None else Pricing(self._active, tz)
        self._cpp_schedule = CppSchedule(tz, st.cpp_events)
        self._records: dict[tuple[int, int], list[int]] = {(r[0], r[1]): r for r in st.cpp_records}
        # Derived context, rebuilt from the state: the local day, the register, the CPP
        # occurrence in force, and the next instant at which any of them may change.
        self._day: DayTable | None = None
        self._index = 0
        self._register = 1
        self._aux = False
        self._cpp: tuple[int, int] | None = None
        self._record: list[int] | None = None
        self._tier: int | None = None
        self._block: int | None = None
        self._next_us = _NEVER
        if st.cursor_us is not None:
            assert st.day_ordinal is not None
            self._set_day(date.fromordinal(st.day_ordinal))
            self._settle(st.cursor_us, None)

    # ------------------------------------------------------------------ commands

    def set_passive(self, tariff: Tariff) -> None:
        """Store `tariff` as the passive tariff; it becomes active exactly at its
        effective-from instant (16.7), or at the next instant consumed if that is past (its
        standing charge then starts with the next period). A tariff set earlier is replaced."""
        if self._active is not None and tariff.currency is not self._currency_at(tariff):
            raise LocalProtocolError(
                f"tariff {tariff.name!r} is in {tariff.currency}, but the registers will be in "
                f"{self._currency_at(tariff)} when it takes effect"
            )
        self._passive = tariff
        self._s.passive = encode_tariff(tariff)
        self._reschedule()

    def cancel_passive(self) -> None:
        self._passive = None
        self._s.passive = None
        self._reschedule()

    @property
    def active(self) -> Tariff | None:
        return self._active

    @property
    def passive(self) -> Tariff | None:
        return self._passive

    @property
    def aux_load(self) -> bool:
        """The auxiliary load switch output the switch entry in force at the last instant
        consumed asks for (16.12.1.d); off without an active tariff. Derived from the state, so
        an engine rebuilt from its snapshot says what the saved registers went with."""
        return self._active is not None and self._aux

    @property
    def cpp_events(self) -> tuple[CppEvent, ...]:
        events = self._cpp_schedule.events
        return tuple(events[i] for i in sorted(events))

    def add_cpp_event(self, event: CppEvent) -> None:
        """Store a CPP event (16.11.1-16.11.4); an event with the same id is replaced."""
        if self._active is not None and self._active.fuel is not Fuel.ELECTRICITY:
            raise LocalProtocolError("critical peak pricing is for electricity only (16.11)")
        st = self._s
        schedule = self._cpp_schedule
        if st.cursor_us is not None:
            if schedule.expand(event)[-1][1] <= st.cursor_us:
                raise LocalProtocolError(f"CPP event {event.event_id} has already ended")
            # Events over and done with are forgotten (their consumption records stay).
            gone = set(schedule.prune(st.cursor_us))
            st.cpp_accepted = [i for i in st.cpp_accepted if i not in gone]
            st.cpp_rejected = [i for i in st.cpp_rejected if i not in gone]
        schedule.add(event)
        st.cpp_events = schedule.documents()
        self._reschedule()

    def respond_cpp(self, event_id: int, accept: bool) -> None:
        """The consumer's answer to a CPP event (16.11.8); a mandatory event cannot be
        rejected (16.11.9). A rejection takes effect at once, even mid-event."""
        event = self._cpp_schedule.events.get(event_id)
        if event is None:
            raise LocalProtocolError(f"no CPP event {event_id}")
        if not accept and not event.refusable:
            raise LocalProtocolError(f"CPP event {event_id} cannot be refused (16.11.9)")
        st = self._s
        st.cpp_accepted = sorted(
            set(st.cpp_accepted) - {event_id} | ({event_id} if accept else set())
        )
        st.cpp_rejected = sorted(
            set(st.cpp_rejected) - {event_id} | (set() if accept else {event_id})
        )
        self._reschedule()

    def consume(
        self,
        start: datetime,
        end: datetime,
        import_wh: int,
        export_wh: int = 0,
        *,
        generation_wh: int | None = None,
    ) -> list[TariffEvent]:
        """Bill `import_wh` and `export_wh` used evenly over [start, end); `generation_wh` is
        the gross generation (16.22.1), the export when not metered apart.

        Intervals come in time order; a gap since the last one is consumed as zero energy (its
        boundaries and standing charges still happen); an overlap is refused."""
        s, e = to_us(start), to_us(end)
        imp, exp = _energy("import_wh", import_wh), _energy("export_wh", export_wh)
        gen = exp if generation_wh is None else _energy("generation_wh", generation_wh)
        if e <= s:
            raise LocalProtocolError(f"interval ends at {end} before it starts at {start}")
        st = self._s
        events: list[TariffEvent] = []
        if st.cursor_us is None:
            self._begin(s, events)
        elif s < st.cursor_us:
            raise LocalProtocolError(
                f"interval from {start} overlaps what was consumed up to {from_us(st.cursor_us)}"
            )
        elif s > st.cursor_us:
            self._run(st.cursor_us, s, 0, 0, 0, events)
        st.import_wh += imp
        st.export_wh += exp
        st.generation_wh += gen
        if exp > imp:
            st.net_export_wh += exp - imp
        self._run(s, e, imp, exp, gen, events)
        st.cursor_us = e
        return events

    # ------------------------------------------------------------------ queries

    def price_at(self, now: datetime) -> PriceNow | None:
        """The price in force at `now` (16.17, 16.20), None before any tariff."""
        at = to_us(now)
        st = self._s
        tariff, pricing, fresh = self._active, self._pricing, False
        if self._passive is not None and to_us(self._passive.effective_from) <= at:
            tariff, pricing, fresh = self._passive, Pricing(self._passive, self._tz), True
        if tariff is None or pricing is None:
            return None
        day = self._table(pricing, local_date(at, self._tz))
        index = day.index_at(at)
        register = day.registers[index]
        i = register - 1
        tier = block = None
        tier_label = block_label = None
        price = pricing.import_price[i]
        if pricing.kind is StructureKind.MATRIX:
            quantity = 0 if fresh else sum(st.threshold_wh[x] for x in pricing.counted[i])
            tier = bisect_right(pricing.thresholds[i], quantity)
            price = pricing.tier_prices[i][tier]
            tier_label = pricing.tier_labels[i][tier]
            tier += 1
        elif pricing.kind is StructureKind.BLOCK:
            b = 0 if fresh else bisect_right(pricing.block_limits, st.block_period_wh)
            price, block, block_label = pricing.block_prices[b], b + 1, pricing.block_labels[b]
        cpp = self._cpp_at(at)
        changes = [day.next_after(at)]
        edge = self._cpp_schedule.next_edge(at)
        if edge is not None:
            changes.append(edge)
        if self._passive is not None and not fresh:
            changes.append(to_us(self._passive.effective_from))
        return PriceNow(
            at=now,
            tariff_name=tariff.name,
            structure=tariff.kind,
            currency=tariff.currency,
            register=register,
            register_label=pricing.labels[i],
            tier=tier,
            tier_label=tier_label,
            block=block,
            import_price=cpp.price if cpp is not None else UnitPrice(price),
            export_price=UnitPrice(pricing.export_price[i]),
            aux_load=day.aux_load[index],
            cpp=cpp,
            next_change=from_us(min(changes)),
            block_label=block_label,
        )

    def registers(self) -> Registers:
        """Every register, as values (16.15)."""
        st = self._s
        pricing = self._pricing
        prices: list[list[UnitPrice | None]] = [[None] * 8 for _ in range(8)]
        if pricing is not None and pricing.kind is StructureKind.MATRIX:
            for r in range(8):
                for t, value in enumerate(pricing.tier_prices[r]):
                    prices[r][t] = UnitPrice(value)
        billing_day = billing_days = 0
        if pricing is not None and st.day_ordinal is not None:
            billing_day, billing_days = pricing.days_in_bill(date.fromordinal(st.day_ordinal))
        total = st.import_cost + st.export_cost + st.generation_discount + st.standing_charge
        return Registers(
            currency=Currency(st.currency),
            import_wh=st.import_wh,
            export_wh=st.export_wh,
            net_export_wh=st.net_export_wh,
            gross_generation_wh=st.generation_wh,
            tou_import_wh=tuple(st.tou_import_wh),
            tou_export_wh=tuple(st.tou_export_wh),
            tou_import_cost=tuple(Money(v) for v in st.tou_import_cost),
            tou_export_cost=tuple(Money(v) for v in st.tou_export_cost),
            tou_labels=tuple(st.tou_labels),
            matrix_wh=tuple(tuple(st.matrix_wh[r * 8 : r * 8 + 8]) for r in range(8)),
            matrix_cost=tuple(
                tuple(Money(v) for v in st.matrix_cost[r * 8 : r * 8 + 8]) for r in range(8)
            ),
            matrix_price=tuple(tuple(row) for row in prices),
            block_wh=tuple(st.block_wh),
            block_cost=tuple(Money(v) for v in st.block_cost),
            cpp=tuple(
                CppConsumption(r[0], r[1], from_us(r[2]), (r[3], r[4]), Money(r[5]))
                for r in st.cpp_records
            ),
            import_cost=Money(st.import_cost),
            export_cost=Money(st.export_cost),
            generation_discount=Money(st.generation_discount),
            standing_charge=Money(st.standing_charge),
            total_cost=Money(total),
            cost_today=Money(st.cost_today),
            cost_since_bill=Money(st.cost_since_bill),
            last_bill_cost=Money(st.last_bill_cost),
            billing_day=billing_day,
            billing_days=billing_days,
        )

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able ints, strings and lists; `TariffEngine(tz, snapshot)`
        carries on exactly where this one is."""
        # Through JSON: a deep copy of plain data, several times faster than copy.deepcopy.
        return json.loads(json.dumps(self._s.to_dict()))  # type: ignore[no-any-return]

    # ------------------------------------------------------------------ time stepping

    def _run(self, s: int, e: int, imp: int, exp: int, gen: int, events: list[TariffEvent]) -> None:
        if self._next_us <= s:
            self._due(s, events)
        if e < self._next_us:  # no boundary inside: the common case
            self._apply(s, e, imp, exp, gen, events)
            return
        span, t, di, de, dg = e - s, s, 0, 0, 0
        while True:
            boundary = self._next_us
            if boundary >= e:
                self._apply(t, e, imp - di, exp - de, gen - dg, events)
                break
            elapsed = boundary - s
            ci, ce, cg = imp * elapsed // span, exp * elapsed // span, gen * elapsed // span
            self._apply(t, boundary, ci - di, ce - de, cg - dg, events)
            di, de, dg, t = ci, ce, cg, boundary
            self._due(t, events)
        if self._next_us <= e:
            self._due(e, events)

    def _due(self, t: int, events: list[TariffEvent]) -> None:
        while self._next_us <= t:
            self._step(self._next_us, events)

    def _step(self, c: int, events: list[TariffEvent]) -> None:
        if self._passive is not None and to_us(self._passive.effective_from) <= c:
            self._activate(c, events)
        active = self._active
        switch = None if active is None else active.currency_switch
        if switch is not None and to_us(switch.at) <= c:
            self._switch_currency(c, events)
        assert self._day is not None
        while self._day.end_us <= c:
            self._roll_day(events)
        self._settle(c, events)

    def _begin(self, s: int, events: list[TariffEvent]) -> None:
        day = local_date(s, self._tz)
        self._set_day(day)
        if self._passive is not None and to_us(self._passive.effective_from) <= s:
            self._activate(s, events)
            assert self._day is not None
            if s == self._day.start_us and self._pricing is not None:
                self._charge_standing(self._pricing.standing_charge_due(day))
        self._settle(s, events)

    def _settle(self, c: int, events: list[TariffEvent] | None) -> None:
        """Register, CPP and tier in force at `c`, change events, and the next boundary."""
        day = self._day
        assert day is not None
        self._index = day.index_at(c)
        register, aux = day.registers[self._index], day.aux_load[self._index]
        self._update_cpp(c, events)
        tier, block = self._tier_and_block(register)
        if events is not None and (
            register != self._register
            or aux != self._aux
            or tier != self._tier
            or block != self._block
        ):
            at = from_us(c)
            # After an activation (register 0) the activation event announces the price.
            if self._register and (register != self._register or aux != self._aux):
                detail = {"register": str(register), "aux_load": str(aux).lower()}
                if tier is not None:
                    detail["tier"] = str(tier + 1)
                events.append(TariffEvent(at, TariffEventKind.RATE_SWITCHED, None, detail))
            elif self._tier is not None and tier is not None and tier != self._tier:
                detail = {"rate": str(register), "tier": str(tier + 1)}
                events.append(TariffEvent(at, TariffEventKind.TIER_CHANGED, None, detail))
            if self._block is not None and block is not None and block != self._block:
                detail = {"block": str(block + 1)}
                events.append(TariffEvent(at, TariffEventKind.BLOCK_CHANGED, None, detail))
        self._register, self._aux, self._tier, self._block = register, aux, tier, block
        candidates = [day.next_after(c)]
        edge = self._cpp_schedule.next_edge(c)
        if edge is not None:
            candidates.append(edge)
        if self._passive is not None:
            candidates.append(max(to_us(self._passive.effective_from), c + 1))
        if self._active is not None and self._active.currency_switch is not None:
            candidates.append(max(to_us(self._active.currency_switch.at), c + 1))
        self._next_us = min(candidates)

    def _reschedule(self) -> None:
        """A command changed the schedule: settle again at the cursor before consuming more."""
        cursor = self._s.cursor_us
        if cursor is not None:
            self._next_us = cursor

    def _tier_and_block(self, register: int) -> tuple[int | None, int | None]:
        pricing = self._pricing
        if pricing is None:
            return None, None
        st = self._s
        if pricing.kind is StructureKind.MATRIX:
            i = register - 1
            quantity = sum(st.threshold_wh[x] for x in pricing.counted[i])
            return bisect_right(pricing.thresholds[i], quantity), None
        if pricing.kind is StructureKind.BLOCK:
            return None, bisect_right(pricing.block_limits, st.block_period_wh)
        return None, None

    # ------------------------------------------------------------------ days and tariffs

    def _table(self, pricing: Pricing | None, day: date) -> DayTable:
        if pricing is not None and pricing.tables is not None:
            return pricing.tables.day(day)
        start = local_midnight_us(day, self._tz)
        end = local_midnight_us(day + timedelta(days=1), self._tz)
        return DayTable(day, start, end, (start,), (1,), (False,))

    def _set_day(self, day: date) -> None:
        self._day = self._table(self._pricing, day)
        self._s.day_ordinal = day.toordinal()

    def _roll_day(self, events: list[TariffEvent]) -> None:
        """A local midnight passed (cost today, billing period, thresholds, blocks, 16.16)."""
        assert self._day is not None
        st = self._s
        day = self._day.day + timedelta(days=1)
        at = from_us(self._day.end_us)
        self._set_day(day)
        st.cost_today = 0
        pricing = self._pricing
        if pricing is None:
            return
        bill_start = pricing.bill_start(day)
        if st.bill_start_ordinal != bill_start.toordinal():
            if st.bill_start_ordinal is not None:
                detail = {"cost": str(Money(st.cost_since_bill)), "currency": st.currency}
                events.append(
                    TariffEvent(
                        at,
                        TariffEventKind.BILLING_RESET,
                        EventCode.SYNCHRONOUS_BILLING_RESET,
                        detail,
                    )
                )
                st.last_bill_cost, st.cost_since_bill = st.cost_since_bill, 0
            st.bill_start_ordinal = bill_start.toordinal()
        key = pricing.threshold_key(day, bill_start)
        if key != st.threshold_key:
            st.threshold_key, st.threshold_wh = key, [0] * 8
        block_key = pricing.block_key(day)
        if block_key != st.block_key:
            st.block_key, st.block_period_wh = block_key, 0
        self._charge_standing(pricing.standing_charge_due(day))

    def _charge_standing(self, amount: int) -> None:
        st = self._s
        st.standing_charge += amount
        st.cost_today += amount
        st.cost_since_bill += amount

    def _activate(self, c: int, events: list[TariffEvent]) -> None:
        """The passive tariff becomes active (16.7): counts of tiers and blocks start afresh,
        the cumulative registers carry on."""
        tariff = self._passive
        assert tariff is not None and self._day is not None
        st = self._s
        self._passive, st.passive = None, None
        self._install(tariff)
        pricing = self._pricing
        assert pricing is not None
        day = self._day.day
        bill_start = pricing.bill_start(day)
        if st.bill_start_ordinal is None:
            st.bill_start_ordinal = bill_start.toordinal()
        st.threshold_key = pricing.threshold_key(day, bill_start)
        st.threshold_wh = [0] * 8
        st.block_key, st.block_period_wh = pricing.block_key(day), 0
        st.tou_labels = list(pricing.labels)
        self._tier = self._block = None
        self._register = 0
        detail = {"name": tariff.name, "structure": tariff.kind.value}
        events.append(
            TariffEvent(
                from_us(c), TariffEventKind.TARIFF_ACTIVATED, _ACTIVATED[tariff.kind], detail
            )
        )

    def _install(self, tariff: Tariff) -> None:
        assert self._day is not None
        self._active = tariff
        self._s.active = encode_tariff(tariff)
        self._s.currency = tariff.currency.value
        self._pricing = Pricing(tariff, self._tz)
        self._set_day(self._day.day)

    def _currency_at(self, tariff: Tariff) -> Currency:
        """The registers' currency when `tariff` takes effect."""
        current = Currency(self._s.currency)
        switch = None if self._active is None else self._active.currency_switch
        if switch is not None and switch.at <= tariff.effective_from:
            return switch.currency
        return current

    def _switch_currency(self, c: int, events: list[TariffEvent]) -> None:
        """12.1.q: prices and every money register turn into the new currency at the rate."""
        active = self._active
        assert active is not None and active.currency_switch is not None
        switch = active.currency_switch
        rate = switch.rate
        st = self._s
        old = st.currency

        def convert(value: int) -> int:
            return rate.convert_money(Money(value)).value

        for name in ("tou_import_cost", "tou_export_cost", "matrix_cost", "block_cost"):
            setattr(st, name, [convert(v) for v in getattr(st, name)])
        for name in (
            "import_cost",
            "export_cost",
            "generation_discount",
            "standing_charge",
            "cost_today",
            "cost_since_bill",
            "last_bill_cost",
        ):
            setattr(st, name, convert(getattr(st, name)))
        for record in st.cpp_records:
            record[5] = convert(record[5])
        self._install(convert_tariff(active, rate, switch.currency))
        if self._passive is not None and self._passive.currency.value == old:
            self._passive = convert_tariff(self._passive, rate, switch.currency)
            st.passive = encode_tariff(self._passive)
        self._cpp_schedule.convert(rate)
        st.cpp_events = self._cpp_schedule.documents()
        detail = {"from": old, "to": switch.currency.value, "rate": str(rate)}
        events.append(
            TariffEvent(
                from_us(c), TariffEventKind.CURRENCY_SWITCHED, EventCode.CURRENCY_SWITCHED, detail
            )
        )

    # ------------------------------------------------------------------ CPP

    def _cpp_at(self, at: int) -> CppInForce | None:
        window = self._cpp_schedule.window_at(at, self._s.cpp_rejected)
        if window is None:
            return None
        event = self._cpp_schedule.events[window[2]]
        record = self._records.get((window[2], window[3]))
        used = 0 if record is None else record[3] + record[4]
        tier = 0 if used < event.threshold_wh else 1
        return CppInForce(
            event_id=event.event_id,
            occurrence=window[3],
            label=event.label,
            tier=tier + 1,
            price=event.prices[tier],
            end=from_us(window[1]),
            refusable=event.refusable,
        )

    def _update_cpp(self, c: int, events: list[TariffEvent] | None) -> None:
        window = self._cpp_schedule.window_at(c, self._s.cpp_rejected)
        key = None if window is None else (window[2], window[3])
        if key == self._cpp:
            return
        at = from_us(c)
        if self._cpp is not None and events is not None:
            detail = {"id": str(self._cpp[0]), "occurrence": str(self._cpp[1])}
            events.append(
                TariffEvent(at, TariffEventKind.CPP_ENDED, EventCode.CPP_EVENT_ENDED, detail)
            )
        self._cpp, self._record = key, None
        if window is None or key is None:
            return
        record = self._records.get(key)
        if record is None:
            record = [window[2], window[3], window[0], 0, 0, 0]
            self._records[key] = record
            self._s.cpp_records.append(record)
        self._record = record
        if events is not None:
            detail = {"id": str(key[0]), "occurrence": str(key[1])}
            events.append(
                TariffEvent(at, TariffEventKind.CPP_STARTED, EventCode.CPP_EVENT_STARTED, detail)
            )

    # ------------------------------------------------------------------ billing energy

    def _apply(
        self, t0: int, t1: int, imp: int, exp: int, gen: int, events: list[TariffEvent]
    ) -> None:
        """Bill energy used in [t0, t1), inside which no boundary falls."""
        st = self._s
        pricing = self._pricing
        i = self._register - 1
        money = 0
        if exp:
            st.tou_export_wh[i] += exp
            if pricing is not None:
                cost = exp * pricing.export_price[i]
                st.tou_export_cost[i] += cost
                st.export_cost += cost
                money += cost
        if gen and pricing is not None and pricing.generation_discount:
            cost = gen * pricing.generation_discount
            st.generation_discount += cost
            money += cost
        if imp:
            if self._record is not None:
                money += self._bill_cpp(t0, t1, imp, events)
            elif pricing is None:
                st.tou_import_wh[i] += imp
            elif pricing.kind is StructureKind.MATRIX:
                money += self._bill_matrix(pricing, t0, t1, imp, events)
            elif pricing.kind is StructureKind.BLOCK:
                money += self._bill_block(pricing, t0, t1, imp, events)
            else:
                cost = imp * pricing.import_price[i]
                st.tou_import_wh[i] += imp
                st.tou_import_cost[i] += cost
                st.import_cost += cost
                money += cost
        if money:
            st.cost_today += money
            st.cost_since_bill += money

    def _bill_matrix(
        self, pricing: Pricing, t0: int, t1: int, imp: int, events: list[TariffEvent]
    ) -> int:
        """16.13.1.d: consumption moves to the next tier when the rule's quantity reaches a
        threshold within the threshold period."""
        st = self._s
        r = self._register - 1
        thresholds, prices = pricing.thresholds[r], pricing.tier_prices[r]
        quantity = sum(st.threshold_wh[x] for x in pricing.counted[r])
        remaining, money = imp, 0
        while remaining:
            tier = bisect_right(thresholds, quantity)
            take = remaining
            if pricing.self_counted[r] and tier < len(thresholds):
                take = min(remaining, thresholds[tier] - quantity)
            cost = take * prices[tier]
            cell = r * 8 + tier
            st.matrix_wh[cell] += take
            st.matrix_cost[cell] += cost
            st.tou_import_wh[r] += take
            st.tou_import_cost[r] += cost
            st.threshold_wh[r] += take
            if pricing.self_counted[r]:
                quantity += take
            money += cost
            remaining -= take
            now = bisect_right(thresholds, quantity)
            if now != self._tier:
                self._tier = now
                at = from_us(t0 + (t1 - t0) * (imp - remaining) // imp)
                detail = {"rate": str(r + 1), "tier": str(now + 1)}
                events.append(TariffEvent(at, TariffEventKind.TIER_CHANGED, None, detail))
        st.import_cost += money
        return money

    def _bill_block(
        self, pricing: Pricing, t0: int, t1: int, imp: int, events: list[TariffEvent]
    ) -> int:
        """16.19: each block's price applies until the period's consumption passes its limit."""
        st = self._s
        limits, prices = pricing.block_limits, pricing.block_prices
        remaining, money = imp, 0
        while remaining:
            block = bisect_right(limits, st.block_period_wh)
            take = remaining
            if block < len(limits):
                take = min(remaining, limits[block] - st.block_period_wh)
            cost = take * prices[block]
            st.block_wh[block] += take
            st.block_cost[block] += cost
            st.tou_import_wh[0] += take
            st.tou_import_cost[0] += cost
            st.block_period_wh += take
            money += cost
            remaining -= take
            now = bisect_right(limits, st.block_period_wh)
            if now != self._block:
                self._block = now
                at = from_us(t0 + (t1 - t0) * (imp - remaining) // imp)
                detail = {"block": str(now + 1)}
                events.append(TariffEvent(at, TariffEventKind.BLOCK_CHANGED, None, detail))
        st.import_cost += money
        return money

    def _bill_cpp(self, t0: int, t1: int, imp: int, events: list[TariffEvent]) -> int:
        """16.11.5: up to the event's threshold at its first price, beyond at its second;
        16.12.1.e, 16.21: CPP supersedes the structure while in force."""
        record = self._record
        assert record is not None and self._cpp is not None
        event = self._cpp_schedule.events[self._cpp[0]]
        remaining, money = imp, 0
        while remaining:
            used = record[3] + record[4]
            tier = 0 if used < event.threshold_wh else 1
            take = min(remaining, event.threshold_wh - used) if tier == 0 else remaining
            cost = take * event.prices[tier].value
            record[3 + tier] += take
            record[5] += cost
            money += cost
            remaining -= take
            if tier == 0 and record[3] == event.threshold_wh:
                at = from_us(t0 + (t1 - t0) * (imp - remaining) // imp)
                detail = {"id": str(event.event_id), "tier": "2"}
                events.append(TariffEvent(at, TariffEventKind.CPP_TIER_CHANGED, None, detail))
        self._s.import_cost += money
        return money

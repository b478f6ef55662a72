"""Passive to active at the exact instant (16.7) and the currency switch-over (12.1.q, 16.18)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.meter.tariff import TariffEngine, TariffEventKind
from protocol.errors import DecodeError, LocalProtocolError
from protocol.event_codes import EventCode
from protocol.tariff import Currency, Money, UnitPrice
from tests.devices.tariff.tariffs import JAN_1, LONDON, engine_with, single

HOUR = timedelta(hours=1)
INSTANT = datetime(2026, 1, 1, 12, 15, tzinfo=UTC)


@pytest.mark.req("16.7")
def test_the_passive_tariff_becomes_active_exactly_at_its_instant() -> None:
    engine = engine_with(single("0.10"))
    engine.consume(JAN_1, JAN_1 + 12 * HOUR, 0)
    engine.set_passive(single("0.20", name="Next", effective_from=INSTANT.isoformat()))
    # The price in force flips at the instant, not a microsecond before.
    before = engine.price_at(INSTANT - timedelta(microseconds=1))
    after = engine.price_at(INSTANT)
    assert before is not None and after is not None
    assert (before.import_price, after.import_price) == (UnitPrice.of("0.10"), UnitPrice.of("0.20"))
    # 12:00-13:00 holds 15 minutes of the old tariff and 45 of the new one.
    events = engine.consume(JAN_1 + 12 * HOUR, JAN_1 + 13 * HOUR, 3_600)
    assert [(e.at, e.kind, e.code) for e in events] == [
        (INSTANT, TariffEventKind.TARIFF_ACTIVATED, EventCode.SINGLE_RATE_TARIFF_ACTIVATED)
    ]
    regs = engine.registers()
    assert regs.import_cost == UnitPrice.of("0.10").cost_of(900) + UnitPrice.of("0.20").cost_of(
        2_700
    )
    assert engine.active is not None and engine.active.name == "Next"
    assert engine.passive is None


@pytest.mark.req("16.7")
def test_an_interval_ending_at_the_instant_activates_it_and_cancel_withdraws_it() -> None:
    engine = engine_with(single("0.10"))
    engine.consume(JAN_1, JAN_1 + HOUR, 0)
    engine.set_passive(single("0.20", name="Next", effective_from=(JAN_1 + 2 * HOUR).isoformat()))
    events = engine.consume(JAN_1 + HOUR, JAN_1 + 2 * HOUR, 100)
    assert [e.at for e in events] == [JAN_1 + 2 * HOUR]
    engine.set_passive(single("0.30", name="Later", effective_from=(JAN_1 + 5 * HOUR).isoformat()))
    engine.cancel_passive()
    engine.consume(JAN_1 + 2 * HOUR, JAN_1 + 6 * HOUR, 0)
    assert engine.active is not None and engine.active.name == "Next"


@pytest.mark.req("16.7")
def test_a_tariff_already_due_takes_effect_at_the_next_instant_consumed() -> None:
    engine = engine_with(single("0.10"))
    engine.consume(JAN_1, JAN_1 + 3 * HOUR, 0)
    engine.set_passive(single("0.20", name="Late", effective_from=(JAN_1 + HOUR).isoformat()))
    events = engine.consume(JAN_1 + 3 * HOUR, JAN_1 + 4 * HOUR, 1_000)
    assert [e.at for e in events] == [JAN_1 + 3 * HOUR]
    assert engine.registers().import_cost == Money.of("0.20")


@pytest.mark.req("12.1.q", "16.18")
def test_currency_switch_over_converts_prices_and_registers() -> None:
    switch = {"at": "2026-01-02T00:00:00+00:00", "currency": "EUR", "rate": "1.15"}
    engine = engine_with(single("0.20", currency_switch=switch, standing_charge={"amount": "0.40"}))
    engine.consume(JAN_1, JAN_1 + 12 * HOUR, 10_000)
    assert engine.registers().currency is Currency.GBP
    events = engine.consume(JAN_1 + 12 * HOUR, JAN_1 + 36 * HOUR, 10_000)
    switched = [e for e in events if e.code is EventCode.CURRENCY_SWITCHED]
    assert [(e.at, e.detail) for e in switched] == [
        (JAN_1 + 24 * HOUR, {"from": "GBP", "to": "EUR", "rate": "1.15"})
    ]
    regs = engine.registers()
    assert regs.currency is Currency.EUR
    # 15 kWh at GBP 0.20 = 3.00 -> EUR 3.45; then 5 kWh at EUR 0.23 = 1.15.
    assert regs.import_cost == Money.of("4.60")
    # GBP 0.40 (1 January) -> EUR 0.46, then EUR 0.46 on 2 January.
    assert regs.standing_charge == Money.of("0.92")
    price = engine.price_at(JAN_1 + 36 * HOUR)
    assert price is not None
    assert (price.currency, price.currency.symbol, price.import_price) == (
        Currency.EUR,
        "€",
        UnitPrice.of("0.23"),
    )


def test_a_tariff_in_the_wrong_currency_is_refused() -> None:
    engine = engine_with(single("0.20"))
    engine.consume(JAN_1, JAN_1 + HOUR, 0)
    with pytest.raises(LocalProtocolError, match="EUR"):
        engine.set_passive(
            single("0.20", currency="EUR", effective_from="2026-02-01T00:00:00+00:00")
        )


def test_commands_are_checked() -> None:
    engine = TariffEngine(LONDON)
    with pytest.raises(LocalProtocolError, match="aware"):
        engine.consume(datetime(2026, 1, 1), datetime(2026, 1, 1, 1), 0)
    with pytest.raises(LocalProtocolError, match="before it starts"):
        engine.consume(JAN_1 + HOUR, JAN_1, 0)
    with pytest.raises(LocalProtocolError, match="non-negative int"):
        engine.consume(JAN_1, JAN_1 + HOUR, -1)
    engine.consume(JAN_1, JAN_1 + HOUR, 1)
    with pytest.raises(LocalProtocolError, match="overlaps"):
        engine.consume(JAN_1, JAN_1 + HOUR, 1)
    with pytest.raises(LocalProtocolError, match="no CPP event"):
        engine.respond_cpp(9, accept=True)
    assert engine.price_at(JAN_1) is None


def test_a_snapshot_from_elsewhere_is_refused() -> None:
    engine = engine_with(single("0.20"))
    engine.consume(JAN_1, JAN_1 + HOUR, 100)
    saved = engine.snapshot()
    assert TariffEngine(LONDON, saved).registers() == engine.registers()
    for broken in ({**saved, "version": 99}, {**saved, "tou_import_wh": [0] * 47}, {"x": 1}):
        with pytest.raises(DecodeError, match="tariff engine snapshot"):
            TariffEngine(LONDON, broken)

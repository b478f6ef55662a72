"""Block tariffs, export and generation, standing charges, billing periods, worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.meter.tariff import TariffEventKind
from protocol.event_codes import EventCode
from protocol.tariff import Money, decode_tariff
from tests.devices.tariff.tariffs import JAN_1, document, engine_with, run_flat, single

HOUR = timedelta(hours=1)


@pytest.mark.req("16.19")
def test_block_tariff_resolved_over_two_days() -> None:
    body = {
        "period_days": 2,
        "blocks": [
            {"label": "First 5 kWh", "import_price": "0.30", "up_to_wh": 5_000},
            {"label": "Next 10 kWh", "import_price": "0.20", "up_to_wh": 15_000},
            {"label": "Beyond", "import_price": "0.15"},
        ],
    }
    engine = engine_with(decode_tariff(document("block", body)))
    events = run_flat(engine, JAN_1, JAN_1 + timedelta(days=4), HOUR, 500)
    regs = engine.registers()
    # 12 kWh a day, 24 kWh a period: 5 + 10 + 9 kWh, twice.
    assert regs.block_wh[:4] == (10_000, 20_000, 18_000, 0)
    assert regs.block_cost[:3] == (Money.of("3"), Money.of("4"), Money.of("2.7"))
    assert regs.tou_import_wh[0] == 48_000
    # A new period began at the end: the first block's price again.
    price = engine.price_at(JAN_1 + 96 * HOUR)
    assert price is not None
    assert (price.block, price.block_label, str(price.import_price)) == (1, "First 5 kWh", "0.3")
    blocks = [(e.at, e.detail["block"]) for e in events if e.kind is TariffEventKind.BLOCK_CHANGED]
    assert blocks == [
        (JAN_1 + 10 * HOUR, "2"),
        (JAN_1 + 30 * HOUR, "3"),
        (JAN_1 + 48 * HOUR, "1"),  # a new block period on 3 January
        (JAN_1 + 58 * HOUR, "2"),
        (JAN_1 + 78 * HOUR, "3"),
        (JAN_1 + 96 * HOUR, "1"),
    ]


@pytest.mark.req("16.22.1")
def test_export_credits_at_a_negative_rate_and_generation_earns_its_discount() -> None:
    tariff = decode_tariff(
        document(
            "single",
            {"import_price": "0.25", "export_price": "-0.15"},
            generation_discount="-0.05",
        )
    )
    engine = engine_with(tariff)
    engine.consume(JAN_1, JAN_1 + HOUR, 1_000, 3_000, generation_wh=5_000)
    engine.consume(JAN_1 + HOUR, JAN_1 + 2 * HOUR, 2_000, 500)  # generation = export
    regs = engine.registers()
    assert (regs.import_wh, regs.export_wh) == (3_000, 3_500)
    assert regs.net_export_wh == 2_000  # only the first hour exported more than it imported
    assert regs.gross_generation_wh == 5_500
    assert regs.tou_export_wh[0] == 3_500
    assert regs.export_cost == Money.of("-0.525")
    assert regs.generation_discount == Money.of("-0.275")
    assert regs.import_cost == Money.of("0.75")
    assert regs.total_cost == Money.of("-0.05")


@pytest.mark.req("16.16")
def test_weekly_standing_charge_from_the_tariffs_first_day() -> None:
    engine = engine_with(single(standing_charge={"amount": "2.10", "period_days": 7}))
    run_flat(engine, JAN_1, JAN_1 + timedelta(days=14, hours=1), HOUR, 0)
    regs = engine.registers()
    # Charged at the start of 1, 8 and 15 January.
    assert regs.standing_charge == Money.of("6.30")
    assert regs.total_cost == Money.of("6.30")
    assert regs.cost_today == Money.of("2.10")


@pytest.mark.req("16.16")
def test_a_daily_standing_charge_starts_the_midnight_after_a_mid_day_start() -> None:
    engine = engine_with(
        single(standing_charge={"amount": "0.50"}, effective_from="2026-01-01T12:00:00+00:00")
    )
    run_flat(engine, JAN_1, JAN_1 + timedelta(days=3, hours=1), HOUR, 100)
    regs = engine.registers()
    assert regs.standing_charge == Money.of("1.50")  # 2, 3 and 4 January
    assert regs.cost_today == Money.of("0.50") + Money.of("0.025")  # and 100 Wh at 0.25


def test_monthly_billing_period_day_of_and_cost_since_last_bill() -> None:
    engine = engine_with(
        single("0.20", billing={"period": "monthly", "day": 15}, standing_charge={"amount": "0.40"})
    )
    events = run_flat(engine, JAN_1, datetime(2026, 1, 18, 12, tzinfo=UTC), HOUR, 100)
    regs = engine.registers()
    resets = [e for e in events if e.code is EventCode.SYNCHRONOUS_BILLING_RESET]
    assert [e.at for e in resets] == [datetime(2026, 1, 15, tzinfo=UTC)]
    # 1-14 January: 14 days x (2.4 kWh x 0.20 + 0.40) = 12.32
    assert regs.last_bill_cost == Money.of("12.32")
    # 15 January to 18 January 12:00: 3.5 days of energy, 4 standing charges.
    assert regs.cost_since_bill == Money.of("1.68") + Money.of("1.60")
    assert (regs.billing_day, regs.billing_days) == (4, 31)


def test_quarterly_billing_period_length() -> None:
    engine = engine_with(single(billing={"period": "quarterly"}))
    engine.consume(JAN_1, datetime(2026, 2, 10, tzinfo=UTC), 0)
    regs = engine.registers()
    assert (regs.billing_day, regs.billing_days) == (41, 90)


@pytest.mark.req("16.16")
def test_a_gap_between_intervals_still_charges_its_standing_charges() -> None:
    engine = engine_with(single("0.20", standing_charge={"amount": "0.40"}))
    engine.consume(JAN_1, JAN_1 + HOUR, 1_000)
    # The meter was off from 01:00 on 1 January to 12:00 on 3 January.
    events = engine.consume(JAN_1 + 59 * HOUR, JAN_1 + 60 * HOUR, 1_000)
    regs = engine.registers()
    assert regs.standing_charge == Money.of("1.20")  # 1, 2 and 3 January
    assert regs.import_cost == Money.of("0.40")
    assert regs.cost_today == Money.of("0.60")
    assert events == []

"""8x8 rate x tier, worked by hand: a month with a rule threshold, and a daily threshold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from devices.meter.tariff import TariffEventKind
from protocol.tariff import Money, UnitPrice, decode_tariff
from tests.devices.tariff.tariffs import JAN_1, document, engine_with, run_flat

HALF_HOUR = timedelta(minutes=30)


def matrix(threshold_period: str, threshold_wh: int, over: list[int]) -> dict[str, Any]:
    """Peak (rate 1) 16:00-19:00, off-peak (rate 2) otherwise; two tiers each."""

    def rate(number: int, label: str, first: str, second: str) -> dict[str, Any]:
        return {
            "rate": number,
            "label": label,
            "threshold_rates": over,
            "tiers": [
                {"label": "Tier 1", "import_price": first, "up_to_wh": threshold_wh},
                {"label": "Tier 2", "import_price": second},
            ],
        }

    return document(
        "matrix",
        {
            "threshold_period": threshold_period,
            "rates": [rate(1, "Peak", "0.20", "0.30"), rate(2, "Off-peak", "0.10", "0.15")],
            "switches": [
                {"start": "00:00", "rate": 2},
                {"start": "16:00", "rate": 1},
                {"start": "19:00", "rate": 2},
            ],
        },
    )


@pytest.mark.req("16.13.1.a", "16.13.1.b", "16.13.1.d", "16.13.1.f", "16.6.c")
def test_a_month_with_a_threshold_over_rates_1_and_2_month_to_date() -> None:
    engine = engine_with(decode_tariff(matrix("monthly", 99_950, [1, 2])))
    feb = datetime(2026, 2, 1, tzinfo=UTC)  # February 2026: 28 days of GMT
    engine.consume(JAN_1, feb, 0)
    events = run_flat(engine, feb, datetime(2026, 3, 1, tzinfo=UTC), HALF_HOUR, 100)
    regs = engine.registers()
    # 4.8 kWh a day: 0.6 peak, 4.2 off-peak. After 20 days 96 kWh; on the 21st off-peak takes it
    # to 99.2 by 16:00, peak to 99.8 by 19:00, and 99.95 is reached half-way through 19:30-20:00.
    assert regs.matrix_wh[0][:2] == (21 * 600, 7 * 600)  # peak: 21 days in tier 1, 7 in tier 2
    assert regs.matrix_wh[1][:2] == (99_950 - 21 * 600, 28 * 4_800 - 99_950 - 7 * 600)
    assert regs.matrix_cost[0][:2] == (Money.of("2.52"), Money.of("1.26"))
    assert regs.matrix_cost[1][:2] == (Money.of("8.735"), Money.of("4.5375"))
    assert regs.import_cost == Money.of("17.0525")
    assert regs.matrix_price[0][:3] == (UnitPrice.of("0.20"), UnitPrice.of("0.30"), None)
    # The 8x8 rate sums are the time-of-use registers 1 and 2 (16.15: rate registers).
    assert regs.tou_import_wh[:2] == (sum(regs.matrix_wh[0]), sum(regs.matrix_wh[1]))
    tiers = [(e.at, e.detail) for e in events if e.kind is TariffEventKind.TIER_CHANGED]
    assert tiers[0] == (datetime(2026, 2, 21, 19, 45, tzinfo=UTC), {"rate": "2", "tier": "2"})
    # 1 March: a new threshold period, back to tier 1.
    assert tiers[-1] == (datetime(2026, 3, 1, tzinfo=UTC), {"rate": "2", "tier": "1"})


@pytest.mark.req("16.13.1.e")
def test_a_daily_threshold_on_monthly_billing_resets_each_day() -> None:
    engine = engine_with(decode_tariff(matrix("daily", 3_000, [1, 2])))
    day = datetime(2026, 1, 5, tzinfo=UTC)
    engine.consume(JAN_1, day, 0)
    run_flat(engine, day, day + timedelta(days=2), HALF_HOUR, 100)
    regs = engine.registers()
    # 4.8 kWh a day: 3 kWh in tier 1 (reached at 15:00, all off-peak), 1.8 kWh in tier 2.
    assert regs.matrix_wh[1][:2] == (2 * 3_000, 2 * (4_200 - 3_000))
    assert regs.matrix_wh[0][:2] == (0, 2 * 600)
    price = engine.price_at(day + timedelta(days=2, hours=1))
    assert price is not None
    assert (price.register, price.tier, price.tier_label) == (2, 1, "Tier 1")


@pytest.mark.req("16.13.1.f")
def test_a_rate_whose_threshold_counts_another_rate_only() -> None:
    # Peak moves to tier 2 once off-peak has used 1 kWh today; its own use does not count.
    doc = matrix("daily", 1_000, [2])
    engine = engine_with(decode_tariff(doc))
    day = datetime(2026, 1, 5, tzinfo=UTC)
    engine.consume(JAN_1, day, 0)
    run_flat(engine, day, day + timedelta(days=1), HALF_HOUR, 100)
    regs = engine.registers()
    assert regs.matrix_wh[0][:2] == (0, 600)
    assert regs.matrix_wh[1][:2] == (1_000, 3_200)

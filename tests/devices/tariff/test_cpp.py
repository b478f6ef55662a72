"""Critical peak pricing laid over a time-of-use day (16.11), worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.meter.tariff import TariffEventKind
from protocol.errors import LocalProtocolError
from protocol.event_codes import EventCode
from protocol.tariff import Money
from tests.devices.tariff.tariffs import JAN_1, cpp, engine_with, run_flat, tou

HALF_HOUR = timedelta(minutes=30)
DAY = datetime(2026, 1, 15, tzinfo=UTC)
PEAK = (DAY + timedelta(hours=17), DAY + timedelta(hours=19))


@pytest.mark.req("16.11.3", "16.11.5", "16.11.6", "16.11.7", "16.11.11", "16.12.1.e")
def test_a_cpp_event_inside_a_time_of_use_day() -> None:
    engine = engine_with(tou([("00:30", 2), ("07:30", 1)], {1: "0.30", 2: "0.10"}))
    engine.consume(JAN_1, DAY, 0)
    engine.add_cpp_event(cpp(7, *PEAK, threshold_wh=500, prices=("0.50", "1.00")))
    events = run_flat(engine, DAY, DAY + timedelta(days=1), HALF_HOUR, 300)
    regs = engine.registers()
    # 17:00-19:00: four intervals of 300 Wh, 500 Wh at 0.50 then 700 Wh at 1.00.
    (record,) = regs.cpp
    assert (record.event_id, record.occurrence, record.tier_wh) == (7, 0, (500, 700))
    assert record.cost == Money.of("0.95")
    # The rest of the day on the ToU registers: 14 night and 30 day intervals minus 4 CPP.
    assert regs.tou_import_wh[:2] == (30 * 300, 14 * 300)
    assert regs.import_cost == Money.of("0.95") + Money.of("2.7") + Money.of("0.42")
    kinds = [(e.at, e.kind, e.code) for e in events if e.kind.value.startswith("cpp")]
    assert kinds == [
        (PEAK[0], TariffEventKind.CPP_STARTED, EventCode.CPP_EVENT_STARTED),
        # 17:30-18:00 starts with 300 Wh used: 200 Wh more reach the threshold, 2/3 in.
        (PEAK[0] + timedelta(minutes=50), TariffEventKind.CPP_TIER_CHANGED, None),
        (PEAK[1], TariffEventKind.CPP_ENDED, EventCode.CPP_EVENT_ENDED),
    ]


@pytest.mark.req("16.11.2")
def test_price_now_announces_a_future_event_and_prices_it_while_in_force() -> None:
    engine = engine_with(tou([("00:30", 2), ("07:30", 1)], {1: "0.30", 2: "0.10"}))
    engine.consume(JAN_1, DAY + timedelta(hours=12), 0)
    engine.add_cpp_event(cpp(7, *PEAK, threshold_wh=0, prices=("0.50", "1.00")))
    before = engine.price_at(DAY + timedelta(hours=12))
    assert before is not None and before.cpp is None
    assert before.next_change == PEAK[0]
    during = engine.price_at(PEAK[0])
    assert during is not None and during.cpp is not None
    # Threshold 0: every Wh of the event is in its second tier.
    assert (during.cpp.tier, str(during.import_price)) == (2, "1")


@pytest.mark.req("16.11.9")
def test_a_refusable_event_rejected_is_not_charged_and_a_mandatory_one_cannot_be() -> None:
    engine = engine_with(tou([("00:30", 2), ("07:30", 1)], {1: "0.30", 2: "0.10"}))
    engine.consume(JAN_1, DAY, 0)
    engine.add_cpp_event(cpp(1, *PEAK, threshold_wh=500, prices=("0.50", "1.00"), refusable=True))
    engine.add_cpp_event(cpp(2, PEAK[1], PEAK[1] + HALF_HOUR, threshold_wh=0, prices=("2", "2")))
    engine.respond_cpp(1, accept=False)
    with pytest.raises(LocalProtocolError, match="cannot be refused"):
        engine.respond_cpp(2, accept=False)
    engine.respond_cpp(2, accept=True)
    run_flat(engine, DAY, DAY + timedelta(days=1), HALF_HOUR, 300)
    regs = engine.registers()
    assert [(r.event_id, r.tier_wh) for r in regs.cpp] == [(2, (0, 300))]
    assert regs.tou_import_wh[:2] == (33 * 300, 14 * 300)


def test_rejecting_mid_event_ends_it_at_once() -> None:
    engine = engine_with(tou([("00:30", 2), ("07:30", 1)], {1: "0.30", 2: "0.10"}))
    engine.consume(JAN_1, DAY, 0)
    engine.add_cpp_event(cpp(1, *PEAK, threshold_wh=500, prices=("0.50", "1.00"), refusable=True))
    run_flat(engine, DAY, PEAK[0] + HALF_HOUR, HALF_HOUR, 300)
    engine.respond_cpp(1, accept=False)
    events = engine.consume(PEAK[0] + HALF_HOUR, PEAK[0] + 2 * HALF_HOUR, 300)
    assert [e.kind for e in events][:1] == [TariffEventKind.CPP_ENDED]
    assert [r.tier_wh for r in engine.registers().cpp] == [(300, 0)]


@pytest.mark.req("16.11.4", "16.11.7")
def test_a_recurring_event_keeps_its_local_time_across_the_march_clock_change() -> None:
    engine = engine_with(tou([("00:00", 1)], {1: "0.20"}))
    start = datetime(2026, 3, 28, 17, tzinfo=UTC)  # 17:00 GMT, the day before BST begins
    engine.consume(JAN_1, start - timedelta(hours=1), 0)
    event = cpp(
        3,
        start,
        start + timedelta(hours=1),
        threshold_wh=100,
        prices=("0.5", "0.6"),
        recurrence={"every_days": 1, "count": 2},
    )
    engine.add_cpp_event(event)
    events = run_flat(engine, start - timedelta(hours=1), start + timedelta(days=2), HALF_HOUR, 100)
    starts = [e.at for e in events if e.kind is TariffEventKind.CPP_STARTED]
    # The second occurrence is at 17:00 BST, 16:00 UTC.
    assert starts == [start, datetime(2026, 3, 29, 16, tzinfo=UTC)]
    assert [(r.occurrence, r.tier_wh) for r in engine.registers().cpp] == [
        (0, (100, 100)),
        (1, (100, 100)),
    ]

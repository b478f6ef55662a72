"""48x1 time of use, worked by hand: one-minute resolution, switches, and the clock changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from devices.meter.tariff import TariffEventKind
from protocol.tariff import Money, UnitPrice, decode_tariff
from tests.devices.tariff.tariffs import JAN_1, document, engine_with, run_flat, tou

MINUTE = timedelta(minutes=1)
HALF_HOUR = timedelta(minutes=30)
# Night (register 2) from 23:00 to 07:00, day (register 1) from 07:00 to 23:00, local time.
DAY_NIGHT = [("07:00", 1), ("23:00", 2)]
PRICES = {1: "0.30", 2: "0.10"}


@pytest.mark.req("16.1", "16.12.1.a", "16.12.1.d", "16.6.b")
def test_a_winter_day_at_one_minute_resolution() -> None:
    engine = engine_with(tou(DAY_NIGHT, PRICES))
    day = datetime(2026, 1, 15, tzinfo=UTC)  # GMT: local time is UTC
    events = run_flat(engine, day, day + timedelta(days=1), MINUTE, 10)
    regs = engine.registers()
    # 07:00-23:00 is 960 minutes of day, the other 480 are night; 10 Wh a minute.
    assert regs.tou_import_wh[:3] == (9_600, 4_800, 0)
    assert regs.import_wh == 14_400
    assert regs.tou_import_cost[0] == Money.of("2.88")  # 9.6 kWh x 0.30
    assert regs.tou_import_cost[1] == Money.of("0.48")  # 4.8 kWh x 0.10
    switches = [
        (e.at, e.detail["register"]) for e in events if e.kind is TariffEventKind.RATE_SWITCHED
    ]
    assert switches == [
        (day + timedelta(hours=7), "1"),
        (day + timedelta(hours=23), "2"),
    ]


@pytest.mark.req("16.12.1.d")
def test_an_interval_across_a_switch_is_apportioned_by_time() -> None:
    engine = engine_with(tou(DAY_NIGHT, PRICES))
    day = datetime(2026, 1, 15, tzinfo=UTC)
    engine.consume(day, day + timedelta(hours=6, minutes=59, seconds=15), 0)
    # 06:59:15-07:00:15: 45 s of night, 15 s of day; 60 Wh spread evenly.
    start = day + timedelta(hours=6, minutes=59, seconds=15)
    engine.consume(start, start + MINUTE, 60)
    regs = engine.registers()
    assert regs.tou_import_wh[:2] == (15, 45)
    assert regs.tou_import_cost[:2] == (Money.of("0.0045"), Money.of("0.0045"))


@pytest.mark.req("16.12.1.d")
def test_switch_entries_by_weekday_and_season() -> None:
    body = {
        "registers": [
            {"register": 1, "label": "Standard", "import_price": "0.20"},
            {"register": 5, "label": "Weekend", "import_price": "0.12"},
            {"register": 9, "label": "Summer peak", "import_price": "0.40"},
        ],
        "switches": [
            {"start": "00:00", "register": 1},
            {"start": "00:00", "register": 5, "days": ["sat", "sun"]},
            {
                "start": "16:00",
                "register": 9,
                "days": ["mon", "tue", "wed", "thu", "fri"],
                "season": {"from": "01/06", "to": "31/08"},
            },
            {"start": "19:00", "register": 1, "days": ["mon", "tue", "wed", "thu", "fri"]},
        ],
    }
    tariff = decode_tariff(document("tou", body))
    engine = engine_with(tariff)
    cases = [
        (datetime(2026, 1, 3, 12, tzinfo=UTC), 5),  # Saturday
        (datetime(2026, 1, 5, 17, tzinfo=UTC), 1),  # Monday in winter: no summer peak
        (datetime(2026, 7, 6, 16, tzinfo=UTC), 9),  # Monday 17:00 BST, summer
        (datetime(2026, 7, 6, 18, tzinfo=UTC), 1),  # 19:00 BST
        (datetime(2026, 9, 1, 16, tzinfo=UTC), 1),  # 1 September: season over
    ]
    for at, register in cases:
        price = engine.price_at(at)
        assert price is not None
        assert (at, price.register) == (at, register)


@pytest.mark.req("16.12.1.d")
def test_october_clock_change_day_has_25_hours() -> None:
    # 25 October 2026: BST ends, 02:00 BST becomes 01:00 GMT (01:00 UTC).
    engine = engine_with(
        tou([("00:00", 2), ("07:00", 1), ("01:30", 3)], {1: "0.30", 2: "0.10", 3: "0.05"})
    )
    local_midnight = datetime(2026, 10, 24, 23, tzinfo=UTC)
    engine.consume(JAN_1, local_midnight, 0)
    events = run_flat(engine, local_midnight, datetime(2026, 10, 26, tzinfo=UTC), HALF_HOUR, 100)
    regs = engine.registers()
    # Night 00:00-01:30 BST (first 01:30 is 00:30 UTC): 1.5 h; register 3 from 00:30 UTC to
    # 07:00 GMT (07:00 UTC): 6.5 h, the repeated hour inside; day 07:00-24:00 GMT: 17 h.
    assert regs.tou_import_wh[:3] == (3_400, 300, 1_300)
    assert regs.import_wh == 50 * 100
    switches = [e.at for e in events if e.kind is TariffEventKind.RATE_SWITCHED]
    assert switches == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC),
        datetime(2026, 10, 25, 7, tzinfo=UTC),
        datetime(2026, 10, 26, 0, tzinfo=UTC),
    ]


@pytest.mark.req("16.12.1.d")
def test_march_clock_change_day_has_23_hours() -> None:
    # 29 March 2026: GMT 01:00 becomes BST 02:00 at 01:00 UTC; 01:30 never happens locally.
    engine = engine_with(
        tou([("00:00", 2), ("01:30", 3), ("07:00", 1)], {1: "0.30", 2: "0.10", 3: "0.05"})
    )
    local_midnight = datetime(2026, 3, 29, tzinfo=UTC)
    engine.consume(JAN_1, local_midnight, 0)
    run_flat(engine, local_midnight, datetime(2026, 3, 29, 23, tzinfo=UTC), HALF_HOUR, 100)
    regs = engine.registers()
    # Night 00:00-01:00 UTC (the clock jumps over 01:30: register 3 from the jump); register 3
    # 01:00-06:00 UTC (07:00 BST); day 06:00-23:00 UTC.
    assert regs.tou_import_wh[:3] == (3_400, 200, 1_000)
    assert regs.import_wh == 46 * 100


@pytest.mark.req("16.7")
def test_a_new_tariff_takes_effect_inside_the_repeated_october_hour() -> None:
    first = tou([("00:00", 1)], {1: "0.20"})
    engine = engine_with(first)
    engine.consume(JAN_1, datetime(2026, 10, 25, tzinfo=UTC), 0)
    second = tou([("00:00", 2)], {2: "0.40"}, effective_from="2026-10-25T01:30:00+00:00")
    engine.set_passive(second)
    # 00:00-02:00 UTC is 01:00 BST to 02:00 GMT, the hour that happens twice.
    events = engine.consume(
        datetime(2026, 10, 25, tzinfo=UTC), datetime(2026, 10, 25, 2, tzinfo=UTC), 1_200
    )
    regs = engine.registers()
    assert regs.tou_import_wh[:2] == (900, 300)
    assert regs.tou_import_cost[:2] == (
        UnitPrice.of("0.20").cost_of(900),
        UnitPrice.of("0.40").cost_of(300),
    )
    activated = [e for e in events if e.kind is TariffEventKind.TARIFF_ACTIVATED]
    assert [e.at for e in activated] == [datetime(2026, 10, 25, 1, 30, tzinfo=UTC)]


@pytest.mark.req("16.12.1.d")
def test_a_switch_entry_drives_the_auxiliary_load_output() -> None:
    body = {
        "registers": [
            {"register": 1, "label": "Day", "import_price": "0.27"},
            {"register": 2, "label": "Heating", "import_price": "0.09"},
        ],
        "switches": [
            {"start": "00:00", "register": 1},
            {"start": "02:00", "register": 2, "aux_load": True},
            {"start": "05:00", "register": 1},
        ],
    }
    engine = engine_with(decode_tariff(document("tou", body)))
    day = datetime(2026, 1, 15, tzinfo=UTC)
    events = run_flat(engine, day, day + timedelta(hours=6), HALF_HOUR, 100)
    outputs = [
        (e.at.hour, e.detail["aux_load"]) for e in events if e.kind is TariffEventKind.RATE_SWITCHED
    ]
    assert outputs == [(2, "true"), (5, "false")]
    during = engine.price_at(day + timedelta(hours=3))
    after = engine.price_at(day + timedelta(hours=5))
    assert during is not None and after is not None
    assert (during.aux_load, after.aux_load) == (True, False)

"""Block thresholds and the block period pushed to the price clients at once (16.20, 16.19).

A gas meter on a daily block tariff, on a manual clock; the IHD's GetCurrentPrice makes it a
price client, and what the meter then sends on its radio is decoded as the IHD would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from zigpy.zcl import foundation

from devices.gsme.firmware import GsmeFirmware
from devices.meter import price_publish
from devices.meter.tariff_setup import TariffSetup
from firmware.zcl.frame import ZclFrame
from hal.emulated.clock import ManualClock
from hal.emulated.metrology import ConstantFlow
from hal.real.sqlite_store import SqliteStore
from protocol.se import Price
from protocol.se.types import TariffTypeField
from protocol.tariff import tariff_from_json
from tests.boards import gas_meter_board, identity
from tests.devices.test_meter_tariff import Sent, request, settle

ROOT = Path(__file__).resolve().parents[2]
#: Two minutes before local midnight (GMT in January): the next block period starts at 00:00.
START = datetime(2026, 1, 20, 23, 58, tzinfo=UTC)


def daily_blocks(limits: tuple[int, int], effective: datetime) -> dict[str, Any]:
    document = json.loads((ROOT / "rigs" / "tariffs" / "block.json").read_text())
    document["block"]["period_days"] = 1
    for block, limit in zip(document["block"]["blocks"], limits, strict=False):
        block["up_to_wh"] = limit
    document["effective_from"] = effective.isoformat()
    return dict(document)


def pushed(sent: Sent, name: str) -> list[Any]:
    return [fields for command, fields in sent.commands(Price) if command == name]


def thresholds(fields: Any) -> list[int]:
    return [int(v) for entry in fields.block_thresholds for v in entry.block_thresholds]


#: Local midnight of START: the next daily block period starts then.
MIDNIGHT = datetime(2026, 1, 21, tzinfo=UTC)


async def block_meter(clock: ManualClock, store: SqliteStore, started: Any) -> tuple[Any, Sent]:
    """A gas meter on daily blocks of 10 and 30 kWh, the IHD its price client, nothing sent yet."""
    tariff = tariff_from_json(
        json.dumps(daily_blocks((10_000, 30_000), datetime(2026, 1, 5, tzinfo=UTC))).encode()
    )
    board = gas_meter_board(clock, store, ConstantFlow(0.5))
    meter = await started(GsmeFirmware(identity("gsme"), board, TariffSetup(tariff)))
    await clock.run_for(1)
    sent = Sent(meter)
    request(meter, Price, "get_current_price", command_options=0)
    await settle(clock)
    sent.frames.clear()
    return meter, sent


async def run_until(clock: ManualClock, instant: datetime) -> None:
    await clock.run_for((instant - clock.now()).total_seconds())


@pytest.mark.req("16.20")
async def test_block_thresholds_and_period_are_pushed_when_they_change(
    store: SqliteStore, started: Any
) -> None:
    clock = ManualClock(START)
    meter, sent = await block_meter(clock, store, started)

    await run_until(clock, MIDNIGHT - timedelta(seconds=1))  # within the block period
    assert pushed(sent, "publish_block_period") == []
    assert pushed(sent, "publish_block_thresholds") == []
    await clock.run_for(2)  # past 00:00: a new block period (a day), pushed once
    (period,) = pushed(sent, "publish_block_period")
    assert period.block_period_start_time == int(
        (MIDNIGHT - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds()
    )
    assert period.block_period_duration == 1
    (same,) = pushed(sent, "publish_block_thresholds")
    assert thresholds(same) == [10_000, 30_000]

    # The head-end moves the thresholds, effective in two minutes: pushed at that instant.
    sent.frames.clear()
    effective = clock.now().replace(microsecond=0) + timedelta(minutes=2)
    meter.tariff.commands.dispatch(
        "set_tariff", {"tariff": daily_blocks((5_000, 20_000), effective)}
    )
    await run_until(clock, effective - timedelta(seconds=1))
    assert pushed(sent, "publish_block_thresholds") == []  # not before its instant
    await clock.run_for(2)
    (moved,) = pushed(sent, "publish_block_thresholds")
    assert thresholds(moved) == [5_000, 20_000]
    assert len(pushed(sent, "publish_block_period")) == 1


def default_statuses(sent: Sent) -> list[foundation.Status]:
    frames = [ZclFrame.parse(p) for _, c, p in sent.frames if c == Price.cluster_id]
    return [
        foundation.DefaultResponse.deserialize(f.body)[0].status for f in frames if f.is_general
    ]


@pytest.mark.req("12.1.c", "12.1.e")
async def test_suppressed_thresholds_and_block_period_are_not_told_to_the_han(
    store: SqliteStore, started: Any
) -> None:
    """Tiers (12.1.c) and the block period (12.1.e) suppressed: neither is pushed at a new
    block period nor given on request; the thresholds are pushed again once shown."""
    clock = ManualClock(START)
    meter, sent = await block_meter(clock, store, started)
    for item in ("tiers", "block_period"):
        meter.tariff.commands.dispatch("tariff_items", {"action": "suppress", "item": item})
    await clock.run_for(1)
    sent.frames.clear()  # what is still shown may be told again as the other goes
    await run_until(clock, MIDNIGHT + timedelta(seconds=1))
    assert pushed(sent, "publish_block_period") == []
    assert pushed(sent, "publish_block_thresholds") == []

    any_tariff = 0xFFFFFFFF
    request(meter, Price, "get_block_thresholds", tsn=2, issuer_tariff_id=any_tariff)
    request(
        meter,
        Price,
        "get_block_periods",
        tsn=3,
        start_time=0,
        number_of_events=1,
        tariff_type=TariffTypeField(0),
    )
    await settle(clock)
    assert pushed(sent, "publish_block_thresholds") == []
    assert pushed(sent, "publish_block_period") == []
    assert default_statuses(sent) == [foundation.Status.NOT_FOUND] * 2

    sent.frames.clear()
    meter.tariff.commands.dispatch(
        "tariff_items", {"action": "suppress", "item": "tiers", "suppressed": False}
    )
    await clock.run_for(1)
    (shown,) = pushed(sent, "publish_block_thresholds")
    assert thresholds(shown) == [10_000, 30_000]
    assert pushed(sent, "publish_block_period") == []  # still suppressed


async def test_an_idle_meter_does_not_rebuild_its_blocks_each_sample(
    store: SqliteStore, started: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The thresholds and the block period are worked out again only for another tariff or a
    new block period, not on every 1 s sample."""
    clock = ManualClock(START - timedelta(hours=1))
    await block_meter(clock, store, started)
    calls: list[str] = []

    def counted(name: str) -> Callable[..., Any]:
        real = getattr(price_publish, name)

        def call(*args: Any) -> Any:
            calls.append(name)
            return real(*args)

        return call

    for name in ("threshold_table", "block_period_start"):
        monkeypatch.setattr(price_publish, name, counted(name))
    await clock.run_for(60)
    assert calls == []
    await run_until(clock, MIDNIGHT + timedelta(seconds=1))
    # Once for the new period, once more for the PublishBlockPeriod pushed: not per sample.
    assert calls == ["block_period_start", "block_period_start"]

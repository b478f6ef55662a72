"""Block thresholds and the block period pushed to the price clients at once (16.20, 16.19).

A gas meter on a daily block tariff, on a manual clock; the IHD's GetCurrentPrice makes it a
price client, and what the meter then sends on its radio is decoded as the IHD would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devices.gsme.firmware import GsmeFirmware
from devices.meter.tariff_setup import TariffSetup
from hal.emulated.clock import ManualClock
from hal.emulated.metrology import ConstantFlow
from hal.real.sqlite_store import SqliteStore
from protocol.se import Price
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


@pytest.mark.req("16.20", "16.19")
async def test_block_thresholds_and_period_are_pushed_when_they_change(
    store: SqliteStore, started: Any
) -> None:
    clock = ManualClock(START)
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

    await clock.run_for(60)  # nothing changes within the block period: nothing is pushed
    assert pushed(sent, "publish_block_period") == []
    await clock.run_for(120)  # 00:01: a new block period (a day)
    (period,) = pushed(sent, "publish_block_period")
    assert period.block_period_start_time == int(
        (datetime(2026, 1, 21, tzinfo=UTC) - datetime(2000, 1, 1, tzinfo=UTC)).total_seconds()
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
    await clock.run_for(60)
    assert pushed(sent, "publish_block_thresholds") == []  # not before its instant
    await clock.run_for(90)
    (moved,) = pushed(sent, "publish_block_thresholds")
    assert thresholds(moved) == [5_000, 20_000]
    assert pushed(sent, "publish_block_period")

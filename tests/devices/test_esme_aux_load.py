"""The ESME's auxiliary load switch output, driven by its 48x1 tariff on a manual clock: it
switches at the minute of the switch entry, the change is logged with the registers, and a
meter killed while the output is on starts again with the output the tariff asks for now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from devices.esme.firmware import EsmeFirmware
from devices.meter.tariff_setup import TariffSetup
from hal.emulated.aux_load import EmulatedAuxLoadSwitch
from hal.emulated.clock import ManualClock
from hal.emulated.metrology import ConstantLoad
from hal.real.sqlite_store import SqliteStore
from protocol.event_codes import EventCode
from protocol.tariff import decode_tariff
from protocol.tariff.model import Tariff
from tests.boards import electricity_meter_board, identity

#: 07:29:00 GMT (UK local time in January): a minute before the aux entry starts.
START = datetime(2026, 1, 15, 7, 29, tzinfo=UTC)


def tariff() -> Tariff:
    """Day rate, a one-minute boost register at 07:30 with the auxiliary load on, day at 07:31."""
    return decode_tariff(
        {
            "tariff": 1,
            "name": "aux",
            "fuel": "electricity",
            "effective_from": "2026-01-01T00:00:00Z",
            "tou": {
                "registers": [
                    {"register": 1, "label": "Day", "import_price": "0.30"},
                    {"register": 2, "label": "Boost", "import_price": "0.10"},
                ],
                "switches": [
                    {"start": "00:00", "register": 1},
                    {"start": "07:30", "register": 2, "aux_load": True},
                    {"start": "07:31", "register": 1},
                ],
            },
        }
    )


def esme(
    clock: ManualClock, store: SqliteStore, chosen: Tariff | None = None
) -> tuple[EsmeFirmware, EmulatedAuxLoadSwitch]:
    """A meter on a new board (its relay off, as at power-up) and that board's relay."""
    board = electricity_meter_board(clock, store, ConstantLoad(1200))
    assert isinstance(board.aux_load, EmulatedAuxLoadSwitch)
    return EsmeFirmware(identity("esme"), board, TariffSetup(chosen or tariff())), board.aux_load


def aux_events(meter: EsmeFirmware) -> list[tuple[datetime, str]]:
    return [
        (record.utc, record.detail["aux_load"])
        for record in reversed(meter.events.recent())
        if record.code is EventCode.AUX_LOAD_SWITCHED
    ]


@pytest.mark.req("16.12.1.d")
async def test_the_output_follows_the_switch_entry_to_the_minute(
    tmp_path: Path, started: Any
) -> None:
    clock = ManualClock(START)
    with SqliteStore(tmp_path / "esme.sqlite") as store:
        meter, relay = esme(clock, store)
        await started(meter)
        await clock.run_for(59)  # 07:29:59: still the day entry
        assert not relay.on and aux_events(meter) == []
        await clock.run_for(2)  # 07:30:01: the aux entry, sampled within a second
        assert relay.on
        assert "Aux load on" in meter.display.lines()
        assert (await meter._cmd_aux({}))["aux_load"] == "on"
        await clock.run_for(58)  # 07:30:59: one minute is not over
        assert relay.on
        await clock.run_for(2)  # 07:31:01: back to the day entry
        assert not relay.on
        [(on_at, on), (off_at, off)] = aux_events(meter)
        assert (on, off) == ("on", "off")
        assert START + timedelta(minutes=1) <= on_at <= START + timedelta(minutes=1, seconds=1)
        assert START + timedelta(minutes=2) <= off_at <= START + timedelta(minutes=2, seconds=1)
        assert [when for when, _ in relay.history] == [on_at, off_at]
        await meter.stop()


@pytest.mark.req("16.12.1.d", "18.2")
async def test_a_meter_killed_with_the_output_on_restarts_with_the_state_of_now(
    tmp_path: Path, started: Any
) -> None:
    """Killed at 07:30:30 with the output on: powered up again within the minute it is on again
    at once, with no second event; powered up after 07:31 it stays off and the switch-off is
    logged once."""
    for later, relay_on, events in ((10, True, ["on"]), (120, False, ["on", "off"])):
        clock = ManualClock(START)
        with SqliteStore(tmp_path / f"esme-{later}.sqlite") as store:
            meter, relay = esme(clock, store)
            await started(meter)
            await clock.run_for(90)
            assert relay.on
            meter._running = False  # a kill: no on_stop, no last save
            for task in list(meter._tasks):
                task.cancel()
            clock.advance(later)
            meter, relay = esme(clock, store)  # a new board: its relay starts off
            await started(meter)
            assert relay.on is relay_on
            assert [state for _, state in aux_events(meter)] == events
            await meter.stop()


@pytest.mark.req("16.12.1.d")
async def test_without_aux_entries_the_output_stays_off_and_the_display_says_nothing(
    tmp_path: Path, started: Any
) -> None:
    clock = ManualClock(START)
    with SqliteStore(tmp_path / "esme.sqlite") as store:
        meter, relay = esme(clock, store, decode_tariff(_plain_tou()))
        await started(meter)
        await clock.run_for(120)
        assert not relay.on and aux_events(meter) == []
        assert not any(line.startswith("Aux load") for line in meter.display.lines())
        await meter.stop()


def _plain_tou() -> dict[str, Any]:
    return {
        "tariff": 1,
        "name": "plain",
        "fuel": "electricity",
        "effective_from": "2026-01-01T00:00:00Z",
        "tou": {
            "registers": [
                {"register": 1, "label": "Day", "import_price": "0.30"},
                {"register": 2, "label": "Boost", "import_price": "0.10"},
            ],
            "switches": [
                {"start": "00:00", "register": 1},
                {"start": "07:30", "register": 2},
            ],
        },
    }

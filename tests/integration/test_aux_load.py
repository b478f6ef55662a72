"""The ESME's auxiliary load switch output on a running premises: the head-end sets a 48x1
tariff whose switch entry turns the auxiliary load on for two minutes, and the bench sees the
relay switch at the entry's start, through the real interfaces only (`smartmeter headend
tariff set`, `smartmeter bench esme aux`, the meter's bench port). The rig's clock runs ten
times real time.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig
from hal.ports import uk_local
from tests.integration.tariff_rig import bench, premises_of, run_smartmeter, smartmeter
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
SCALE = 10.0
#: Real seconds: a few rig minutes at ten times real time, with room for a loaded machine.
WAIT_S = 120.0
AUX_EVENT = 2111


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with premises_of(tmp_path_factory.mktemp("aux-load"), scale=SCALE) as started:
        yield started


def meter_now(rig: Rig) -> datetime:
    return datetime.fromisoformat(bench(rig, "esme", "status")["now"])


def hhmm(at: datetime) -> str:
    return uk_local(at).strftime("%H:%M")


def aux_tariff(on: datetime, off: datetime, effective: datetime) -> dict[str, Any]:
    """Day rate all day; the Boost register with the auxiliary load on from `on` to `off`."""
    return {
        "tariff": 1,
        "name": "Boost with aux",
        "fuel": "electricity",
        "effective_from": effective.isoformat(),
        "tou": {
            "registers": [
                {"register": 1, "label": "Day", "import_price": "0.30"},
                {"register": 2, "label": "Boost", "import_price": "0.10"},
            ],
            "switches": [
                {"start": "00:00", "register": 1},
                {"start": hhmm(on), "register": 2, "aux_load": True},
                {"start": hhmm(off), "register": 1},
            ],
        },
    }


def aux_state(rig: Rig) -> str:
    """What `smartmeter bench esme aux` prints: the output's state."""
    result = run_smartmeter(rig, "bench", "esme", "aux")
    assert result.returncode == 0, result.stderr
    state: str = json.loads(result.stdout)["aux_load"]
    return state


def aux_events(rig: Rig) -> list[tuple[datetime, str]]:
    events = bench(rig, "esme", "events", limit=50)["events"]
    return sorted(
        (datetime.fromisoformat(e["utc"]), e["detail"]["aux_load"])
        for e in events
        if e["code"] == AUX_EVENT
    )


@pytest.mark.req("16.12.1.d", "16.7")
def test_the_head_ends_48x1_tariff_switches_the_auxiliary_load_at_its_entry(
    rig: Rig, tmp_path: Path
) -> None:
    now = meter_now(rig)
    assert aux_state(rig) == "off"  # the demo's Economy 7 has no auxiliary load entries
    effective = (now + timedelta(minutes=1)).replace(microsecond=0)
    on = (now + timedelta(minutes=4)).replace(second=0, microsecond=0)
    off = on + timedelta(minutes=2)
    path = tmp_path / "aux.json"
    path.write_text(json.dumps(aux_tariff(on, off, effective)))
    reply = smartmeter(
        rig, "headend", "tariff", "set", "esme", str(path), "--from", effective.isoformat()
    )
    assert reply["data"]["structure"] == "tou"

    wait_until(lambda: aux_state(rig) == "on", WAIT_S, "the auxiliary load on")
    assert meter_now(rig) >= on  # not before its entry's minute
    assert any(line == "Aux load on" for line in bench(rig, "esme", "display")["lines"])
    wait_until(lambda: aux_state(rig) == "off", WAIT_S, "the auxiliary load off again")
    [(on_at, first), (off_at, second)] = aux_events(rig)
    assert (first, second) == ("on", "off")
    # Each switched at its entry's start, within the meter's one-second sampling (a rig
    # second is a tenth of a real one: half a rig minute of slack for a loaded machine).
    assert on <= on_at < on + timedelta(seconds=30)
    assert off <= off_at < off + timedelta(seconds=30)

"""Tariffs end to end, as real processes: head-end -> MQTT -> hub -> the meter's tunnel over the
HAN -> the meter's Price server -> the IHD's screen.

The test speaks only through real interfaces: the `smartmeter headend tariff` command line and
each device's bench-control port.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from firmware.rig import Rig
from tests.integration.tariff_rig import ROOT, bench, ihd_price, premises_of, smartmeter
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]


@pytest.fixture(scope="module")
def premises(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rig, None]]:
    with premises_of(tmp_path_factory.mktemp("tariff")) as rig:
        yield rig, None


@pytest.mark.req("16.7", "16.20", "16.17", "16.2")
def test_a_tariff_from_the_head_end_reaches_the_ihd_at_its_effective_instant(
    premises: tuple[Rig, None], tmp_path: Path
) -> None:
    rig, _ = premises
    # The demo's Economy 7: the meter publishes its price, the IHD shows it as money.
    wait_until(lambda: (ihd_price(rig) or {}).get("price") is not None, 60, "a price on the IHD")
    assert any("/kWh" in line for line in bench(rig, "esme", "display")["lines"])
    assert any(line.startswith("Elec £") for line in bench(rig, "ihd", "display")["lines"])
    document = json.loads((ROOT / "rigs" / "tariffs" / "demo-electricity.json").read_text())
    del document["tou"]
    document.update(name="Flat rate", single={"label": "Flat", "import_price": "0.2511"})
    path = tmp_path / "flat.json"
    path.write_text(json.dumps(document))
    meter_now = datetime.fromisoformat(bench(rig, "esme", "status")["now"])
    effective = (meter_now + timedelta(seconds=40)).replace(microsecond=0)
    reply = smartmeter(
        rig, "headend", "tariff", "set", "esme", str(path), "--from", effective.isoformat()
    )
    assert reply["data"]["effective_from"] == effective.isoformat()
    assert reply["data"]["structure"] == "single"
    assert (ihd_price(rig) or {}).get("price") != "0.2511"  # not before its instant (16.7)
    wait_until(
        lambda: (ihd_price(rig) or {}).get("price") == "0.2511", 90, "the new price on the IHD"
    )
    shown = ihd_price(rig)
    assert shown is not None and shown["label"] == "Flat"
    assert datetime.fromisoformat(shown["received_at"]) >= effective
    assert any("£0.2511/kWh Flat" in line for line in bench(rig, "ihd", "display")["lines"])
    registers = smartmeter(rig, "headend", "tariff", "registers", "esme")["data"]
    assert registers["active"]["name"] == "Flat rate" and registers["passive"] is None
    assert registers["price"]["unit_price"] == "0.2511"
    events = [e["code"] for e in bench(rig, "esme", "events", limit=50)["events"]]
    assert 2102 in events and 403 in events  # passive tariff updated, single rate activated


@pytest.mark.req("16.11.8", "16.11.10", "16.20")
def test_a_cpp_event_is_announced_on_the_ihd_and_the_consumer_answers(
    premises: tuple[Rig, None],
) -> None:
    rig, _ = premises
    wait_until(lambda: ihd_price(rig) is not None, 60, "the IHD reads prices")
    meter_now = datetime.fromisoformat(bench(rig, "esme", "status")["now"])
    start = (meter_now + timedelta(hours=1)).replace(microsecond=0)
    reply = smartmeter(
        rig,
        "headend",
        "tariff",
        "cpp",
        "esme",
        "--id",
        "41",
        "--start",
        start.isoformat(),
        "--minutes",
        "60",
        "--price1",
        "0.95",
        "--price2",
        "1.50",
        "--threshold-wh",
        "500",
    )
    assert reply["data"]["id"] == 41
    wait_until(
        lambda: ((ihd_price(rig) or {}).get("cpp") or {}).get("event_id") == 41, 30, "a CPP notice"
    )
    assert any(
        line.startswith("CPP ") and "accept?" in line
        for line in bench(rig, "ihd", "display")["lines"]
    )
    answered = bench(rig, "ihd", "cpp", fuel="electricity", accept=False)
    assert answered["auth"] == "Rejected"
    # The answer reached the meter, which logged it, and the head-end reads it back.
    status = smartmeter(rig, "headend", "tariff", "registers", "esme")["data"]["cpp_events"]
    assert {"id": 41, "start": start.isoformat(), "status": "Rejected"} in status
    assert 2108 in [e["code"] for e in bench(rig, "esme", "events", limit=50)["events"]]

    # ... and the hub passed it up the WAN: the head-end holds the event, naming the meter.
    def headend_heard() -> bool:
        events = smartmeter(rig, "headend", "events", "--limit", "50")
        listed = events if isinstance(events, list) else events.get("events", [])
        return any(e["code"] == 2108 and e["detail"].get("device") == "esme" for e in listed)

    wait_until(headend_heard, 30, "the CPP answer at the head-end")


@pytest.mark.req("16.15")
def test_the_head_end_reads_the_profile_and_sets_cv(premises: tuple[Rig, None]) -> None:
    rig, _ = premises
    now = datetime.fromisoformat(bench(rig, "gsme", "status")["now"])
    gas = smartmeter(
        rig, "headend", "tariff", "gas-conversion", "gsme", "--cv", "38.9", "--ptz", "1.02264"
    )
    assert gas["data"] == {"device": "gsme", "cv": "38.9", "ptz": "1.02264"}
    profile = smartmeter(
        rig,
        "headend",
        "tariff",
        "profile",
        "esme",
        "--from",
        (now - timedelta(days=1)).isoformat(),
        "--to",
        now.isoformat(),
    )["data"]
    assert profile["minutes"] == 30 and profile["unit"] == "Wh"
    assert isinstance(profile["intervals"], list)

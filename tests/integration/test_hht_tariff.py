"""`smartmeter hht tariff` on a running premises: the HHT reads, sets and suppresses a meter's
tariff items through the meter's optical port (a pty of the ESME's process), and the head-end
then reads over the WAN what the engineer set.

Real processes only (broker, head-end, hub, meters, IHD from the demo rig); the test speaks
through the command line and the bench ports.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from hal.control_socket import request_sync
from tests.integration.tariff_rig import run_smartmeter
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def premises(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    rig = load_rig(demo_rig_copy(tmp_path_factory.mktemp("hht-tariff"), broker_kind="mosquitto"))
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        launcher.wait_joined(90)
        yield rig
    finally:
        launcher.stop()


def smartmeter(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    """The CLI with the HHT's session kept in the rig's run directory."""
    return run_smartmeter(rig, *args, env={"SMARTMETER_HHT_STATE": str(rig.run_dir / "hht.json")})


def ok(result: subprocess.CompletedProcess[str]) -> Any:
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def refused(result: subprocess.CompletedProcess[str], text: str) -> None:
    """One line on stderr, naming the reason; nothing on stdout."""
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smartmeter: error: "), result.stderr
    assert text in lines[0] and not result.stdout


def bench(rig: Rig, device: str, cmd: str, **fields: Any) -> dict[str, Any]:
    return request_sync(rig.control_path(device), cmd, 10.0, **fields)


def log_in(rig: Rig, code: str, role: str) -> None:
    token = ok(smartmeter(rig, "headend", "engineer", "issue", code, "--role", role))["token"]
    ok(smartmeter(rig, "hht", "login", "--engineer", code, "--token", token))


@pytest.mark.req("12.1.d", "12.1.b", "12.1.a", "19.2.1", "17.2.21.a", "D.2.2")
def test_the_hht_reads_sets_and_suppresses_tariff_items(premises: Rig) -> None:
    rig = premises
    log_in(rig, "ENG7", "configure")
    read = ok(smartmeter(rig, "hht", "tariff", "read", "--meter", "esme"))["items"]
    assert set(read) == {
        "structure",
        "rates",
        "tiers",
        "pricing",
        "block_period",
        "currency",
        "conversion",
    }
    assert read["pricing"]["value"]["standing_charge"]["amount"] == "0.5389"
    assert read["structure"]["value"]["tou"]["switches"][0]["start"] == "00:30"

    pricing = {"standing_charge": {"amount": "0.61", "period_days": 1}, "currency": "GBP"}
    refused(
        smartmeter(rig, "hht", "tariff", "set", "pricing", json.dumps(pricing), "--meter", "esme"),
        "ERR05",  # the seal is intact
    )
    assert bench(rig, "esme", "seal", broken=True)["seal_broken"] is True
    refused(smartmeter(rig, "hht", "tariff", "set", "pricing", "{no", "--meter", "esme"), "JSON")
    refused(smartmeter(rig, "hht", "tariff", "set", "nothing", "{}", "--meter", "esme"), "items")
    refused(
        smartmeter(rig, "hht", "tariff", "set", "pricing", '{"currency":"EUR"}', "--meter", "esme"),
        "ERR04",
    )
    written = ok(
        smartmeter(rig, "hht", "tariff", "set", "pricing", json.dumps(pricing), "--meter", "esme")
    )
    assert written["item"] == "pricing" and written["value"] == pricing

    # The head-end reads over the WAN what the engineer set at the optical port.
    remote = ok(smartmeter(rig, "headend", "tariff", "items", "esme", "pricing"))
    assert remote["data"]["items"]["pricing"]["value"] == pricing

    shown = ok(smartmeter(rig, "hht", "tariff", "suppress", "rates", "--meter", "esme"))
    assert shown == {"item": "rates", "obis": "0-0:128.4.2", "suppressed": True}
    wait_until(
        lambda: not any("/kWh" in line for line in bench(rig, "esme", "display")["lines"]),
        20,
        "the unit price gone from the meter's display",
    )
    ok(smartmeter(rig, "hht", "tariff", "unsuppress", "rates", "--meter", "esme"))
    events = bench(rig, "esme", "events")["events"]
    local = [e for e in events if e["detail"].get("source") == "optical"]
    assert {(e["detail"].get("item"), e["detail"]["by"]) for e in local} >= {
        ("pricing", "ENG7"),
        ("rates", "ENG7"),
    }

    # A read-only engineer reads the items (12.1: authorised staff), from the readout, and may
    # change none of them (D.2.2).
    log_in(rig, "READ7", "read")
    seen = ok(smartmeter(rig, "hht", "tariff", "read", "pricing", "--meter", "esme"))["items"]
    assert seen["pricing"]["value"] == pricing and seen["pricing"]["suppressed"] is False
    refused(
        smartmeter(rig, "hht", "tariff", "set", "pricing", json.dumps(pricing), "--meter", "esme"),
        "configure role",
    )
    refused(smartmeter(rig, "hht", "tariff", "suppress", "rates", "--meter", "esme"), "configure")

"""Loss of communications on a whole premises of real processes (clauses 6.1.6, 12.7, 18.11.l):
the modem detaches or the broker stops, the HAN carries on, the WAN-loss alert is logged and
reaches the head-end when the WAN is back, the IHD shows its messages; a meter that stops
raises the HAN-loss alert at once. The rig's clock runs 10 times fast and the periods are
short, so each rule fires within seconds."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import CommsLossRules, Rig, load_rig
from hal.control_socket import request_sync
from protocol.event_codes import EventCode
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.launcher import BROKER, RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]

#: Seconds of the rig's clock; at scale 10, a tenth of that in real time.
RULES = {"wan_alert_after_s": 20, "ihd_failed_after_s": 40, "ihd_contact_after_s": 120}
SERVICE = "0800 555 0100"


def fast_rig(folder: Path) -> Rig:
    path = demo_rig_copy(folder, broker_kind="mosquitto")
    text = re.sub(r"(?m)^scale = .*$", "scale = 10.0", path.read_text())
    for key, value in RULES.items():
        text = re.sub(rf"(?m)^{key} = .*$", f"{key} = {value}", text)
    text = re.sub(r"(?m)^service_number = .*$", f'service_number = "{SERVICE}"', text)
    path.write_text(text)
    return load_rig(path)


@pytest.fixture(scope="module")
def premises(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rig, RigLauncher]]:
    rig = fast_rig(tmp_path_factory.mktemp("comms-loss"))
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        launcher.wait_joined(120)
        yield rig, launcher
    finally:
        launcher.stop()


def bench(rig: Rig, name: str, cmd: str, **fields: Any) -> dict[str, Any]:
    return request_sync(rig.control_path(name), cmd, 10.0, **fields)


def hub(rig: Rig) -> dict[str, Any]:
    return bench(rig, rig.hub.name, "status")


def wan_is(rig: Rig, state: str) -> bool:
    return bool(hub(rig)["wan"] == state)


def headend_events(rig: Rig, code: EventCode) -> list[dict[str, Any]]:
    events = bench(rig, "headend", "events", limit=500)["events"]
    return [e for e in events if e["source"] == rig.hub.name and e["code"] == code]


def ihd_lines(rig: Rig) -> list[str]:
    lines: list[str] = bench(rig, "ihd", "display")["lines"]
    return lines


def ihd_follows_load(rig: Rig, watts: int, shown: str) -> None:
    """A HAN-only exchange: the ESME's new load reaches the IHD (12.7.1)."""
    bench(rig, "esme", "load", watts=watts)
    wait_until(
        lambda: any(re.search(rf"\b{re.escape(shown)} kW\b", line) for line in ihd_lines(rig)),
        15,
        f"the IHD showing {shown} kW",
    )


@pytest.mark.req("6.1.6", "12.7.1", "12.7.5.a.1.i", "12.7.5.a.1.ii", "12.7.3")
def test_a_detached_modem_is_a_lost_wan_and_the_han_carries_on(
    premises: tuple[Rig, RigLauncher],
) -> None:
    rig, _ = premises
    wait_until(lambda: wan_is(rig, "connected"), 30, "the hub's WAN up")
    before = len(headend_events(rig, EventCode.COMMUNICATION_ERROR_WAN))
    bench(rig, rig.hub.name, "modem", registration="denied")
    wait_until(lambda: wan_is(rig, "disconnected"), 10, "the WAN down with the modem detached")
    ihd_follows_load(rig, 1234, "1.234")
    wait_until(
        lambda: CommsLossRules.FAILED_MESSAGE in ihd_lines(rig), 30, "the IHD's 'failed' message"
    )
    contact = CommsLossRules(service_number=SERVICE).contact_message
    wait_until(lambda: contact in ihd_lines(rig), 60, "the IHD's 'contact' message")
    status = hub(rig)["comms_loss"]
    assert status["wan_alert_logged"] is True
    # Logged, not delivered: nothing can reach the head-end while the bearer is down.
    assert len(headend_events(rig, EventCode.COMMUNICATION_ERROR_WAN)) == before
    bench(rig, rig.hub.name, "modem", registration="home")
    [*_, alert] = wait_until(
        lambda: headend_events(rig, EventCode.COMMUNICATION_ERROR_WAN)[before:],
        60,
        "the WAN-loss alert at the head-end after the WAN came back",
    )
    assert alert["detail"]["cause"] == "bearer detached"
    wait_until(lambda: headend_events(rig, EventCode.COMMUNICATION_OK_WAN), 30, "WAN ok again")
    wait_until(lambda: contact not in ihd_lines(rig), 30, "the IHD's message cleared")


@pytest.mark.req("12.7.1", "12.7.5.a.1.ii")
def test_a_stopped_broker_is_a_lost_wan_and_its_alert_comes_after(
    premises: tuple[Rig, RigLauncher],
) -> None:
    rig, launcher = premises
    wait_until(lambda: wan_is(rig, "connected"), 60, "the hub's WAN up")
    before = len(headend_events(rig, EventCode.COMMUNICATION_ERROR_WAN))
    broker = launcher.processes[BROKER]
    broker.terminate()
    broker.wait(10)
    try:
        wait_until(lambda: wan_is(rig, "disconnected"), 30, "the WAN down with the broker")
        ihd_follows_load(rig, 2750, "2.750")
        wait_until(lambda: hub(rig)["comms_loss"]["wan_alert_logged"], 30, "WAN alert logged")
    finally:
        launcher.restart(BROKER)
    [*_, alert] = wait_until(
        lambda: headend_events(rig, EventCode.COMMUNICATION_ERROR_WAN)[before:],
        60,
        "the WAN-loss alert at the head-end after the broker came back",
    )
    assert alert["detail"]["cause"] == "broker unreachable"


@pytest.mark.req("18.11.l", "12.1.r", "6.1.6")
def test_sim_removal_is_a_tamper_and_signal_quality_reaches_the_head_end(
    premises: tuple[Rig, RigLauncher],
) -> None:
    rig, _ = premises
    wait_until(lambda: wan_is(rig, "connected"), 60, "the hub's WAN up")
    bench(rig, rig.hub.name, "modem", rssi=22, ber=1)
    engineer = bench(rig, "headend", "engineer_issue", code="ENG1")
    status = request_sync(
        rig.control_path("headend"),
        "hub_device_status",
        20.0,
        device="esme",
        engineer="ENG1",
        token=engineer["token"],
    )
    bearer = status["data"]["wan_bearer"]
    assert (bearer["rssi"], bearer["ber"], bearer["csq"]) == (22, 1, "+CSQ: 22,1")
    assert bearer["rssi_dbm"] == -69
    bench(rig, rig.hub.name, "modem", sim="out")
    wait_until(lambda: wan_is(rig, "disconnected"), 10, "the WAN down without a SIM")
    bench(rig, rig.hub.name, "modem", sim="in")
    [removed] = wait_until(
        lambda: headend_events(rig, EventCode.SIM_REMOVED), 60, "SIM removed at the head-end"
    )
    assert removed["ref"] == "18.11.l"


@pytest.mark.req("12.7.5.a.2")
def test_a_silent_meter_raises_the_han_loss_alert_at_once(
    premises: tuple[Rig, RigLauncher],
) -> None:
    rig, launcher = premises
    wait_until(lambda: wan_is(rig, "connected"), 60, "the hub's WAN up")
    gas = launcher.processes["gsme"]
    gas.kill()
    gas.wait(10)
    try:
        [alert, *_] = wait_until(
            lambda: [
                e
                for e in headend_events(rig, EventCode.COMMUNICATION_ERROR_HAN)
                if e["detail"].get("device") == "gsme"
            ],
            90,
            "the HAN-loss alert at the head-end",
        )
        assert alert["detail"]["detail"] == "does not answer"
        assert "gsme" in hub(rig)["comms_loss"]["han_lost"]
    finally:
        launcher.restart("gsme")


@pytest.mark.req("12.7.6")
def test_the_rules_are_changed_locally_from_the_bench(premises: tuple[Rig, RigLauncher]) -> None:
    rig, _ = premises
    command = [sys.executable, "-m", "tools.cli", "hub", "comms-loss", "--rig", str(rig.path)]
    done = subprocess.run(
        [*command, "--ihd-contact-after-s", "150"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["rules"]["ihd_contact_after_s"] == 150
    refused = subprocess.run(
        [*command, "--service-number", "9" * 17], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and "service_number" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert hub(rig)["comms_loss"] is not None
    assert bench(rig, rig.hub.name, "comms_loss")["rules"]["ihd_contact_after_s"] == 150

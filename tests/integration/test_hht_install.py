"""`smartmeter hht install` on a fresh premises whose hub knows no install code yet (C.1, C.8).

The rig's hub takes only install codes handed over through the head-end (`[hub] admit =
"handed"`), so no device joins by itself. An engineer is issued by the head-end, logs in on the
HHT, and `hht install` scans the nameplates, checks them with the head-end, reads each meter
through its optical port, hands the codes over, waits for the joins, reports the link quality,
synchronises and ends with 'Welcome' on the meters and the IHD. A second test pulls the WAN
(the broker, ours and outside the launcher, so nothing restarts it) during the installation
and checks the exception and the guidance. Everything goes through the command line, the bench
ports and the optical ports, as real processes.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import BrokerKind, Rig, load_rig
from hal.control_socket import ControlError, request_sync
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.broker import BrokerSpec, rig_access, start_broker, stop_broker
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]


def handed_rig(folder: Path, broker_kind: str = "mosquitto") -> Rig:
    path = demo_rig_copy(folder, broker_kind=broker_kind)
    text = path.read_text()
    text = re.sub(r"(?m)^(wan_id = .*)$", r'\1\nadmit = "handed"', text, count=1)
    path.write_text(text)
    return load_rig(path)


def smartmeter(rig: Rig, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "SMARTMETER_HHT_STATE": str(rig.run_dir / "hht.json"),
    }
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", *args, "--rig", str(rig.path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def bench(rig: Rig, component: str, cmd: str) -> dict[str, Any]:
    return request_sync(rig.control_path(component), cmd, 10.0)


def hub_up(rig: Rig) -> bool:
    return bool(bench(rig, rig.hub.name, "status")["wan"] == "connected")


def log_in(rig: Rig) -> None:
    issued = smartmeter(rig, "headend", "engineer", "issue", "ENG7", "--role", "configure")
    assert issued.returncode == 0, issued.stderr
    token = json.loads(issued.stdout)["token"]
    login = smartmeter(rig, "hht", "login", "--engineer", "ENG7", "--token", token)
    assert login.returncode == 0, login.stderr


def refused_twice(rig: Rig, device: str) -> bool:
    log = (rig.run_dir / "logs" / f"{device}.log").read_text()
    return log.count("not on the HAN yet") >= 2


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[tuple[Rig, RigLauncher]]:
    rig = handed_rig(tmp_path)
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        yield rig, launcher
    finally:
        launcher.stop()


@pytest.mark.req(
    "20.2.5", "20.2.6", "20.2.8", "20.4.2.a", "20.4.2.b", "20.4.2.c", "17.2.9", "C.1", "C.8"
)
def test_hht_install_commissions_a_fresh_premises(fresh: tuple[Rig, RigLauncher]) -> None:
    rig, _ = fresh
    # Nobody joins before the installation: the hub has no install code.
    wait_until(lambda: hub_up(rig), 60, "the hub's bench port", ignore=(ControlError,))
    wait_until(lambda: refused_twice(rig, "esme"), 60, "the ESME trying to join", interval=0.5)
    assert not any(bench(rig, rig.hub.name, "status")["joined"].values())
    log_in(rig)

    install = smartmeter(rig, "hht", "install")
    print(install.stdout)
    assert install.returncode == 0, install.stdout + install.stderr
    out = install.stdout
    for number in range(1, 10):
        assert f"[{number}/9]" in out
    assert "Install complete." in out and "FAILED" not in out

    joined = bench(rig, rig.hub.name, "status")["joined"]
    assert joined == {"esme": True, "gsme": True, "ihd": True}
    for meter in ("esme", "gsme"):
        assert bench(rig, meter, "display")["lines"][-1] == "Welcome"
        settings = bench(rig, meter, "optical")["settings"]
        assert settings["payment_mode"] == "credit" and settings["mpxn"]
    wait_until(
        lambda: "Welcome" in bench(rig, "ihd", "display")["lines"], 10, "'Welcome' on the IHD"
    )
    records = json.loads(smartmeter(rig, "headend", "installations").stdout)["records"]
    synced = {r["device"] for r in records if r["kind"] == "install"}
    assert synced == {"esme", "gsme", "ihd"}
    esme = next(r for r in records if r["kind"] == "install" and r["device"] == "esme")["data"]
    assert esme["identifiers"]["serial"] == "EM00001001"
    assert "1-0:1.8.0" in esme["optical_readout"]
    assert esme["headend_read"]["registers"]["CurrentSummationDelivered"]["unit"] == "kWh"
    assert esme["signal"]["hub_hears_device"]["rssi"] is not None


@pytest.mark.req("20.4.2.d")
def test_install_stops_with_guidance_when_the_wan_is_pulled(tmp_path: Path) -> None:
    rig = handed_rig(tmp_path, broker_kind="external")
    host, port = rig.broker.host, rig.broker.port
    broker = start_broker(
        BrokerSpec(BrokerKind.MOSQUITTO, host, port, tmp_path / "broker", rig_access(rig))
    )
    launcher = RigLauncher(rig)
    try:
        launcher.start()
        wait_until(lambda: hub_up(rig), 60, "the hub's WAN", ignore=(ControlError,))
        log_in(rig)
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "SMARTMETER_HHT_STATE": str(rig.run_dir / "hht.json"),
        }
        install = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "hht", "install", "--rig", str(rig.path)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert install.stdout is not None
        seen = []
        for line in install.stdout:
            seen.append(line)
            if line.startswith("[4/9]"):
                stop_broker(broker)  # the WAN goes, for good: nobody restarts it
                break
        rest, errors = install.communicate(timeout=120)
        out = "".join(seen) + rest
        print(out, errors)
        assert install.returncode == 1
        assert "stopped at 'Hand install codes to the hub'" in errors
        assert "what to do:" in errors and "WAN" in errors
        assert "Install complete." not in out
        assert not any(bench(rig, rig.hub.name, "status")["joined"].values())
    finally:
        launcher.stop()
        if broker.poll() is None:
            stop_broker(broker)


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.mark.req("17.2.21.b.2", "20.2.9", "20.5.1", "20.5.2.1", "20.5.4.1", "C.6", "C.7", "C.9")
def test_after_the_installation(fresh: tuple[Rig, RigLauncher]) -> None:
    """Remote password reset, a replacement, a home move and a decommissioning, in turn."""
    rig, _ = fresh
    wait_until(lambda: hub_up(rig), 60, "the hub's bench port", ignore=(ControlError,))
    log_in(rig)
    ok(smartmeter(rig, "hht", "install"))

    # The head-end resets the ESME's password through the hub; the HHT gets the new one.
    ok(smartmeter(rig, "headend", "reset-password", "esme"))
    changes = bench(rig, "esme", "optical")["local_access"]["changes"]
    assert (changes[-1]["engineer"], changes[-1]["channel"], changes[-1]["item"]) == (
        "head-end",
        "han",
        "password",
    )
    ok(smartmeter(rig, "hht", "write", "0-0:128.0.1", "Supplier C", "--meter", "esme"))

    # A replacement inherits the old meter's configuration: what the old meter holds (read
    # through the probe), the head-end's records where it cannot be read.
    before = bench(rig, "esme", "optical")["settings"]
    out = ok(smartmeter(rig, "hht", "replace", "esme"))
    assert "Replacement complete." in out
    after = bench(rig, "esme", "optical")["settings"]
    assert after == {**before, "message": "Welcome"} and after["supplier"] == "Supplier C"

    # A home move: final readings to the head-end, then opening readings and 'Welcome'.
    ok(smartmeter(rig, "hht", "move-out"))
    assert bench(rig, "esme", "display")["lines"][-1] != "Welcome"
    wait_until(lambda: "Moved out" in bench(rig, "ihd", "display")["lines"], 10, "IHD moved out")
    ok(smartmeter(rig, "hht", "move-in"))
    assert bench(rig, "esme", "display")["lines"][-1] == "Welcome"

    # Decommissioning the GSME: final readings reach the head-end, it leaves the HAN, its log
    # stays.
    out = ok(smartmeter(rig, "hht", "decommission", "gsme"))
    assert "gsme removed" in out
    wait_until(
        lambda: not bench(rig, rig.hub.name, "status")["joined"]["gsme"], 15, "gsme off the HAN"
    )
    records = json.loads(ok(smartmeter(rig, "headend", "installations", "gsme")))["records"]
    final = [r for r in records if r["kind"] == "decommission"][-1]["data"]
    assert final["serial"] == "GM00002001" and "7-0:3.0.0" in final["optical_readout"]
    assert bench(rig, "gsme", "events")["events"]
    kinds = [
        r["kind"] for r in json.loads(ok(smartmeter(rig, "headend", "installations")))["records"]
    ]
    assert {"move-out", "move-in", "replacement"} <= set(kinds)

"""The radio model in a running premises: distance and walls show in the hub's signal report.

Real processes (broker, air, head-end, hub, meters, IHD) from a copy of the demo rig whose
positions are edited: the GSME is moved 15 m away behind the demo's 10 dB wall, and the IHD
200 m away, beyond the reach of every other node. The test speaks only through the hub's
control socket and the `smartmeter` command line.
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

from firmware.rig import Rig, load_rig
from hal.control_socket import ControlError
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]
JOIN_WAIT_S = 90.0


def moved(text: str, device: str, position: str) -> str:
    """The rig text with `device`'s `position = [...]` line replaced."""
    pattern = rf'(?ms)(^name = "{device}"$.*?^)position = \[[^\]]*\]'
    text, count = re.subn(pattern, rf"\g<1>position = {position}", text, count=1)
    assert count == 1, f"no position line for {device} in the demo rig"
    return text


@pytest.fixture(scope="module")
def premises(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Rig, RigLauncher]]:
    path = demo_rig_copy(tmp_path_factory.mktemp("radio"), broker_kind="mosquitto")
    text = moved(path.read_text(), "gsme", "[15.0, 0.0]")  # plus the demo's 10 dB hub-gsme wall
    path.write_text(moved(text, "ihd", "[200.0, 0.0]"))
    rig = load_rig(path)
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        wait_for(launcher, lambda status: bool(status["joined"].get("gsme")))
        wait_for(launcher, lambda status: bool(status["joined"].get("esme")))
        yield rig, launcher
    finally:
        launcher.stop()
        for name, process in launcher.processes.items():
            assert process.poll() is not None, f"{name} left running"


def wait_for(launcher: RigLauncher, done: Any, timeout: float = JOIN_WAIT_S) -> dict[str, Any]:
    """The hub's status once `done(status)` holds (children checked alive on every poll)."""

    def status() -> dict[str, Any] | None:
        launcher.check_children()
        current = launcher.hub_status()
        return current if done(current) else None

    return wait_until(
        status,
        timeout,
        "the hub status to match",
        interval=0.25,
        ignore=(ControlError, OSError),  # the hub's control socket is not up yet
    )


def join_failures(rig: Rig, device: str) -> int:
    """How many join attempts `device` has logged as failed."""
    return (rig.run_dir / "logs" / f"{device}.log").read_text().count("not on the HAN yet")


@pytest.mark.req("20.4.1.c")
def test_the_farther_meter_has_the_weaker_signal_and_still_reads(
    premises: tuple[Rig, RigLauncher],
) -> None:
    rig, launcher = premises
    model = rig.radio_model
    esme_rssi, gsme_rssi = model.rssi("hub", "esme"), model.rssi("hub", "gsme")
    assert (esme_rssi, gsme_rssi) == (-37, -82)
    status = wait_for(
        launcher, lambda s: all(s["signal"][d]["rssi"] is not None for d in ("esme", "gsme"))
    )
    esme, gsme = status["signal"]["esme"], status["signal"]["gsme"]
    # What the hub's NCP reported through EZSP is the air's figure for that link.
    assert esme == {"rssi": esme_rssi, "lqi": 255}
    assert gsme["rssi"] == gsme_rssi
    assert gsme["lqi"] < esme["lqi"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-m", "tools.cli", "headend", "read", "gsme", "--rig", str(rig.path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "CurrentSummationDelivered" in json.loads(result.stdout)["data"]["registers"]


def test_a_device_out_of_range_does_not_join(premises: tuple[Rig, RigLauncher]) -> None:
    # 200 m from every other node: -106 dBm, below the -100 dBm sensitivity, so it hears no
    # beacon and nobody hears it. Reaching it through a router (the ESME) as a mesh would
    # (6.1.8, 19.1.5) is the next step of the radio model; until then it stays out.
    rig, launcher = premises
    assert rig.radio_model.rssi("hub", "ihd") == -106
    # The meters have joined (the fixture waited for them): a join attempt the IHD makes and
    # logs as failed from now on was made with the whole network on the air to hear it.
    before = join_failures(rig, "ihd")
    wait_until(lambda: join_failures(rig, "ihd") > before, 60, "the IHD failing a join attempt")
    status = launcher.hub_status()
    assert not status["joined"].get("ihd")
    assert status["signal"]["ihd"] == {"lqi": None, "rssi": None}
    launcher.check_children()

"""Remote removal of a device, as real processes (clause 17.2.6).

`smartmeter headend remove gsme` goes head-end -> MQTT -> hub -> ZigBee: the GSME is told to
leave and the hub's trust centre forgets its key. The GSME keeps trying to join, as a real meter
does, and is refused until `smartmeter headend commission gsme`; then it joins and reads work.
The test speaks only through the command line and the bench-control ports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from hal.control_socket import request_sync
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]
SMARTMETER = [sys.executable, "-m", "tools.cli"]


@pytest.fixture
def premises(tmp_path: Path) -> Iterator[tuple[Rig, RigLauncher]]:
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        launcher.wait_joined(90)
        yield rig, launcher
    finally:
        launcher.stop()
        for name, process in launcher.processes.items():
            assert process.poll() is not None, f"{name} left running"


def smartmeter(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [*SMARTMETER, *args, "--rig", str(rig.path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def bench(rig: Rig, component: str, cmd: str) -> dict[str, Any]:
    return request_sync(rig.control_path(component), cmd, 10.0)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    """Wait for `condition`; the seconds it took, or fail naming `what`."""
    started = time.monotonic()
    wait_until(condition, timeout, what, interval=0.2)
    return time.monotonic() - started


def join_failures(rig: Rig, device: str) -> int:
    """How many join attempts `device` has logged as failed."""
    return (rig.run_dir / "logs" / f"{device}.log").read_text().count("not on the HAN yet")


@pytest.mark.req("17.2.6", "17.2.13")
def test_removed_gsme_stays_off_the_han_until_commissioned_again(
    premises: tuple[Rig, RigLauncher],
) -> None:
    rig, _ = premises
    hub = rig.hub.name

    def hub_sees_gsme() -> bool:
        return bool(bench(rig, hub, "status")["joined"]["gsme"])

    def gsme_joined() -> bool:
        return bool(bench(rig, "gsme", "status")["joined"])

    assert hub_sees_gsme() and gsme_joined()
    started = time.monotonic()
    removed = smartmeter(rig, "headend", "remove", "gsme")
    assert removed.returncode == 0, removed.stderr
    assert json.loads(removed.stdout)["data"]["removed"] is True
    wait_for(lambda: not hub_sees_gsme(), 10.0, "the hub reporting gsme not joined")
    wait_for(lambda: not gsme_joined(), 10.0, "the GSME reporting itself off the HAN")
    off_han_s = time.monotonic() - started
    print(f"remove command to GSME off the HAN: {off_han_s:.2f} s")

    read = smartmeter(rig, "headend", "read", "gsme")
    assert read.returncode != 0
    assert "removed from the HAN" in read.stderr
    # The GSME keeps trying to join; the trust centre keeps refusing it: wait for two refused
    # attempts (not a fixed time), checking all along that it stays off.
    refused_before = join_failures(rig, "gsme")

    def refused_twice() -> bool:
        assert not gsme_joined(), "the removed GSME got back on the HAN"
        return join_failures(rig, "gsme") >= refused_before + 2

    wait_for(refused_twice, 60.0, "the GSME's join attempts being refused")
    assert not hub_sees_gsme()
    # The ESME is not disturbed.
    assert smartmeter(rig, "headend", "read", "esme").returncode == 0

    commissioned = smartmeter(rig, "headend", "commission", "gsme")
    assert commissioned.returncode == 0, commissioned.stderr
    rejoin_s = wait_for(hub_sees_gsme, 60.0, "the GSME joining again after commissioning")
    print(f"commission command to GSME on the HAN again: {rejoin_s:.2f} s")
    assert gsme_joined()
    again = smartmeter(rig, "headend", "read", "gsme")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["data"]["device"] == "gsme"

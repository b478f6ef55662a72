"""A meter killed with SIGKILL comes back on the HAN from its NCP tokens, without commissioning
again, and its register has not gone back (issue 3: network state persists across restarts)."""

from __future__ import annotations

import signal
from decimal import Decimal
from pathlib import Path

import pytest

from firmware.rig import load_rig
from hal.control_socket import ControlError
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.headend import client
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
HEADEND = "headend"


def read_register(control: Path, deadline_s: float) -> Decimal:
    """CurrentSummationDelivered of the ESME through the head-end, retried until `deadline_s`."""
    reply = wait_until(
        lambda: client.read(control, "esme", 5),
        deadline_s,
        "an on-demand read of the ESME",
        interval=0.5,
        # the head-end reports the meter unavailable while it comes back
        ignore=(ControlError, OSError),
    )
    return Decimal(reply["data"]["registers"]["CurrentSummationDelivered"]["value"])


def test_a_killed_meter_resumes_the_han_without_joining_again(tmp_path: Path) -> None:
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    with RigLauncher(rig) as launcher:
        launcher.wait_joined(90)
        control = rig.control_path(HEADEND)
        before = read_register(control, 15)
        child = launcher.children["esme"]
        child.process.send_signal(signal.SIGKILL)
        child.process.wait(10)
        launcher.restart("esme")
        after = read_register(control, 15)
        assert after >= before
        log = (rig.run_dir / "logs" / "esme.log").read_text()
        restarted = log.rsplit("launcher: starting", 1)[1]
        assert "network tokens restored" in restarted
        assert "joinNetwork" not in restarted
        assert "join failed" not in restarted


def test_a_killed_hub_comes_back_with_its_network_and_devices(tmp_path: Path) -> None:
    """The hub's NCP tokens and zigpy's database bring back the same network: the meters stay
    joined (no device joins again) and on-demand reads work once the hub is up."""
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    with RigLauncher(rig) as launcher:
        launcher.wait_joined(90)
        control = rig.control_path(HEADEND)
        before = read_register(control, 15)
        hub = launcher.children[rig.hub.name]
        hub.process.send_signal(signal.SIGKILL)
        hub.process.wait(10)
        launcher.restart(rig.hub.name)
        assert read_register(control, 30) >= before
        assert launcher.wait_joined(30) < 30
        for name in rig.devices:
            log = (rig.run_dir / "logs" / f"{name}.log").read_text()
            assert log.count("joined the HAN") == 1, f"{name} joined again after the hub restart"
        hub_log = (rig.run_dir / "logs" / f"{rig.hub.name}.log").read_text()
        assert "network tokens restored" in hub_log.rsplit("launcher: starting", 1)[1]

"""`smartmeter rig systemd` writes units that systemd accepts (its own `systemd-analyze verify`
is the oracle), with the launcher's command lines, restart policy and start order."""

from __future__ import annotations

import configparser
import subprocess
from pathlib import Path

from firmware.rig import load_rig
from tests.programs import require_program
from tests.rig_files import demo_rig_copy
from tools.launcher import RestartPolicy
from tools.launcher.plan import plan_rig
from tools.launcher.systemd import write_units


def parsed(path: Path) -> configparser.RawConfigParser:
    unit = configparser.RawConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]  # systemd keys keep case
    unit.read(path)
    return unit


def test_one_unit_per_process_in_start_order_with_the_restart_policy(tmp_path: Path) -> None:
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    policy = RestartPolicy(first_delay_s=1.0, burst=4, interval_s=30.0)
    written = write_units(rig, tmp_path / "units", policy=policy)
    specs = plan_rig(rig, rig.broker.kind, rig.run_dir / "logs")
    services, target = written[:-1], written[-1]
    assert [p.name for p in services] == [f"smartmeter-demo-{s.name}.service" for s in specs]
    previous = None
    for path, spec in zip(services, specs, strict=True):
        unit = parsed(path)
        assert unit["Service"]["ExecStart"].split() == spec.argv
        assert unit["Service"]["Restart"] == "on-failure"
        assert unit["Service"]["RestartSec"] == "1"
        assert (unit["Unit"]["StartLimitBurst"], unit["Unit"]["StartLimitIntervalSec"]) == (
            "4",
            "30",
        )
        assert unit["Unit"]["PartOf"] == target.name
        assert unit["Unit"].get("After") == previous
        previous = path.name
    assert parsed(target)["Unit"]["Wants"].split() == [p.name for p in services]
    assert "SMARTMETER_START_WALL=" in (rig.run_dir / "rig.env").read_text()


def test_systemd_accepts_the_units(tmp_path: Path) -> None:
    rig = load_rig(demo_rig_copy(tmp_path))
    written = write_units(rig, tmp_path / "units")
    result = subprocess.run(
        [require_program("systemd-analyze"), "verify", *map(str, written)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0 and result.stderr == "", result.stderr

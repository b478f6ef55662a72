"""The tariff integration tests' harness: a demo premises as real processes, and the real
interfaces the tests speak through (the `smartmeter` command line for the head-end, each
component's bench-control port).

A module starts one rig (`premises`) and shares it between its tests: a rig takes a minute or
two to start and join, far longer than any one clause's check.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from firmware.rig import Rig, load_rig
from hal.control_socket import request_sync
from tests.rig_files import demo_rig_copy
from tools.launcher import RigLauncher

__all__ = ["ROOT", "bench", "ihd_price", "premises_of", "run_smartmeter", "smartmeter"]

ROOT = Path(__file__).resolve().parents[2]
SMARTMETER = [sys.executable, "-m", "tools.cli"]
JOIN_TIMEOUT_S = 120.0


@contextmanager
def premises_of(folder: Path, *, scale: float = 1.0, esme: str = "") -> Iterator[Rig]:
    """The demo rig, its clock `scale` times real time, `esme` lines added to the electricity
    meter's section (e.g. 'pv_peak_kw = 3.5'), started and joined; stopped afterwards."""
    path = demo_rig_copy(folder, broker_kind="mosquitto")
    text = re.sub(r"(?m)^scale = .*$", f"scale = {scale}", path.read_text())
    if esme:
        text = text.replace('name = "esme"\n', f'name = "esme"\n{esme}\n', 1)
    path.write_text(text)
    rig = load_rig(path)
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        launcher.wait_joined(JOIN_TIMEOUT_S)
        yield rig
    finally:
        launcher.stop()


def run_smartmeter(
    rig: Rig, *args: str, env: Mapping[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`smartmeter ARGS --rig RIG` as a user runs it, with `env` added to the environment."""
    return subprocess.run(
        [*SMARTMETER, *args, "--rig", str(rig.path)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def smartmeter(rig: Rig, *args: str) -> Any:
    """`smartmeter ARGS`, which must succeed; its JSON output."""
    result = run_smartmeter(rig, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def bench(rig: Rig, device: str, cmd: str, **fields: Any) -> dict[str, Any]:
    return request_sync(rig.control_path(device), cmd, 10.0, **fields)


def ihd_price(rig: Rig, fuel: str = "electricity") -> dict[str, Any] | None:
    """What the IHD knows of a meter's price and costs (None before it heard of any)."""
    found: dict[str, Any] | None = bench(rig, "ihd", "prices")["prices"].get(fuel)
    return found

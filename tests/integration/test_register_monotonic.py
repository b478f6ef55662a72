"""A meter never takes back what it has shown: the ESME as a real process under a 20 kW load,
killed with SIGKILL at random instants (60 times in `make test`; `make soak` runs 200 through
`KILL_ROUNDS`), read on its bench port between kills. Every reading of CurrentSummationDelivered (the value the HAN serves) and of the display is at least
every reading before it (issue 7; clause 18.2: the register is in non-volatile memory)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.rig import load_rig
from hal.control_socket import ControlError, request_sync
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]
KILLS = int(os.environ.get("KILL_ROUNDS", "60"))
pytestmark = [pytest.mark.integration, pytest.mark.timeout(60 + 5 * KILLS)]

RIG = """
[rig]
name = "kills"
run_dir = "{run_dir}"
clock = "system"

[broker]
port = 1883

[air]
port = 17840

[hub]
wan_id = "hub-kills"
eui64 = "00:0d:6f:00:00:00:00:01"
pan_id = 0x1A62
extended_pan_id = "00:0d:6f:ff:fe:00:1a:62"

[[device]]
name = "esme"
kind = "esme"
eui64 = "00:0d:6f:00:00:00:10:01"
install_code = "83FED3407A939723A5C639B26916D505C3B5"
radio = "socket://127.0.0.1:9"   # a dongle that never answers: the meter meters, off the HAN
load = 20000
"""


@pytest.fixture
def rig_file() -> Iterator[Path]:
    # A short directory: a Unix socket path must stay under 108 bytes.
    with tempfile.TemporaryDirectory(prefix="smkill") as directory:
        path = Path(directory) / "rig.toml"
        path.write_text(RIG.format(run_dir=f"{directory}/run"))
        yield path


def start(rig_file: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "devices.esme", "--rig", str(rig_file), "--name", "esme"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def reading(socket: Path) -> tuple[int, str]:
    """(raw CurrentSummationDelivered in Wh, the display's register line)."""
    registers = request_sync(socket, "registers", 2.0)
    display = request_sync(socket, "display", 2.0)
    return int(registers["attributes"]["current_summ_delivered"]), display["lines"][0]


def shown_wh(line: str) -> int:
    """The display's "Import 12.345 kWh" as Wh."""
    kwh = line.split()[1]
    whole, fraction = kwh.split(".")
    return int(whole) * 1000 + int(fraction)


@pytest.mark.req("18.2")
def test_no_reading_is_ever_lower_after_a_kill_at_any_instant(rig_file: Path) -> None:
    socket = load_rig(rig_file).control_path("esme")
    chance = random.Random(7)
    highest, readings = 0, 0
    for _ in range(KILLS):
        process = start(rig_file)
        try:
            wait_until(
                lambda: reading(socket), 20, "the ESME's bench port", ignore=(ControlError, OSError)
            )
            deadline = time.monotonic() + chance.uniform(0.0, 1.5)
            while True:  # read until the kill instant, each reading checked against all before
                try:
                    raw, line = reading(socket)
                except (ControlError, OSError):
                    break
                assert raw >= highest and shown_wh(line) >= highest, (raw, line, highest)
                highest, readings = max(highest, raw, shown_wh(line)), readings + 1
                if time.monotonic() >= deadline:
                    break
        finally:
            process.send_signal(signal.SIGKILL)  # at a random instant: no clean stop
            process.wait(10)
    assert readings >= KILLS and highest > 0

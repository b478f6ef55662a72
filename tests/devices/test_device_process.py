"""A device as a real OS process: rig file in, bench socket out, clean stop on SIGTERM.

No hub here: the meter keeps trying to join (the hub may come later) while the test uses its
bench port, then stops it and looks at what it left in its non-volatile store.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from devices.meter.meter_firmware import DELIVERED
from devices.meter.register_store import RegisterStore
from firmware.event_log import EventLog
from firmware.rig import load_rig
from hal.control_socket import ControlError, request
from hal.emulated.air_channel import AirChannel
from hal.emulated.air_server import AirServer
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from protocol.event_codes import EventCode
from tests.waiting import eventually

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
ROOT = Path(__file__).resolve().parents[2]

RIG = """
[rig]
name = "proc"
run_dir = "{run_dir}"
clock = "simulated"
epoch = "2026-01-15T06:00:00Z"
scale = 1.0

[air]
host = "127.0.0.1"
port = {air_port}

[hub]
wan_id = "hub-test"
eui64 = "00:0d:6f:00:00:00:00:01"
pan_id = 0x1A62
extended_pan_id = "00:0d:6f:ff:fe:00:1a:62"

[[device]]
name = "esme"
kind = "esme"
eui64 = "00:0d:6f:00:00:00:10:01"
install_code = "83FED3407A939723A5C639B26916D505C3B5"
load = 250
"""


@pytest.fixture
async def rig_file() -> AsyncIterator[Path]:
    air = AirServer(AirChannel(), "127.0.0.1", 0)
    await air.start()
    # A short directory: a Unix socket path must stay under 108 bytes.
    with tempfile.TemporaryDirectory(prefix="smdev") as directory:
        path = Path(directory) / "rig.toml"
        path.write_text(RIG.format(run_dir=f"{directory}/run", air_port=air.port))
        try:
            yield path
        finally:
            await air.stop()


async def device(rig: Path, kind: str, name: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMARTMETER_START_WALL": str(time.time())}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", f"devices.{kind}", "--rig", str(rig), "--name", name,
        cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def until_answering(path: Path, process: asyncio.subprocess.Process) -> dict[str, Any]:
    async def status() -> dict[str, Any]:
        assert process.returncode is None, f"the device exited with {process.returncode}"
        return await request(path, "status", 2.0)

    return await eventually(status, 10.0, f"bench port at {path}", ignore=(ControlError,))


@pytest.mark.req("18.2")
async def test_esme_process_serves_its_bench_port_and_stops_cleanly(rig_file: Path) -> None:
    rig = load_rig(rig_file)
    process = await device(rig_file, "esme", "esme")
    socket = rig.control_path("esme")
    try:
        status = await until_answering(socket, process)
        assert status["kind"] == "esme" and status["eui64"] == "00:0d:6f:00:00:00:10:01"
        assert status["joined"] is False and status["now"].startswith("2026-01-15T06:00")
        assert (await request(socket, "load", watts=3600))["demand_w"] == 3600
        registers = await request(socket, "registers")
        assert registers["metering_device_type"] == "electric"

        async def one_watt_hour_counted() -> bool:  # 1 s of metrology samples at 3.6 kW
            units: int = (await request(socket, "registers"))["register"]["units"]  # mWh
            return units >= 1000

        await eventually(one_watt_hour_counted, 10.0, "the ESME counting 1 Wh")
        lines = (await request(socket, "display"))["lines"]
        assert lines[1] == "Demand 3.600 kW", lines
    finally:
        process.send_signal(signal.SIGTERM)
        _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 0, stderr.decode()
    assert not socket.exists()
    assert b"esme" in stderr  # log lines carry the component's name
    with SqliteStore(rig.store_path("esme")) as store:
        register = RegisterStore(store).load(DELIVERED)
        codes = [r.code for r in EventLog(store, ManualClock(), "esme").recent(20)]
    assert register.units >= 1000  # mWh: the energy up to the stop was saved
    assert codes[0] == EventCode.POWER_DOWN and codes[-1] == EventCode.POWER_UP
    assert EventCode.COMMUNICATION_ERROR_HAN in codes  # no hub: B.7.1, logged once
    assert codes.count(EventCode.COMMUNICATION_ERROR_HAN) == 1


async def test_a_device_of_the_wrong_kind_is_refused_naming_the_rig(rig_file: Path) -> None:
    process = await device(rig_file, "gsme", "esme")
    _, stderr = await asyncio.wait_for(process.communicate(), 20)
    assert process.returncode == 2
    assert str(rig_file.resolve()) in stderr.decode() and "not a gsme" in stderr.decode()

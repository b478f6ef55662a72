"""The rig launcher with real processes: a premises with no devices (broker, air, head-end, hub).

What matters here is the process housekeeping every later integration test relies on: each
child starts, is reported, shares the launcher's clock start, and `stop()` leaves nothing
behind, also when a child died on its way or start-up failed half-way. Ports are picked free
so that these tests can run beside others.
"""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from firmware.rig import Rig, load_rig
from firmware.wiring import START_WALL_ENV
from protocol.errors import ConfigError, TransientLinkError
from tests.ports import reserve_port
from tests.programs import require_program
from tests.waiting import wait_until
from tools.headend import client
from tools.headend.inventory import parse_inventory
from tools.launcher import (
    AIR,
    BROKER,
    HEADEND,
    JoinTimeout,
    RestartPolicy,
    RigLauncher,
    inventory_for,
)
from tools.launcher import plan as rig_plan

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"

RIG = """
[rig]
name = "empty"
run_dir = "{run_dir}"
clock = "simulated"

[broker]
kind = "{broker}"
host = "{host}"
port = {broker_port}

[air]
host = "{host}"
port = {air_port}

[hub]
name = "hub"
wan_id = "hub-0099"
eui64 = "00:0d:6f:00:00:00:00:99"
pan_id = 0x1A99
extended_pan_id = "00:0d:6f:ff:fe:00:1a:99"
{devices}
"""

ESME = """
[[device]]
name = "{name}"
kind = "esme"
eui64 = "00:0d:6f:00:00:00:10:01"
install_code = "83FED3407A939723A5C639B26916D505C3B5"
"""


@pytest.fixture
def run_dir() -> Iterator[Path]:
    # A Unix socket path must stay under 108 bytes; pytest's tmp_path may not.
    path = Path(tempfile.mkdtemp(prefix="smrig-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def write_rig(
    tmp_path: Path, run_dir: Path, broker: str = "embedded", devices: str = "", **ports: int
) -> Path:
    path = tmp_path / "rigs" / "empty.toml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(
        RIG.format(
            run_dir=run_dir,
            broker=broker,
            host=HOST,
            broker_port=ports.get("broker_port") or reserve_port(),
            air_port=ports.get("air_port") or reserve_port(),
            devices=devices,
        )
    )
    return path


@pytest.fixture
def rig(tmp_path: Path, run_dir: Path) -> Rig:
    return load_rig(write_rig(tmp_path, run_dir))


def assert_gone(pids: list[int]) -> None:
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {key.decode(): value.decode(errors="replace") for key, value in pairs}


@pytest.mark.parametrize("broker", ["embedded", "mosquitto"])
def test_starts_the_premises_and_stops_without_leftovers(
    tmp_path: Path, run_dir: Path, broker: str
) -> None:
    if broker == "mosquitto":
        require_program("mosquitto")
    rig = load_rig(write_rig(tmp_path, run_dir, broker))
    out = io.StringIO()
    with RigLauncher(rig, out=out) as launcher:
        processes = launcher.processes
        assert list(processes) == [BROKER, AIR, HEADEND, "hub"]  # start order
        assert launcher.children[BROKER].spec.detail.startswith(f"{broker} MQTT broker")
        assert accepts(rig.broker.host, rig.broker.port)
        assert accepts(rig.air.host, rig.air.port)
        # The head-end answers on its control socket and is connected to the broker.
        assert client.status(rig.control_path(HEADEND))["broker_connected"] is True
        inventory = json.loads((run_dir / "headend-inventory.json").read_text())
        assert inventory["devices"] == {}
        table = launcher.describe()
        for name, process in processes.items():
            assert re.search(rf"^{name} +{process.pid} ", table, re.MULTILINE), table
        assert "headend.sock" in table and "logs/headend.log" in table
        assert (run_dir / "logs" / "broker.log").resolve() == run_dir / "broker" / "broker.log"
        pids = [process.pid for process in processes.values()]
    assert all(process.poll() is not None for process in processes.values())
    assert_gone(pids)
    # The head-end and the air stop on SIGTERM by themselves, with status 0.
    assert processes[HEADEND].returncode == 0 and processes[AIR].returncode == 0


def test_every_child_gets_the_same_clock_start(rig: Rig) -> None:
    before = time.time()
    with RigLauncher(rig, out=io.StringIO()) as launcher:
        assert launcher.start_wall is not None and before <= launcher.start_wall <= time.time()
        for name in (AIR, HEADEND):
            env = environ_of(launcher.processes[name].pid)
            assert float(env[START_WALL_ENV]) == launcher.start_wall
            assert str(REPO) in env["PYTHONPATH"].split(os.pathsep)


def test_a_killed_child_is_reported_and_restarted_the_others_keep_running(rig: Rig) -> None:
    out = io.StringIO()
    with RigLauncher(rig, out=out) as launcher:
        air = launcher.processes[AIR]
        air.send_signal(signal.SIGKILL)
        air.wait(5)
        died = launcher.check_children()
        assert [child.name for child in died] == [AIR]
        report = out.getvalue()
        assert f"air (pid {air.pid}) died with status -9; restarting it in 0.5 s" in report
        assert launcher.check_children() == []  # reported once
        assert launcher.processes[HEADEND].poll() is None
        assert launcher.processes[BROKER].poll() is None
        assert not launcher.all_exited()  # it is coming back
        wait_until(
            lambda: launcher.check_children() == [] and launcher.processes[AIR].pid != air.pid,
            10,
            "the air restarted",
        )
        assert "air restarted (pid" in out.getvalue()
        wait_until(lambda: accepts(rig.air.host, rig.air.port), 10, "the air listening again")
        assert [name for name, _down in launcher.supervisor.restarted] == [AIR]
        pids = [process.pid for process in launcher.processes.values()]
    assert_gone(pids)


def test_a_taken_port_refuses_the_start_before_anything_runs(tmp_path: Path, run_dir: Path) -> None:
    with socket.socket() as squatter:
        air_port = reserve_port()
        squatter.bind((HOST, air_port))
        squatter.listen()
        rig = load_rig(write_rig(tmp_path, run_dir, air_port=air_port))
        launcher = RigLauncher(rig, out=io.StringIO())
        with pytest.raises(TransientLinkError, match=f"cannot start the air on {HOST}:{air_port}"):
            launcher.start()
    # every port is checked before the first process starts: nothing to stop, nothing left
    assert launcher.processes == {}


def test_names_of_the_rigs_own_processes_are_refused(tmp_path: Path, run_dir: Path) -> None:
    path = write_rig(tmp_path, run_dir, devices=ESME.format(name="headend"))
    with pytest.raises(ConfigError, match=r"\[device #1\] name: 'headend' is taken") as raised:
        load_rig(path)
    assert str(path) in str(raised.value)


def test_too_long_socket_path_is_refused_before_starting(tmp_path: Path) -> None:
    deep = tmp_path / ("d" * 100)
    launcher = RigLauncher(load_rig(write_rig(tmp_path, deep)), out=io.StringIO())
    with pytest.raises(ConfigError, match="run_dir is too deep"):
        launcher.start()
    assert launcher.processes == {}
    assert not deep.exists()


def test_unknown_broker_override_is_refused(rig: Rig) -> None:
    with pytest.raises(ConfigError, match="broker kind 'rabbitmq' unknown"):
        RigLauncher(rig, broker_kind_override="rabbitmq")


def test_inventory_is_what_the_headend_accepts() -> None:
    demo = load_rig(REPO / "rigs" / "demo.toml")
    inventory = parse_inventory(inventory_for(demo), "demo")
    assert sorted(inventory.devices) == ["esme", "gsme", "ihd"]
    assert {d.hub_id for d in inventory.devices.values()} == {demo.hub.wan_id}
    assert inventory.devices["esme"].eui64 == "00:0d:6f:00:00:00:10:01"


def test_join_wait_ends_when_the_missing_devices_are_dead(
    tmp_path: Path, run_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rig = load_rig(write_rig(tmp_path, run_dir, devices=ESME.format(name="esme")))
    monkeypatch.setattr(rig_plan, "module_for", lambda kind: "devices.no_such_firmware")
    out = io.StringIO()
    quick = RestartPolicy(first_delay_s=0.1, max_delay_s=0.4)
    with RigLauncher(rig, out=out, policy=quick) as launcher:
        started = time.monotonic()
        with pytest.raises(JoinTimeout) as caught:
            launcher.wait_joined(timeout=50)
        assert time.monotonic() - started < 20
        assert caught.value.missing == ["esme"]
        assert "No module named devices.no_such_firmware" in out.getvalue()
        # Restarted with back-off, then given up on loudly (systemd's StartLimitBurst).
        assert "esme keeps dying (5 starts in 60 s" in out.getvalue()
        pids = [process.pid for process in launcher.processes.values()]
    assert_gone(pids)


def test_hub_reports_an_empty_premises_joined(rig: Rig) -> None:
    out = io.StringIO()
    with RigLauncher(rig, out=out) as launcher:
        taken = launcher.wait_joined(timeout=30)
        assert 0 <= taken < 30, out.getvalue()
        assert launcher.processes["hub"].poll() is None, out.getvalue()


def test_rig_up_command_stops_cleanly_on_sigterm(tmp_path: Path, run_dir: Path) -> None:
    rig_path = write_rig(tmp_path, run_dir)
    log = tmp_path / "up.log"
    with open(log, "wb") as output:
        up = subprocess.Popen(
            [sys.executable, "-m", "tools.cli", "rig", "up", str(rig_path)],
            stdout=output,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env=dict(os.environ, PYTHONPATH=str(REPO)),
        )
    try:

        def started() -> bool:
            assert up.poll() is None, log.read_text()
            return "stops everything" in log.read_text()

        wait_until(started, 30, "`rig up` saying how to stop it", detail=log.read_text)
        text = log.read_text()
        pids = [int(pid) for pid in re.findall(r"^(?:broker|air|headend|hub) +(\d+) ", text, re.M)]
        assert len(pids) == 4, text
        assert "headend read" not in text  # no meters: no read to suggest
        up.send_signal(signal.SIGTERM)
        assert up.wait(40) == 0, log.read_text()
    finally:
        if up.poll() is None:
            up.kill()
            up.wait()
    text = log.read_text()
    assert "stopping the rig" in text and "stopped: hub" in text
    assert "Traceback (most recent call last)" not in text.split("stopping the rig")[1]
    assert_gone(pids)

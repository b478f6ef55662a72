"""kill -9 the hub, the head-end and the broker at random moments during a stream of commands and
events; afterwards every command was carried out at most once and every uplink kept exactly
once and in order (clauses 19.1.6, 19.1.7, 18.6; issue 10).

The hub is `tests.integration.delivery_hub_process` (its delivery side, logging an event every
50 ms), the head-end is `python -m tools.headend`, the broker mosquitto: three real processes on
real SQLite files, every payload sealed (README "WAN security"), so every retry on either side
is sealed afresh. Commands are `config_set` through the head-end's control socket, each with
its own value, so a command carried out twice would show as two configuration-change messages
with that value."""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import BrokerKind, load_rig
from hal.control_socket import ControlError
from tests.integration.wan_delivery import (
    REPO,
    headend_rows,
    in_order_once,
    sealed_rig,
    start_headend,
)
from tests.ports import reserve_port
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.broker import BrokerSpec, start_broker, stop_broker
from tools.headend import client

pytestmark = [pytest.mark.integration, pytest.mark.timeout(150)]
HOST = "127.0.0.1"
HUB_ID = "hub-x"
CHAOS_S = 20.0
KILLS = 8


def start_hub(folder: Path, port: int, rig_file: Path) -> subprocess.Popen[bytes]:
    log = (folder / "hub.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.integration.delivery_hub_process",
            str(port),
            HUB_ID,
            str(folder),
            str(rig_file),
        ],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def hub_rows(folder: Path, sql: str) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(folder / "hub.sqlite", timeout=10)
    try:
        return list(db.execute(sql).fetchall())
    finally:
        db.close()


def send_commands(control: Path, stop: threading.Event, sent: list[int]) -> None:
    """config_set with a new value every 0.1 s, whatever is down; failures are expected."""
    value = 1000
    while not stop.is_set():
        value += 1
        sent.append(value)
        with contextlib.suppress(ControlError, OSError):
            client.hub_command(
                control,
                "config_set",
                "esme",
                timeout=1.0,
                key="push.esme.interval_s",
                value=value,
            )
        stop.wait(0.1)


@pytest.mark.req("19.1.6", "19.1.7", "18.6")
def test_kill_9_anywhere_loses_nothing_and_repeats_nothing(tmp_path: Path) -> None:
    rig_file = demo_rig_copy(tmp_path)
    keys = sealed_rig(load_rig(rig_file), HUB_ID).keys_dir  # every payload sealed (17.2.1)
    port = reserve_port()
    spec = BrokerSpec(BrokerKind.MOSQUITTO, HOST, port, tmp_path / "broker")
    headend_dir = tmp_path / "headend"
    control = headend_dir / "headend.sock"
    starters: dict[str, Callable[[], subprocess.Popen[bytes]]] = {
        "broker": lambda: start_broker(spec),
        "headend": lambda: start_headend(headend_dir, port, HUB_ID, ["esme"], keys),
        "hub": lambda: start_hub(tmp_path, port, rig_file),
    }
    processes = {name: start() for name, start in starters.items()}
    chance = random.Random(10)
    stop = threading.Event()
    sent: list[int] = []
    sender = threading.Thread(target=send_commands, args=(control, stop, sent), daemon=True)
    try:
        client.wait_ready(control, 20)
        sender.start()
        deadline = time.monotonic() + CHAOS_S
        names = sorted(processes)
        chance.shuffle(names)
        for kill in range(KILLS):  # each of the three in turn, at random moments
            time.sleep(chance.uniform(0.5, CHAOS_S / KILLS))
            victim = names[kill % len(names)]
            processes[victim].send_signal(signal.SIGKILL)
            processes[victim].wait(10)
            time.sleep(chance.uniform(0.0, 1.0))
            processes[victim] = starters[victim]()
            if time.monotonic() > deadline:
                break
        stop.set()
        sender.join(10)
        (tmp_path / "quiet").touch()  # the hub stops logging; what it logged must all arrive
        client.wait_ready(control, 20)

        def settled() -> bool:
            pending = hub_rows(tmp_path, "SELECT COUNT(*) FROM outbox")[0][0]
            held = hub_rows(tmp_path, "SELECT COUNT(*) FROM outbox_held")[0][0]
            return bool(pending == 0 and held == 0)

        wait_until(settled, 60, "every uplink acknowledged by the head-end", interval=0.2)
        uplinks = headend_rows(
            headend_dir, "SELECT source, seq FROM uplinks WHERE hub_id=? ORDER BY id", HUB_ID
        )
        assert in_order_once(uplinks), "exactly once and in order per source"
        streams = dict(hub_rows(tmp_path, "SELECT source, last_seq FROM outbox_streams"))
        assert {s: max(q for src, q in uplinks if src == s) for s, _ in uplinks} == streams
        logged = sorted(int(seq) for (seq,) in hub_rows(tmp_path, "SELECT seq FROM event_log"))
        arrived = headend_rows(headend_dir, "SELECT seq FROM events WHERE hub_id=?", HUB_ID)
        assert sorted(seq for (seq,) in arrived) == logged, "every event once"
        # Commands: each value set at most once, however often its command was delivered.
        changes = [
            json.loads(body)
            for (body,) in headend_rows(
                headend_dir, "SELECT body FROM uplinks WHERE kind='config_change'"
            )
        ]
        remote = [c["new"] for c in changes if c["by"] == "head-end"]
        assert len(remote) == len(set(remote)), "a command carried out twice"
        assert set(remote) <= set(sent)
        journal = hub_rows(tmp_path, "SELECT COUNT(*) FROM command_journal")[0][0]
        assert journal == len(remote), "one configuration change per command carried out"
        assert remote, "commands got through between the kills"
        print(f"{len(sent)} commands sent, {len(remote)} carried out, {len(uplinks)} uplinks")
    finally:
        stop.set()
        for name, process in processes.items():
            if name == "broker":
                stop_broker(process)
            else:
                process.kill()
                process.wait(10)

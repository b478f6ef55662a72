"""Two suppliers in one home, as real processes and through the `smartmeter` command line
(6.1.4, 12.6, 17.2.1, 17.2.22, 17.2.23): what crosses the broker shows no reading or key, each
supplier commands only its own meter, a change of supplier locks the old one out at once and
keeps the meter's history, and the network operator can cut a meter's WAN and give it back."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from hal.control_socket import request_sync
from hal.real.wan_keys import load_keys
from tests.waiting import wait_until
from tests.wan_probe import WanProbe, two_supplier_rig
from tools.headend.field_store import FieldStore
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(300)]
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def premises(tmp_path: Path) -> Iterator[Rig]:
    rig = load_rig(two_supplier_rig(tmp_path))
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        launcher.wait_joined(90)
        yield rig
    finally:
        launcher.stop()


def smartmeter(rig: Rig, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", *args, "--rig", str(rig.path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def headend(rig: Rig, *args: str) -> dict[str, Any]:
    """`smartmeter headend ARGS`, which must succeed; its JSON reply."""
    done = smartmeter(rig, "headend", *args)
    assert done.returncode == 0, done.stderr
    reply: dict[str, Any] = json.loads(done.stdout)
    return reply


def refused(rig: Rig, *args: str) -> str:
    """`smartmeter headend ARGS`, which must be refused: its one-line error."""
    done = smartmeter(rig, "headend", *args)
    assert done.returncode == 1, done.stdout
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
    return done.stderr


def leaves(value: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from leaves(v, k)
    elif isinstance(value, list):
        for item in value:
            yield from leaves(item, key)
    else:
        yield key, value


@pytest.mark.req("17.2.1", "6.1.4")
def test_nothing_on_the_broker_shows_a_reading_a_key_or_a_password(premises: Rig) -> None:
    rig = premises
    probe = WanProbe(rig, "#")
    try:
        replies = [
            headend(rig, "--supplier", "alpha", "read", "esme"),
            headend(rig, "--supplier", "beta", "read", "gsme"),
            headend(rig, "--supplier", "alpha", "read", "esme"),
        ]
        # A new local-access password goes down the WAN (17.2.21.b.2): it must not show.
        request_sync(rig.control_path("headend"), "reset_password", 20, device="esme")
        store = FieldStore(rig.store_path("headend"))
        try:
            password = store.password("esme")
        finally:
            store.close()
        assert password is not None
        wait_until(lambda: len(probe.drain()) >= 12, 10, "the reads' traffic on the broker")
        seen = probe.drain()
    finally:
        probe.close()
    payloads = [payload for _, payload in seen]
    assert payloads, "the probe saw nothing"
    secrets_: list[bytes] = [password.encode()]
    secrets_ += [bytes.fromhex(request_sync(rig.control_path("hub"), "keys", 5)["network_key"])]
    secrets_ += [k for k in load_keys(rig.keys_dir, "supplier:alpha").to_secret_bytes()]
    secrets_ += [rig.devices[name].install_code for name in rig.devices]
    for reply in replies:
        for key, value in leaves(reply["data"]):
            if key:
                secrets_.append(f'"{key}"'.encode())  # a JSON key of the reading
            if isinstance(value, int | float | str) and len(str(value)) >= 3:
                secrets_.append(b":" + json.dumps(value).encode())  # a value as JSON shows it
    leaked = [s for s in secrets_ for p in payloads if s in p]
    assert not leaked, f"in clear on the broker: {leaked[:5]}"


@pytest.mark.req("6.1.4", "12.6", "18.5", "17.2.3", "17.2.17")
def test_each_supplier_commands_only_its_meter_and_a_change_of_supplier_locks_the_old_out(
    premises: Rig,
) -> None:
    rig = premises
    before = headend(rig, "--supplier", "alpha", "read", "esme")["data"]
    assert "does not serve esme" in refused(rig, "--supplier", "beta", "read", "esme")
    assert "does not serve gsme" in refused(rig, "--supplier", "alpha", "read", "gsme")
    assert "unknown supplier" in refused(rig, "--supplier", "nobody", "read", "esme")
    history = request_sync(rig.control_path("esme"), "events", 5)["events"]

    moved = headend(rig, "change-supplier", "esme", "--to", "beta")
    assert moved["data"] == {"device": "esme", "supplier": "beta", "previous_supplier": "alpha"}

    assert "does not serve esme" in refused(rig, "--supplier", "alpha", "read", "esme")
    after = headend(rig, "--supplier", "beta", "read", "esme")["data"]
    assert headend(rig, "read", "esme")["data"]["device"] == "esme"  # the head-end follows
    # 18.5: the meter kept its history: its event log and its registers carry on.
    kept = request_sync(rig.control_path("esme"), "events", 5)["events"]
    assert all(event in kept for event in history)
    summation = "CurrentSummationDelivered"
    assert after["registers"][summation]["raw"] >= before["registers"][summation]["raw"]
    # A supplier cannot move a meter: only the network operator can.
    assert "does not serve esme" in refused(
        rig, "--supplier", "beta", "change-supplier", "esme", "--to", "alpha"
    )


@pytest.mark.req("17.2.22", "17.2.23")
def test_the_network_operator_disables_and_restores_a_meters_wan(premises: Rig) -> None:
    rig = premises
    assert headend(rig, "disable-comms", "esme", "--link", "wan")["data"]["disabled"] == "wan"
    assert "communications disabled" in refused(rig, "read", "esme")
    assert headend(rig, "read", "gsme")["data"]["device"] == "gsme"  # the other meter carries on
    assert headend(rig, "restore-comms", "esme", "--link", "wan")["data"]["restored"] == "wan"
    assert headend(rig, "read", "esme")["data"]["device"] == "esme"
    # The HAN side: the gas meter is taken off the HAN until restored, then joins again.
    assert headend(rig, "disable-comms", "gsme", "--link", "han")["data"]["disabled"] == "han"
    wait_until(lambda: not joined(rig, "gsme"), 30, "gsme off the HAN")
    assert headend(rig, "restore-comms", "gsme", "--link", "han")["data"]["restored"] == "han"
    wait_until(lambda: joined(rig, "gsme"), 90, "gsme back on the HAN")
    assert headend(rig, "read", "gsme")["data"]["device"] == "gsme"


def joined(rig: Rig, device: str) -> bool:
    return bool(request_sync(rig.control_path("hub"), "status", 5)["joined"][device])


def headend_rows(rig: Rig, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    db = sqlite3.connect(rig.store_path("headend"), timeout=10)
    try:
        return list(db.execute(sql, params).fetchall())
    finally:
        db.close()


@pytest.mark.req("6.1.4", "6.1.3")
def test_the_head_end_records_the_supplier_of_every_command_result_and_reading(
    premises: Rig,
) -> None:
    """Electricity from alpha, gas from beta: what the head-end keeps of each is marked with its
    supplier, as the sealing says (what came up was encrypted to that supplier)."""
    rig = premises
    reads = {device: headend(rig, "read", device)["request_id"] for device in ("esme", "gsme")}
    for device in reads:
        headend(rig, "push-schedule", device, "--interval", "1")
    owners = {"esme": "alpha", "gsme": "beta"}
    for device, request in reads.items():
        for table in ("commands", "acks", "results"):
            found = headend_rows(rig, f"SELECT supplier FROM {table} WHERE request_id=?", request)
            assert found == [(owners[device],)], (table, device, found)

    def pushed() -> set[tuple[str, str]]:
        rows = headend_rows(rig, "SELECT device, supplier FROM readings")
        return {(device, supplier) for device, supplier in rows if device in owners}

    wait_until(lambda: {d for d, _ in pushed()} == set(owners), 30, "both meters' readings")
    assert pushed() == set(owners.items())

"""Delivery on the whole premises (real hub, meters, HAN, broker and head-end): settings changed
remotely and locally, readings pushed on a schedule over the real HAN, an alert naming its
module, and the head-end's records (clauses 6.1.3, 12.1.o, 12.2, 18.3, 18.6, 18.8)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import load_rig
from hal.control_socket import request_sync
from tests.programs import require_program
from tests.rig_files import demo_rig_copy
from tests.tls_clients import mosquitto_tls_args
from tests.waiting import wait_until
from tools.headend import client
from tools.launcher import HEADEND, RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def rows(db: Path, sql: str) -> list[tuple[Any, ...]]:
    connection = sqlite3.connect(db, timeout=10)
    try:
        return list(connection.execute(sql).fetchall())
    finally:
        connection.close()


@pytest.mark.req("6.1.3", "12.1.o", "12.1.r", "12.2", "18.3", "18.6", "18.8")
def test_settings_pushes_and_alerts_through_the_premises(tmp_path: Path) -> None:
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    with RigLauncher(rig) as launcher:
        launcher.wait_joined(90)
        control = rig.control_path(HEADEND)
        headend_db = rig.run_dir / "headend.sqlite"
        assert headend_db.exists()

        # Remotely: the esme's readings pushed every 2 s, read over the real HAN.
        reply = client.hub_command(control, "push_schedule", "esme", interval_s=2)
        assert reply["data"]["new"] == 2 and reply["data"]["by"] == "head-end"
        wait_until(
            lambda: rows(headend_db, "SELECT data FROM readings WHERE device='esme'"),
            20,
            "a pushed reading of the esme at the head-end",
            interval=0.2,
        )
        [(data,)] = rows(headend_db, "SELECT data FROM readings WHERE device='esme' LIMIT 1")
        pushed = json.loads(data)
        assert pushed["registers"]["CurrentSummationDelivered"]["unit"] == "kWh"
        assert pushed["signal"]["lqi"] is not None, "with the HAN link quality (12.1.r)"

        # Locally, on the bench: the change is a configuration-change message too (12.2).
        hub = rig.control_path(rig.hub.name)
        local = request_sync(hub, "config", 5, key="events.class.low", value="log_only")
        assert local["change"]["by"] == "local"
        got = client.hub_command(control, "config_get", "esme", key="events.class.low")
        assert got["data"]["value"]["treatment"] == "log_only"
        wait_until(
            lambda: rows(
                headend_db,
                "SELECT 1 FROM uplinks WHERE kind='config_change' AND body LIKE '%\"local\"%'",
            ),
            10,
            "the local change reported to the head-end",
            interval=0.2,
        )

        # A command not sealed (here not even JSON) is a security event, Unauthenticated message
        # (18.11.j, 17.2.1): an alert at once, naming the hub's module.
        subprocess.run(
            [require_program("mosquitto_pub"), "-h", rig.broker.host, "-p", str(rig.broker.port),
             *mosquitto_tls_args(rig), "-t", f"smartmeter/v1/{rig.hub.wan_id}/cmd", "-q", "1",
             "-m", "{not a command"],
            check=True, timeout=10,
        )  # fmt: skip
        alerts = wait_until(
            lambda: [a for a in client.alerts(control, 50) if a["code"] == 2005],
            10,
            "the Unauthenticated message alert at the head-end",
            interval=0.2,
        )
        assert alerts[0]["source"] == "hub" and alerts[0]["module"] == "wan"
        assert alerts[0]["kind"] == "alert"
        # The whole hub stream is kept once and in order.
        seqs = [s for (s,) in rows(headend_db, "SELECT seq FROM uplinks WHERE source='hub'")]
        assert seqs == list(range(1, len(seqs) + 1))


@pytest.mark.req("18.5")
def test_event_logs_survive_decommissioning(tmp_path: Path) -> None:
    """A meter removed from the HAN (decommissioned) keeps its event log, and so does the hub;
    the head-end keeps what it received."""
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    with RigLauncher(rig) as launcher:
        launcher.wait_joined(90)
        control = rig.control_path(HEADEND)
        before = request_sync(rig.control_path("gsme"), "events", 5, limit=1000)["events"]
        hub_before = request_sync(rig.control_path(rig.hub.name), "events", 5, limit=1000)
        assert client.hub_command(control, "remove", "gsme")["data"]["removed"] is True
        after = request_sync(rig.control_path("gsme"), "events", 5, limit=1000)["events"]
        hub_after = request_sync(rig.control_path(rig.hub.name), "events", 5, limit=1000)
        assert {e["seq"] for e in before} <= {e["seq"] for e in after}
        assert {e["seq"] for e in hub_before["events"]} <= {e["seq"] for e in hub_after["events"]}
        assert any(e["code"] == 101 for e in after), "its Power up is still there"

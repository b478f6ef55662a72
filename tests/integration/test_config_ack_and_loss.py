"""Component-level tests through real processes (issue 10): configuration-change messages
acknowledged by the head-end ad hoc or at the scheduled exchange, as set remotely (12.3); and
meters that keep pricing their consumption by their tariff while the hub and the WAN are gone
(12.7.2). A two-supplier rig of real processes on mosquitto, its clock 60 times fast."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from hal.control_socket import request_sync
from tests.integration.wan_delivery import headend_rows
from tests.waiting import wait_until
from tests.wan_probe import two_supplier_rig
from tools.headend import client
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
SCALE = 60
HEADEND = "headend"


@pytest.fixture
def fast_premises(tmp_path: Path) -> Iterator[tuple[Rig, RigLauncher]]:
    path = two_supplier_rig(tmp_path)
    path.write_text(re.sub(r"(?m)^scale = .*$", f"scale = {SCALE}.0", path.read_text()))
    rig = load_rig(path)
    with RigLauncher(rig) as launcher:
        launcher.wait_joined(120)
        yield rig, launcher


def config_changes(rig: Rig, key: str) -> list[dict[str, Any]]:
    """The configuration-change messages about `key` the head-end holds, in order."""
    rows = headend_rows(
        rig.store_path(HEADEND).parent,
        "SELECT body FROM uplinks WHERE kind = 'config_change' ORDER BY id",
    )
    return [b for b in (json.loads(body) for (body,) in rows) if b.get("key") == key]


def in_hub(rig: Rig, table: str, key: str, new: Any) -> int:
    """How many configuration-change messages setting `key` to `new` the hub still keeps in
    `table`: "outbox" (sent, waiting for the head-end's ack) or "outbox_held" (for the next
    scheduled exchange)."""
    db = sqlite3.connect(f"file:{rig.store_path(rig.hub.name)}?mode=ro", uri=True, timeout=10)
    try:
        rows = db.execute(f"SELECT body FROM {table} WHERE kind = 'config_change'").fetchall()
    finally:
        db.close()
    bodies = [json.loads(body) for (body,) in rows]
    return sum(b.get("key") == key and b.get("new") == new for b in bodies)


def kept(rig: Rig, key: str, new: Any) -> int:
    return in_hub(rig, "outbox", key, new) + in_hub(rig, "outbox_held", key, new)


def set_remotely(rig: Rig, key: str, value: Any) -> None:
    client.hub_command(rig.control_path(HEADEND), "config_set", "esme", key=key, value=value)


@pytest.mark.req("12.3")
def test_configuration_changes_are_acknowledged_ad_hoc_or_at_the_scheduled_exchange(
    fast_premises: tuple[Rig, RigLauncher],
) -> None:
    rig, _launcher = fast_premises
    key = "push.esme.interval_s"
    # The exchange a year apart while we look, so the change cannot be released under our eyes.
    set_remotely(rig, "exchange.interval_s", 366 * 86400)
    set_remotely(rig, "config_change.forward", "next_exchange")
    set_remotely(rig, key, 7200)
    # Held for the scheduled exchange: not at the head-end yet, not in flight.
    assert in_hub(rig, "outbox_held", key, 7200) == 1 and not [
        c for c in config_changes(rig, key) if c["new"] == 7200
    ]
    set_remotely(rig, "exchange.interval_s", 1800)  # an exchange every 30 s of real time
    wait_until(
        lambda: [c for c in config_changes(rig, key) if c["new"] == 7200],
        120,
        "the held change, at the head-end after the exchange",
    )
    wait_until(lambda: kept(rig, key, 7200) == 0, 60, "the change acknowledged")

    # Ad hoc: with the next exchange a day away, the change still arrives, and is acknowledged.
    set_remotely(rig, "exchange.interval_s", 86400)
    set_remotely(rig, "config_change.forward", "send_now")
    set_remotely(rig, key, 3600)
    assert in_hub(rig, "outbox_held", key, 3600) == 0, "an ad hoc change is not held"
    wait_until(
        lambda: [c for c in config_changes(rig, key) if c["new"] == 3600],
        60,
        "the ad hoc change, at the head-end before any exchange",
    )
    wait_until(lambda: kept(rig, key, 3600) == 0, 60, "the ad hoc change acknowledged")


def cost_since_bill(rig: Rig, meter: str) -> Decimal:
    tariff = request_sync(rig.control_path(meter), "tariff", 10)
    return Decimal(str(tariff["billing"]["cost_since_bill"]))


@pytest.mark.req("12.7.2")
def test_meters_keep_pricing_by_their_tariff_while_the_hub_and_the_wan_are_down(
    fast_premises: tuple[Rig, RigLauncher],
) -> None:
    rig, launcher = fast_premises
    request_sync(rig.control_path("esme"), "load", 10, watts=3000)
    request_sync(rig.control_path("gsme"), "flow", 10, m3_per_h=1.5)
    assert "broker" in launcher.children, sorted(launcher.children)
    for name in (rig.hub.name, "broker"):  # hub failure and WAN loss at once
        child = launcher.children[name]
        child.process.send_signal(signal.SIGKILL)
        child.process.wait(10)
    start = {meter: cost_since_bill(rig, meter) for meter in ("esme", "gsme")}
    for meter in ("esme", "gsme"):
        wait_until(
            lambda meter=meter: cost_since_bill(rig, meter) > start[meter],  # type: ignore[misc]
            120,
            f"{meter} pricing its consumption with no hub and no WAN",
        )
    assert launcher.children[rig.hub.name].process.poll() is not None, "the hub stayed down"

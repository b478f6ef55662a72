"""Scheduled pushes of a running rig carry the meter's half-hour profile recorded since the last
push, through the hub's durable outbox, to the meter's supplier (clauses 6.1.3, 12.1.t, 12.1.u;
issue 10): real meter, hub, broker and head-end processes on a clock running 60 times fast."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from hal.control_socket import request_sync
from tests.integration.wan_delivery import headend_rows
from tests.waiting import wait_until
from tests.wan_probe import two_supplier_rig
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
#: Clock seconds per real second: a half hour passes in 30 s.
SCALE = 60
LOAD_W = 2000


@pytest.fixture
def fast_premises(tmp_path: Path) -> Iterator[Rig]:
    path = two_supplier_rig(tmp_path)
    path.write_text(re.sub(r"(?m)^scale = .*$", f"scale = {SCALE}.0", path.read_text()))
    rig = load_rig(path)
    with RigLauncher(rig) as launcher:
        launcher.wait_joined(120)
        yield rig


def pushed(rig: Rig) -> list[tuple[dict[str, Any], str | None]]:
    rows = headend_rows(
        rig.store_path("headend").parent,
        "SELECT data, supplier FROM readings WHERE device = 'esme' AND kind = 'reading'"
        " ORDER BY id",
    )
    return [(json.loads(data), supplier) for data, supplier in rows]


@pytest.mark.req("6.1.3", "12.1.t", "6.1.4")
def test_each_scheduled_push_carries_the_new_half_hours_once(fast_premises: Rig) -> None:
    rig = fast_premises
    request_sync(rig.control_path("esme"), "load", 10, watts=LOAD_W)
    request_sync(
        rig.control_path(rig.hub.name), "config", 10, key="push.esme.interval_s", value=1800
    )

    def with_intervals() -> list[tuple[dict[str, Any], str | None]] | None:
        found = pushed(rig)
        full = [p for p, _ in found if p["profile"].get("intervals")]
        return found if len(full) >= 3 else None

    found = wait_until(with_intervals, 300, "three pushes with interval data", interval=1.0)
    assert {supplier for _, supplier in found} == {"alpha"}, "the meter's supplier only"
    profiles = [body["profile"] for body, _ in found]
    assert all("error" not in p for p in profiles[1:]), profiles
    starts = [datetime.fromisoformat(i["start"]) for p in profiles for i in p["intervals"]]
    assert starts == sorted(set(starts)), "an interval pushed twice or out of order"
    assert all(b - a == timedelta(minutes=30) for a, b in pairwise(starts))
    # Each push starts where the last ended, and carries what the meter measured.
    marks = [(p["from"], p["to"]) for p in profiles if "to" in p]
    assert all(marks[n][1] == marks[n + 1][0] for n in range(len(marks) - 1))
    full = [i["quantity"] for p in profiles for i in p["intervals"]][1:-1]
    assert full and all(abs(q - LOAD_W // 2) <= 2 for q in full), full

"""A rig that heals itself: rounds of kill -9 on a random process of a running premises
(broker, air, head-end, hub, a meter, the IHD). The launcher restarts what died; after every
round, within a bounded time, every device is joined again and an on-demand read of each meter
answers through the head-end, the WAN and the HAN (issue 7).

`make test` runs 15 rounds (every kind of process is killed several times); `make soak` runs the
long campaign (`CHAOS_ROUNDS=50`), which `make bench`'s recovery figures come from."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

from firmware.rig import load_rig
from tests.chaos import RECOVERY_BOUND_S, kill_and_recover, wait_working
from tests.rig_files import demo_rig_copy
from tools.launcher import RigLauncher

ROUNDS = int(os.environ.get("CHAOS_ROUNDS", "15"))
pytestmark = [pytest.mark.integration, pytest.mark.timeout(ROUNDS * RECOVERY_BOUND_S)]


@pytest.mark.req("19.1.7", "12.7.1")
def test_the_premises_recovers_from_every_random_kill(tmp_path: Path) -> None:
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    with RigLauncher(rig) as launcher:
        launcher.wait_joined(90)
        wait_working(launcher)
        recoveries = kill_and_recover(launcher, random.Random(50), ROUNDS)
        assert sum(len(times) for times in recoveries.by_kind.values()) == ROUNDS
        assert launcher.supervisor.given_up() == []
        print(recoveries.table())  # shown with -s; the figures are `make bench`'s

"""Benchmark (not a test): how long a premises takes to work again after kill -9 of each kind of
process (broker, air, head-end, hub, ESME, GSME, IHD), restarted by the launcher's supervisor.

    .venv/bin/python -m tests.perf.bench_recovery [--rounds-each 3]

"Works again" is: the hub reports every device joined and an on-demand read of each meter
answers through the head-end (`tests/chaos.py`).
"""

from __future__ import annotations

import argparse
import io
import random
import tempfile
from pathlib import Path

from firmware.rig import load_rig
from tests.chaos import kill_and_recover, victims, wait_working
from tests.rig_files import demo_rig_copy
from tools.launcher import RigLauncher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds-each", type=int, default=3, help="kills of each process")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        rig = load_rig(demo_rig_copy(Path(folder), broker_kind="mosquitto"))
        with RigLauncher(rig, out=io.StringIO()) as launcher:  # its reports are not the figures
            launcher.wait_joined(120)
            wait_working(launcher)
            rounds = args.rounds_each * len(victims(launcher))
            recoveries = kill_and_recover(launcher, random.Random(0), rounds, each_in_turn=True)
    print("recovery after kill -9 (time until every device is joined and every meter reads):")
    print(recoveries.table())


if __name__ == "__main__":
    main()

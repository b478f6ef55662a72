"""Benchmark (not a test): time to bring up a premises and on-demand read round trips.

    .venv/bin/python -m tests.perf.bench_read [RIG] [--reads 100]

Starts the rig as real processes (broker, air, head-end, hub, meters, IHD), reports how long
until every device has joined, then times on-demand reads of the ESME and GSME through the
head-end, over MQTT and the HAN (clause 6.1.11 asks for an answer within 10 s).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from firmware.rig import load_rig
from tests.rig_files import DEMO_RIG, demo_rig_copy
from tools.headend.client import read
from tools.launcher import RigLauncher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rig", nargs="?", default=str(DEMO_RIG))
    parser.add_argument("--reads", type=int, default=100)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        # the demo rig's own ports and run_dir may be in use by a running demo
        rig = load_rig(
            demo_rig_copy(Path(folder)) if Path(args.rig).resolve() == DEMO_RIG else args.rig
        )
        started = time.monotonic()
        with RigLauncher(rig) as launcher:
            joined_s = launcher.wait_joined(120)
            print(
                f"processes started and all {len(rig.devices)} devices joined in {time.monotonic() - started:.2f} s "
                f"(joins {joined_s:.2f} s after the launcher returned)"
            )
            control = rig.control_path("headend")
            for device in ("esme", "gsme"):
                times = []
                for _ in range(args.reads):
                    t0 = time.monotonic()
                    read(control, device, 10.0)
                    times.append(time.monotonic() - t0)
                times.sort()
                print(
                    f"{device}: {len(times)} on-demand reads, median {statistics.median(times) * 1000:.1f} ms, "
                    f"p95 {times[int(0.95 * (len(times) - 1))] * 1000:.1f} ms, worst {times[-1] * 1000:.1f} ms"
                )


if __name__ == "__main__":
    main()

"""Benchmark (not a test): start-up, cold and warm, and what an idle premises costs, per process.

    .venv/bin/python -m tests.perf.bench_startup [RIG] [--starts 3] [--idle-s 60]

Starts the rig as real processes (broker, air, head-end, hub, meters, IHD) and reports:

- start-up: cold (fresh run directory: formation, certificates, joining) and warm (the same run
  directory again: NCP tokens and the hub's known devices written) until the hub reports every
  device joined, the median and the spread of `--starts` starts of each;
- idle: the CPU seconds each process spends in `--idle-s` seconds of a running premises (user +
  system time from /proc/PID/stat), as a share of one core, and their total. CPU seconds do not
  depend on what else the machine runs, wall-clock start-up times do: the figures say how loaded
  the machine was (its load average) when they were taken.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from firmware.rig import Rig, load_rig
from tests.rig_files import DEMO_RIG, demo_rig_copy
from tools.launcher import RigLauncher

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SETTLE_S = 5.0


def cpu_seconds_of(pid: int) -> float:
    """User + system CPU seconds so far of one process (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def cpu_seconds(pids: Sequence[int]) -> float:
    """User + system CPU seconds so far of these processes."""
    return sum(cpu_seconds_of(pid) for pid in pids)


def idle_shares(launcher: RigLauncher, seconds: float) -> dict[str, float]:
    """Each process's share of one core over `seconds` of an idle premises."""
    pids = {name: child.process.pid for name, child in launcher.children.items()}
    time.sleep(SETTLE_S)  # let the first reads, pushes and price publications pass
    before = {name: cpu_seconds_of(pid) for name, pid in pids.items()}
    started = time.monotonic()
    time.sleep(seconds)  # measuring what an idle premises costs: the wait is the measurement
    elapsed = time.monotonic() - started
    return {name: (cpu_seconds_of(pid) - before[name]) / elapsed for name, pid in pids.items()}


def print_idle(shares: Mapping[str, float], seconds: float) -> None:
    print(f"idle premises, {seconds:g} s, CPU seconds per minute (% of one core):")
    for name, share in shares.items():
        print(f"  {name:<9} {share * 60:6.3f} s/min ({share * 100:5.2f}%)")
    total = sum(shares.values())
    print(f"  {'total':<9} {total * 60:6.3f} s/min ({total * 100:5.2f}%)")


@dataclass
class Start:
    """One start of the rig: seconds until every device joined, and the CPU seconds each
    process had used by then (robust to a loaded machine, where the seconds are not)."""

    seconds: float
    cpu: dict[str, float]


def timed_start(rig: Rig) -> tuple[RigLauncher, Start]:
    """Start the rig; returns it running, and how long it took."""
    launcher = RigLauncher(rig, out=io.StringIO())
    started = time.monotonic()
    launcher.start()
    launcher.wait_joined(120)
    seconds = time.monotonic() - started
    cpu = {name: cpu_seconds_of(child.process.pid) for name, child in launcher.children.items()}
    return launcher, Start(seconds, cpu)


def summary(what: str, starts: Sequence[Start]) -> str:
    times = [start.seconds for start in starts]
    names = list(starts[0].cpu)
    cpu = {name: statistics.median(start.cpu[name] for start in starts) for name in names}
    per_process = ", ".join(f"{name} {seconds:.2f}" for name, seconds in cpu.items())
    return (
        f"{what} start, until every device joined: median {statistics.median(times):.2f} s"
        f" (min {min(times):.2f}, max {max(times):.2f}, {len(times)} starts); CPU seconds"
        f" by then: {sum(cpu.values()):.2f} ({per_process})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rig", nargs="?", default=str(DEMO_RIG))
    parser.add_argument("--starts", type=int, default=3)
    parser.add_argument("--idle-s", type=float, default=60.0)
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as folder:
        # the demo rig's own ports and run_dir may be in use by a running demo
        demo = Path(args.rig).resolve() == DEMO_RIG
        rig = load_rig(demo_rig_copy(Path(folder)) if demo else args.rig)
        cold: list[Start] = []
        warm: list[Start] = []
        for _ in range(args.starts):
            shutil.rmtree(rig.run_dir, ignore_errors=True)
            launcher, start = timed_start(rig)
            launcher.stop()
            cold.append(start)
        for _ in range(args.starts):
            launcher, start = timed_start(rig)
            warm.append(start)
            if len(warm) < args.starts:
                launcher.stop()
        print(summary("cold", cold))
        print(summary("warm", warm))
        try:
            if args.idle_s > 0:
                print_idle(idle_shares(launcher, args.idle_s), args.idle_s)
        finally:
            launcher.stop()
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()

"""Benchmark (not a test): start-up, on-demand read latency hop by hop, sustained reads, idle CPU.

    .venv/bin/python -m tests.perf.bench_read [RIG] [--reads 100] [--sustain-s 60]

Starts the rig as real processes (broker, air, head-end, hub, meters, IHD) with latency tracing
on (`SMARTMETER_TRACE=1`, see hal/trace.py) and reports:

- start-up: cold (fresh run directory) and warm (NCP tokens written) until every device joined;
- back-to-back on-demand reads of each meter through the head-end, MQTT, the hub and the HAN:
  p50/p95/p99, and the p50 of each hop (head-end -> hub over MQTT, the HAN exchange, hub logic,
  hub -> head-end over MQTT, the rest: CLI, control socket, head-end);
- reads at 20 per second for `--sustain-s` seconds: p50/p99 and the hub's CPU share.

Start-up (medians, CPU seconds per process) and idle CPU per process: `bench_startup`.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from firmware.rig import Rig, load_rig
from hal import trace
from tests.chaos import wait_working
from tests.perf.bench_startup import cpu_seconds
from tests.rig_files import DEMO_RIG, demo_rig_copy
from tools.headend.client import read
from tools.launcher import HEADEND, RigLauncher

HOPS = ("mqtt down", "HAN", "hub", "mqtt up", "rest")


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def hops(reply: dict[str, Any], total_s: float) -> dict[str, float]:
    t = reply["trace"]
    down = t["hub_received"] - t["headend_sent"]
    han = t["han_done"] - t["hub_received"]
    hub = t["hub_sent"] - t["han_done"]
    up = t["headend_received"] - t["hub_sent"]
    return dict(zip(HOPS, (down, han, hub, up, total_s - down - han - hub - up), strict=True))


def timed_read(control: Path, device: str) -> tuple[float, dict[str, Any]]:
    started = time.monotonic()
    reply = read(control, device, 10.0)
    return time.monotonic() - started, reply


def back_to_back(rig: Rig, reads: int) -> None:
    control = rig.control_path(HEADEND)
    for device in ("esme", "gsme"):
        totals: list[float] = []
        split: dict[str, list[float]] = {hop: [] for hop in HOPS}
        for _ in range(reads):
            total, reply = timed_read(control, device)
            totals.append(total)
            for hop, seconds in hops(reply, total).items():
                split[hop].append(seconds)
        ms = {p: percentile(totals, p) * 1000 for p in (0.5, 0.95, 0.99)}
        print(
            f"{device}: {reads} back-to-back reads: p50 {ms[0.5]:.1f} ms, p95 {ms[0.95]:.1f} ms,"
            f" p99 {ms[0.99]:.1f} ms"
        )
        for hop in HOPS:
            print(f"  {hop:<9} p50 {statistics.median(split[hop]) * 1000:6.1f} ms")


def sustained(rig: Rig, launcher: RigLauncher, seconds: float, rate: float = 20.0) -> None:
    control = rig.control_path(HEADEND)
    hub_pid = launcher.processes[rig.hub.name].pid
    cpu_before, wall_before = cpu_seconds([hub_pid]), time.monotonic()
    totals: list[float] = []
    due = time.monotonic()
    end = due + seconds
    devices = ("esme", "gsme")
    while due < end:
        total, _reply = timed_read(control, devices[len(totals) % 2])
        totals.append(total)
        due += 1 / rate
        time.sleep(max(0.0, due - time.monotonic()))  # pacing the load, not waiting for it
    share = (cpu_seconds([hub_pid]) - cpu_before) / (time.monotonic() - wall_before)
    print(
        f"{len(totals) / seconds:.1f} reads/s for {seconds:g} s: p50 "
        f"{percentile(totals, 0.5) * 1000:.1f} ms, p99 {percentile(totals, 0.99) * 1000:.1f} ms,"
        f" hub CPU {share * 100:.0f}% of a core"
    )


def start(rig: Rig, what: str) -> RigLauncher:
    launcher = RigLauncher(rig, out=io.StringIO())
    started = time.monotonic()
    launcher.start()
    launcher.wait_joined(120)
    joined = time.monotonic() - started
    wait_working(launcher)
    print(
        f"{what} start: every device joined {joined:.2f} s after the launch, every meter read"
        f" after {time.monotonic() - started:.2f} s"
    )
    return launcher


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rig", nargs="?", default=str(DEMO_RIG))
    parser.add_argument("--reads", type=int, default=100)
    parser.add_argument("--sustain-s", type=float, default=60.0)
    args = parser.parse_args()
    os.environ[trace.ENV] = "1"  # the children inherit it
    with tempfile.TemporaryDirectory() as folder:
        # the demo rig's own ports and run_dir may be in use by a running demo
        demo = Path(args.rig).resolve() == DEMO_RIG
        rig = load_rig(demo_rig_copy(Path(folder)) if demo else args.rig)
        start(rig, "cold").stop()
        launcher = start(rig, "warm")
        try:
            back_to_back(rig, args.reads)
            if args.sustain_s > 0:
                sustained(rig, launcher, args.sustain_s)
        finally:
            launcher.stop()


if __name__ == "__main__":
    main()

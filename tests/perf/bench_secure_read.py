"""Benchmark (not a test): on-demand reads over the sealed WAN beside the plain path.

    .venv/bin/python -m tests.perf.bench_secure_read [--reads 200]

Starts the demo premises twice as real processes, once with the WAN in plain JSON
(`[roles] wan_sealed = false`) and once sealed (README "WAN security": every command signed by
its supplier, every answer signed by the meter, both encrypted with AES-128-GCM under ECDH
keys, counters checked and saved), and reports back-to-back on-demand read round trips of each
meter (p50, p99) through the head-end's control socket, MQTT, the hub and the HAN. It also
times sealing and opening one envelope in-process, which is the cost the sealed path adds at
each end of each message.
"""

from __future__ import annotations

import argparse
import io
import secrets
import tempfile
import time
from pathlib import Path

from firmware.rig import load_rig
from protocol.wan_security import (
    PartyKeys,
    ReplayWindow,
    hub_party,
    open_envelope,
    seal,
    supplier_party,
)
from tests.chaos import wait_working
from tests.perf.bench_read import percentile, timed_read
from tests.rig_files import demo_rig_copy
from tools.launcher import HEADEND, RigLauncher

DEVICES = ("esme", "gsme")


def reads(folder: Path, sealed: bool, count: int) -> dict[str, list[float]]:
    path = demo_rig_copy(folder)
    path.write_text(path.read_text() + f"\n[roles]\nwan_sealed = {str(sealed).lower()}\n")
    rig = load_rig(path)
    launcher = RigLauncher(rig, out=io.StringIO())
    launcher.start()
    try:
        launcher.wait_joined(120)
        wait_working(launcher)
        control = rig.control_path(HEADEND)
        return {
            device: [timed_read(control, device)[0] for _ in range(count)] for device in DEVICES
        }
    finally:
        launcher.stop()


def envelope_cost(rounds: int = 500) -> tuple[float, float]:
    """Milliseconds to seal, and to open, one 600-octet payload (the size of a read's result)."""
    sender, receiver = (
        PartyKeys.from_random(secrets.token_bytes(64)),
        PartyKeys.from_random(secrets.token_bytes(64)),
    )
    alpha, hub = supplier_party("alpha"), hub_party("hub-1")
    payload = secrets.token_bytes(600)
    started = time.perf_counter()
    envelopes = [
        seal(
            payload,
            channel="result",
            sender=alpha,
            sender_keys=sender,
            recipient=hub,
            recipient_keys=receiver.public,
            counter=n,
            nonce=secrets.token_bytes(12),
        )
        for n in range(rounds)
    ]
    sealing = (time.perf_counter() - started) / rounds
    started = time.perf_counter()
    for envelope in envelopes:
        open_envelope(
            envelope,
            channel="result",
            me=hub,
            my_keys=receiver,
            directory={alpha: sender.public},
            window=ReplayWindow(),
        )
    opening = (time.perf_counter() - started) / rounds
    return sealing * 1000, opening * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args()
    seal_ms, open_ms = envelope_cost()
    print(f"one envelope (600-octet payload): seal {seal_ms:.2f} ms, open {open_ms:.2f} ms")
    results: dict[str, dict[str, list[float]]] = {}
    for label, sealed in (("plain", False), ("sealed", True)):
        with tempfile.TemporaryDirectory() as folder:
            results[label] = reads(Path(folder), sealed, args.reads)
    for device in DEVICES:
        figures = []
        for label in ("plain", "sealed"):
            totals = results[label][device]
            p50, p99 = (percentile(totals, p) * 1000 for p in (0.5, 0.99))
            figures.append(f"{label} p50 {p50:.1f} ms, p99 {p99:.1f} ms")
        print(f"{device}: {args.reads} back-to-back reads: {'; '.join(figures)}")


if __name__ == "__main__":
    main()

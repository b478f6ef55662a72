"""Chaos on a running rig: kill -9 one process at random, then time how long until the premises
works again (every device joined, an on-demand read of each meter answers). Shared by the chaos
test (issue 7) and `make bench` (recovery time per kind of process)."""

from __future__ import annotations

import random
import signal
import statistics
import time
from dataclasses import dataclass, field

from firmware.rig import DeviceKind
from hal.control_socket import ControlError
from tools.headend.client import read
from tools.launcher import AIR, BROKER, HEADEND, RigLauncher

#: What "works again" must take at most, whatever was killed.
RECOVERY_BOUND_S = 60.0
POLL_S = 0.25


@dataclass
class Recoveries:
    """Seconds from each kill to a working premises again, by the kind of process killed."""

    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, seconds: float) -> None:
        self.by_kind.setdefault(kind, []).append(seconds)

    def table(self) -> str:
        rows = [f"{'killed':<10} {'rounds':>6} {'median s':>9} {'worst s':>8}"]
        for kind, times in sorted(self.by_kind.items()):
            rows.append(
                f"{kind:<10} {len(times):>6} {statistics.median(times):>9.2f} {max(times):>8.2f}"
            )
        return "\n".join(rows)


def kind_of(launcher: RigLauncher, name: str) -> str:
    """broker, air, headend, hub, or the device kind (esme, gsme, ihd)."""
    if name in (BROKER, AIR, HEADEND):
        return name
    if name == launcher.rig.hub.name:
        return "hub"
    return launcher.rig.devices[name].kind.value


def premises_works(launcher: RigLauncher) -> bool:
    """Every device joined, as the hub sees it, and each meter answers a read via the head-end."""
    rig = launcher.rig
    try:
        joined = launcher.hub_status(2.0).get("joined") or {}
        if not all(joined.get(name) is True for name in rig.devices):
            return False
        control = rig.control_path(HEADEND)
        meters = [n for n, d in rig.devices.items() if d.kind is not DeviceKind.IHD]
        return all(read(control, name, 5.0)["data"] is not None for name in meters)
    except (ControlError, OSError):
        return False


def wait_working(launcher: RigLauncher, bound_s: float = RECOVERY_BOUND_S) -> float:
    """Supervise (restart what died) until the premises works; seconds taken, or
    AssertionError naming what is still wrong after `bound_s`."""
    started = time.monotonic()
    while not premises_works(launcher):
        launcher.check_children()
        if time.monotonic() - started > bound_s:
            try:
                seen = f"the hub reports {launcher.hub_status(2.0).get('joined')}"
            except (ControlError, OSError) as exc:
                seen = f"the hub does not answer ({exc})"
            raise AssertionError(f"the premises did not recover within {bound_s:g} s: {seen}")
        time.sleep(POLL_S)  # the polling interval of the wait
    return time.monotonic() - started


def victims(launcher: RigLauncher) -> list[str]:
    return [BROKER, AIR, HEADEND, launcher.rig.hub.name, *launcher.rig.devices]


def kill_and_recover(
    launcher: RigLauncher, chance: random.Random, rounds: int, *, each_in_turn: bool = False
) -> Recoveries:
    """`rounds` times: kill -9 a process of the rig (at random, or each in turn), time the
    recovery."""
    recoveries = Recoveries()
    names = victims(launcher)
    for round_ in range(rounds):
        victim = names[round_ % len(names)] if each_in_turn else chance.choice(names)
        process = launcher.processes[victim]
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        recoveries.add(kind_of(launcher, victim), wait_working(launcher))
    return recoveries

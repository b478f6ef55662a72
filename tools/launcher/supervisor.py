"""The processes of a running rig: start them, restart those that die, stop them all.

Supervision works as systemd's `Restart=on-failure` does: a child that exits with a failure
(a non-zero status, or killed by a signal) is started again after a delay that doubles from
`RestartPolicy.first_delay_s` up to `max_delay_s`; one started `burst` times within
`interval_s` is given up on, loudly, with the end of its log. A child that exits with status 0
stopped on purpose and stays stopped. `smartmeter rig systemd` writes the same policy into
systemd units (`tools/launcher/systemd.py`).

Children stay in the launcher's process group and session on purpose: if the launcher itself
is killed, a Ctrl-C or a hang-up of the terminal still reaches every one of them. Every child
shares one clock start: `SMARTMETER_START_WALL` in its environment (DESIGN.md §6).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware.wiring import START_WALL_ENV

from .plan import ProcessSpec

__all__ = ["STOP_GRACE_S", "Child", "Guard", "RestartPolicy", "Supervisor", "log_tail", "shown"]

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_S = 5.0
LOG_TAIL_LINES = 20

Guard = Callable[[], contextlib.AbstractContextManager[Any]]
Say = Callable[[str], None]


@dataclass(frozen=True)
class RestartPolicy:
    """When a dead child is started again (systemd's Restart=on-failure, RestartSec with
    back-off, StartLimitBurst and StartLimitIntervalSec)."""

    first_delay_s: float = 0.5
    max_delay_s: float = 8.0
    burst: int = 5
    interval_s: float = 60.0

    def delay(self, recent_starts: int) -> float:
        """The wait before the next start, given the starts within the interval so far."""
        return float(min(self.first_delay_s * 2 ** max(0, recent_starts - 1), self.max_delay_s))


@dataclass
class Child:
    """One process of the rig, as the supervisor started it."""

    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    reported: bool = False
    #: monotonic times of its starts, for the burst limit
    starts: list[float] = field(default_factory=list)
    restart_at: float | None = None
    #: monotonic time its death was noticed
    died_at: float | None = None
    gave_up: bool = False

    @property
    def failed(self) -> bool:
        return self.exited and self.process.returncode != 0

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def exited(self) -> bool:
        return self.process.poll() is not None


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log file, for a report that a process died."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def shown(path: Path) -> str:
    """A path as short as it can be shown: relative to the working directory when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


class Supervisor:
    """Starts children from their specs, reports deaths, stops them last-started first.

    `guard` is entered around every process creation and around `stop_all`; the command line
    passes one that holds Ctrl-C back meanwhile, so that no child is ever created without being
    recorded, and a second Ctrl-C cannot cut a clean stop short.
    """

    def __init__(
        self, start_wall: float, say: Say, guard: Guard, policy: RestartPolicy | None = None
    ) -> None:
        self.start_wall = start_wall
        self.children: dict[str, Child] = {}
        self.policy = policy or RestartPolicy()
        self._say = say
        self._guard = guard
        self.stopping = False
        #: (name, seconds it was down) of every restart, for benchmarks and tests.
        self.restarted: list[tuple[str, float]] = []

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        # zigpy's wheel installs a top-level package named "tools": ours must come first.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env[START_WALL_ENV] = repr(self.start_wall)
        env["PYTHONUNBUFFERED"] = "1"  # a log tail must show the last words of a dead process
        return env

    def start(self, spec: ProcessSpec) -> Child:
        spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        with self._guard(), open(spec.log_path, "ab") as log:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            log.write(f"---- {stamp} launcher: starting {' '.join(spec.argv)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                spec.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env(),
            )
            previous = self.children.get(spec.name)
            child = self.children[spec.name] = Child(spec, process)
            now = time.monotonic()
            child.starts = [
                t for t in (previous.starts if previous else []) if now - t < self.policy.interval_s
            ]
            child.starts.append(now)
        return child

    def restart(self, name: str) -> Child:
        """Start an exited child again from its spec (same command line, same log), now."""
        child = self.children[name]
        if not child.exited:
            raise RuntimeError(f"{name} is still running (pid {child.process.pid})")
        return self.start(child.spec)

    def check(self, supervise: bool = True) -> list[Child]:
        """Report children that exited on their own since the last call, and return them;
        with `supervise`, start again those that failed, when their delay is over.

        The others keep running: on a test rig one dead process is something to look at, not
        a reason to tear the premises down.
        """
        if self.stopping:
            return []
        died = []
        now = time.monotonic()
        for child in list(self.children.values()):
            if not child.exited or child.gave_up:
                continue
            if not child.reported:
                child.reported = True
                died.append(child)
                self._report_death(child, now, supervise)
            elif child.restart_at is not None and now >= child.restart_at:
                self._restart(child, now)
        return died

    def _report_death(self, child: Child, now: float, supervise: bool) -> None:
        child.died_at = now
        status = child.process.returncode
        if not supervise or not child.failed:
            self._say(
                f"{child.name} (pid {child.process.pid}) exited with status {status}; the "
                f"others keep running. {shown(child.spec.log_path)} ends:\n"
                f"{log_tail(child.spec.log_path)}"
            )
            return
        recent = [t for t in child.starts if now - t < self.policy.interval_s]
        if len(recent) >= self.policy.burst:
            child.gave_up = True
            self._say(
                f"{child.name} keeps dying ({len(recent)} starts in {self.policy.interval_s:g} s, "
                f"last status {status}): gave up on it; the others keep running. "
                f"{shown(child.spec.log_path)} ends:\n{log_tail(child.spec.log_path)}"
            )
            return
        delay = self.policy.delay(len(recent))
        child.restart_at = now + delay
        self._say(
            f"{child.name} (pid {child.process.pid}) died with status {status}; "
            f"restarting it in {delay:g} s"
        )

    def _restart(self, child: Child, now: float) -> None:
        down_since = child.restart_at or now
        restarted = self.start(child.spec)
        restarted.starts = [t for t in child.starts if now - t < self.policy.interval_s] + [now]
        self.restarted.append(
            (child.name, now - (down_since - self.policy.delay(len(child.starts))))
        )
        self._say(f"{child.name} restarted (pid {restarted.process.pid})")

    def given_up(self) -> list[str]:
        return [child.name for child in self.children.values() if child.gave_up]

    def exited(self, name: str) -> bool:
        child = self.children.get(name)
        return child is not None and child.exited

    def lost(self, name: str) -> bool:
        """Exited and not coming back: stopped on purpose, given up on, or not supervised."""
        child = self.children.get(name)
        return (
            child is not None
            and child.exited
            and child.reported
            and (child.gave_up or child.restart_at is None)
        )

    def all_lost(self) -> bool:
        return bool(self.children) and all(self.lost(name) for name in self.children)

    def stop_all(self) -> dict[str, int | None]:
        """Stop every child, last started first: SIGTERM, up to 5 s grace, then SIGKILL.

        Returns each child's exit status. Safe to call more than once.
        """
        self.stopping = True
        statuses: dict[str, int | None] = {}
        with self._guard():
            for child in reversed(list(self.children.values())):
                statuses[child.name] = self._stop(child)
        return statuses

    def _stop(self, child: Child) -> int | None:
        process = child.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._say(
                    f"{child.name} (pid {process.pid}) ignored SIGTERM for "
                    f"{STOP_GRACE_S:g} s: killing it"
                )
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()
        return process.returncode

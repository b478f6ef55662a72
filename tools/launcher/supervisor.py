"""The processes of a running rig: start them, notice when one dies, stop them all.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.wiring import START_WALL_ENV

from .plan import ProcessSpec

__all__ = ["STOP_GRACE_S", "Child", "Guard", "Supervisor", "log_tail", "shown"]

REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_GRACE_S = 5.0
LOG_TAIL_LINES = 20

Guard = Callable[[], contextlib.AbstractContextManager[Any]]
Say = Callable[[str], None]


@dataclass
class Child:
    """One process of the rig, as the supervisor started it."""

    spec: ProcessSpec
    process: subprocess.Popen[bytes]
    reported: bool = False

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

    def __init__(self, start_wall: float, say: Say, guard: Guard) -> None:
        self.start_wall = start_wall
        self.children: dict[str, Child] = {}
        self._say = say
        self._guard = guard
        self.stopping = False

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
            child = self.children[spec.name] = Child(spec, process)
        return child

    def restart(self, name: str) -> Child:
        """Start an exited child again from its spec (same command line, same log)."""
        child = self.children[name]
        if not child.exited:
            raise RuntimeError(f"{name} is still running (pid {child.process.pid})")
        return self.start(child.spec)

    def check(self) -> list[Child]:
        """Report children that exited on their own since the last call, and return them.

        The others keep running: on a test rig one dead process is something to look at, not
        a reason to tear the premises down.
        """
        if self.stopping:
            return []
        died = []
        for child in self.children.values():
            if child.reported or not child.exited:
                continue
            child.reported = True
            died.append(child)
            self._say(
                f"{child.name} (pid {child.process.pid}) exited with status "
                f"{child.process.returncode}; the others keep running. "
                f"{shown(child.spec.log_path)} ends:\n{log_tail(child.spec.log_path)}"
            )
        return died

    def exited(self, name: str) -> bool:
        child = self.children.get(name)
        return child is not None and child.exited

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

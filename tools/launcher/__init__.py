"""Start a whole premises from one rig file, as separate processes, and stop it cleanly.

`smartmeter rig up RIG` and the integration tests both use `RigLauncher` (DESIGN.md §2, "rig
launcher"): `plan` says what runs, `supervisor` runs it, `readiness` says when it is up.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from firmware.rig import BrokerKind, Rig
from hal.control_socket import ControlError
from protocol.errors import ConfigError
from tools import broker as broker_tool

from .plan import AIR, BROKER, HEADEND, ProcessSpec, inventory_for, module_for, plan_rig
from .readiness import (
    JOIN_TIMEOUT_S,
    JoinTimeout,
    hub_status,
    wait_headend,
    wait_joined,
    wait_listening,
)
from .supervisor import Child, Guard, RestartPolicy, Supervisor, log_tail, shown

__all__ = [
    "AIR",
    "BROKER",
    "HEADEND",
    "JOIN_TIMEOUT_S",
    "Child",
    "JoinTimeout",
    "ProcessSpec",
    "RestartPolicy",
    "RigLauncher",
    "inventory_for",
    "log_tail",
    "module_for",
    "shown",
]

# sun_path is 108 bytes on Linux, including the terminating NUL.
UNIX_PATH_MAX = 107


class RigLauncher:
    """Starts, watches and stops every process of one rig.

    Use as a context manager (`with RigLauncher(rig) as launcher: launcher.wait_joined(60)`), or
    call `start()` and `stop()`. `processes` maps each component name to its `Popen`.
    """

    def __init__(
        self,
        rig: Rig,
        *,
        broker_kind_override: BrokerKind | str | None = None,
        out: TextIO | None = None,
        guard: Guard = contextlib.nullcontext,
        policy: RestartPolicy | None = None,
    ) -> None:
        self.rig = rig
        try:
            self.broker_kind = BrokerKind(broker_kind_override or rig.broker.kind)
        except ValueError:
            known = ", ".join(k.value for k in BrokerKind)
            raise ConfigError(
                f"broker kind {broker_kind_override!r} unknown; known: {known}"
            ) from None
        self.log_dir = rig.run_dir / "logs"
        self.start_wall: float | None = None
        self._out = out
        self._guard = guard
        self.policy = policy or RestartPolicy()
        self.supervisor = Supervisor(0.0, self._say, guard, self.policy)

    # -- what is running -------------------------------------------------------------------------

    @property
    def children(self) -> dict[str, Child]:
        return self.supervisor.children

    @property
    def processes(self) -> dict[str, Any]:
        return {name: child.process for name, child in self.children.items()}

    @property
    def component_names(self) -> list[str]:
        """Everything with a control socket: head-end, hub, devices, in start order."""
        return [HEADEND, *self.rig.component_names]

    def describe(self) -> str:
        """A table of what runs: name, pid, control socket, log file."""
        rows = [("name", "pid", "control socket", "log", "")]
        for child in self.children.values():
            spec = child.spec
            control = shown(spec.control_path) if spec.control_path else "-"
            rows.append(
                (child.name, str(child.process.pid), control, shown(spec.log_path), spec.detail)
            )
        if self.broker_kind is BrokerKind.EXTERNAL:
            broker = f"external broker at {self.rig.broker.host}:{self.rig.broker.port}"
            rows.insert(1, (BROKER, "-", "-", "-", broker))
        widths = [max(len(row[i]) for row in rows) for i in range(4)]
        return "\n".join(
            (
                "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False))
                + f"  {row[4]}"
            ).rstrip()
            for row in rows
        )

    # -- start -----------------------------------------------------------------------------------

    def start(self) -> None:
        """Start every process of the rig; on failure stop what was started and raise.

        Raises ConfigError for a rig that cannot run (socket paths, no mosquitto) and
        TransientLinkError when the broker or the air does not come up.
        """
        if self.children:
            raise ConfigError(f"rig {self.rig.name} is already started")
        self._check_socket_paths()
        self.rig.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        for note in self.rig.notes:
            self._say(f"note: {note}")
        self.start_wall = time.time()
        self.supervisor = Supervisor(self.start_wall, self._say, self._guard, self.policy)
        try:
            specs = plan_rig(self.rig, self.broker_kind, self.log_dir)
            for spec in specs:
                if spec.listens_on is not None:
                    broker_tool.check_port_free(*spec.listens_on, spec.name)
            # Every process at once: the servers (broker, air) are up long before the firmware
            # processes have imported their stacks, and every client retries its link anyway.
            children = [self._start(spec) for spec in specs]
            for child in children:
                if child.spec.listens_on is not None:
                    wait_listening(child)
            if self.broker_kind is BrokerKind.EXTERNAL:
                self._check_external_broker()
            self._wait_headend()
        except BaseException:
            self.stop()
            raise

    def _start(self, spec: ProcessSpec) -> Child:
        child = self.supervisor.start(spec)
        if spec.name == BROKER:
            self._link_broker_log(spec)
        return child

    def _link_broker_log(self, spec: ProcessSpec) -> None:
        """One place for every log: logs/broker.log points at the broker's own."""
        link = self.log_dir / "broker.log"
        with contextlib.suppress(OSError):
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(Path(os.path.relpath(spec.log_path, self.log_dir)))

    def _check_external_broker(self) -> None:
        host, port = self.rig.broker.host, self.rig.broker.port
        try:
            broker_tool.wait_for_port(host, port, 10.0)
        except Exception:
            # Clients keep retrying: an external broker may come up later.
            self._say(f"warning: the external broker at {host}:{port} does not answer yet")

    def _check_socket_paths(self) -> None:
        for name in self.component_names:
            path = self.rig.control_path(name)
            if len(os.fsencode(path)) > UNIX_PATH_MAX:
                raise ConfigError(
                    f"{self.rig.path}: [rig] run_dir is too deep: the control socket {path} is "
                    f"longer than the {UNIX_PATH_MAX} bytes a Unix socket path may have"
                )

    def _wait_headend(self) -> None:
        """Wait until the head-end answers, so the commands printed next work at once."""
        try:
            wait_headend(self.rig.control_path(HEADEND))
        except ControlError as exc:
            self._say(f"warning: {exc}")
            self.check_children()

    # -- watch -----------------------------------------------------------------------------------

    def restart(self, name: str) -> Child:
        """Start an exited process of the rig again, as it was started the first time."""
        return self.supervisor.restart(name)

    def check_children(self) -> list[Child]:
        return self.supervisor.check()

    def all_exited(self) -> bool:
        """Every process has exited and none is waiting to be restarted."""
        return self.supervisor.all_lost()

    def hub_status(self, timeout: float = 1.0) -> dict[str, Any]:
        return hub_status(self.rig.control_path(self.rig.hub.name), timeout)

    def wait_joined(self, timeout: float = JOIN_TIMEOUT_S) -> float:
        """Wait until the hub reports every device joined; returns the seconds taken."""
        return wait_joined(
            self.supervisor,
            self.rig.hub.name,
            self.rig.control_path(self.rig.hub.name),
            list(self.rig.devices),
            timeout,
            self._say,
        )

    # -- stop ------------------------------------------------------------------------------------

    def stop(self) -> dict[str, int | None]:
        return self.supervisor.stop_all()

    def __enter__(self) -> RigLauncher:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def _say(self, text: str) -> None:
        out = self._out if self._out is not None else sys.stdout
        print(text, file=out, flush=True)

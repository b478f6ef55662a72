"""Start a whole premises from one rig file, as separate processes, and stop it cleanly.

`smartmeter rig up RIG` and the integration tests both use `RigLauncher` (DESIGN.md §2, "rig
launcher"). Start order follows the data flow, so that each process finds what it talks to:
broker, the air (only if some radio is emulated), head-end, hub, then each device. Clients retry
their links anyway, so the order only shortens the time until every device has joined.

Every child shares one clock start: the launcher puts `time.time()` at launch in the environment
variable SMARTMETER_START_WALL, and the firmware's simulated clock counts from it (DESIGN.md §6),
so all processes of a rig agree on the time whatever order they come up in.

Children stay in the launcher's process group and session on purpose: if the launcher itself is
killed, a Ctrl-C or a hang-up of the terminal still reaches every one of them.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, TextIO

from devices.core.rig import BrokerKind, DeviceKind, Rig
from hal.clock_factory import START_WALL_ENV as START_WALL_ENV
from hal.control_socket import ControlError, request_sync
from protocol.errors import ConfigError, TransientLinkError
from protocol.ieee802154 import eui64_to_str
from tools import broker as broker_tool
from tools.headend import client as headend_client

REPO_ROOT = Path(__file__).resolve().parents[1]
BROKER, AIR, HEADEND = "broker", "air", "headend"
RESERVED_NAMES = frozenset({BROKER, AIR, HEADEND})
PORT_WAIT_S = 10.0
HEADEND_READY_S = 15.0
STOP_GRACE_S = 5.0
JOIN_TIMEOUT_S = 60.0
LOG_TAIL_LINES = 20
# sun_path is 108 bytes on Linux, including the terminating NUL.
UNIX_PATH_MAX = 107

Guard = Callable[[], contextlib.AbstractContextManager[Any]]


class JoinTimeout(TransientLinkError):
    """Not every device joined the hub in time; `missing` names those that did not."""

    def __init__(self, missing: list[str], waited_s: float, detail: str = "") -> None:
        self.missing = missing
        self.waited_s = waited_s
        if missing:
            names = ", ".join(missing)
            text = f"after {waited_s:.0f} s these devices have not joined the hub: {names}"
        else:
            text = f"the hub did not report its status within {waited_s:.0f} s"
        super().__init__(f"{text} ({detail})" if detail else text)


@dataclass
class Child:
    """One process of the rig, as the launcher started it."""

    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    control_path: Path | None = None
    detail: str = ""
    reported: bool = False


def module_for(kind: DeviceKind) -> str:
    """The entry point of a device's firmware: one package per device type (DESIGN.md §7)."""
    return f"devices.{kind.value}"


def inventory_for(rig: Rig) -> dict[str, Any]:
    """The head-end's inventory (tools/headend/inventory.py): which device is behind which hub."""
    return {
        "devices": {
            name: {
                "hub_id": rig.hub.wan_id,
                "eui64": eui64_to_str(device.eui64),
                "kind": device.kind.value,
            }
            for name, device in rig.devices.items()
        }
    }


def log_tail(path: Path, lines: int = LOG_TAIL_LINES) -> str:
    """The last `lines` lines of a log file, for a report that a process died."""
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc.strerror})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def check_port_free(host: str, port: int, what: str) -> None:
    """Refuse to start a server whose port is taken: probing it later could not tell ours from
    a leftover of an earlier run."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers do
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise TransientLinkError(
                f"cannot start the {what} on {host}:{port}: {exc.strerror} "
                "(is another rig still running?)"
            ) from None


def shown(path: Path) -> str:
    """A path as short as it can be shown: relative to the working directory when inside it."""
    with contextlib.suppress(ValueError):
        return str(path.relative_to(Path.cwd()))
    return str(path)


class RigLauncher:
    """Starts, watches and stops every process of one rig.

    Use as a context manager (`with RigLauncher(rig) as launcher: launcher.wait_joined(60)`), or
    call `start()` and `stop()`. `processes` maps each component name to its `Popen`.
    `guard` is entered around every process creation and around `stop()`; the command line
    passes one that holds Ctrl-C back meanwhile, so that no child is ever created without being
    recorded, and a second Ctrl-C cannot cut a clean stop short.
    """

    def __init__(
        self,
        rig: Rig,
        *,
        broker_kind_override: BrokerKind | str | None = None,
        out: TextIO | None = None,
        guard: Guard = contextlib.nullcontext,
    ) -> None:
        self.rig = rig
        try:
            self.broker_kind = BrokerKind(broker_kind_override or rig.broker_kind)
        except ValueError:
            known = ", ".join(k.value for k in BrokerKind)
            raise ConfigError(
                f"broker kind {broker_kind_override!r} unknown; known: {known}"
            ) from None
        self.children: dict[str, Child] = {}
        self.start_wall: float | None = None
        self.log_dir = rig.run_dir / "logs"
        self._out = out
        self._guard = guard
        self._stopping = False
        self._check_names()

    # -- what is running -------------------------------------------------------------------------

    @property
    def processes(self) -> dict[str, subprocess.Popen[bytes]]:
        return {name: child.process for name, child in self.children.items()}

    @property
    def component_names(self) -> list[str]:
        """Everything with a control socket: head-end, hub, devices, in start order."""
        return [HEADEND, self.rig.hub.name, *self.rig.devices]

    def describe(self) -> str:
        """A table of what runs: name, pid, control socket, log file."""
        rows = [("name", "pid", "control socket", "log", "")]
        for child in self.children.values():
            control = shown(child.control_path) if child.control_path else "-"
            rows.append(
                (child.name, str(child.process.pid), control, shown(child.log_path), child.detail)
            )
        if self.broker_kind is BrokerKind.EXTERNAL:
            broker = f"external broker at {self.rig.broker_host}:{self.rig.broker_port}"
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

        Raises ConfigError for a rig that cannot run (names, socket paths, no mosquitto) and
        TransientLinkError when the broker or the air does not come up.
        """
        if self.children:
            raise ConfigError(f"rig {self.rig.name} is already started")
        self._check_socket_paths()
        self.rig.run_dir.mkdir(parents=True, exist_ok=True)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.start_wall = time.time()
        self._stopping = False
        try:
            self._start_broker()
            if self._needs_air():
                self._start_air()
            self._start_headend()
            self._start_python(
                self.rig.hub.name,
                ["hub", "--rig", str(self.rig.path)],
                f"comms hub {self.rig.hub.wan_id}",
            )
            for name, device in self.rig.devices.items():
                self._start_python(
                    name,
                    [module_for(device.kind), "--rig", str(self.rig.path), "--name", name],
                    device.kind.value.upper(),
                )
            self._wait_headend()
        except BaseException:
            self.stop()
            raise

    def _check_names(self) -> None:
        for name in (self.rig.hub.name, *self.rig.devices):
            if name in RESERVED_NAMES:
                reserved = ", ".join(sorted(RESERVED_NAMES))
                raise ConfigError(
                    f"{self.rig.path}: a component may not be named {name!r} ({reserved} are "
                    "the rig's own processes)"
                )

    def _check_socket_paths(self) -> None:
        for name in self.component_names:
            path = self.rig.control_path(name)
            if len(os.fsencode(path)) > UNIX_PATH_MAX:
                raise ConfigError(
                    f"{self.rig.path}: [rig] run_dir is too deep: the control socket {path} is "
                    f"longer than the {UNIX_PATH_MAX} bytes a Unix socket path may have"
                )

    def _needs_air(self) -> bool:
        radios = [self.rig.hub.radio, *(d.radio for d in self.rig.devices.values())]
        return any(radio.emulated for radio in radios)

    def _child_env(self) -> dict[str, str]:
        env = dict(os.environ)
        # zigpy's wheel installs a top-level package named "tools": ours must come first.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
        env[START_WALL_ENV] = repr(self.start_wall)
        env["PYTHONUNBUFFERED"] = "1"  # a log tail must show the last words of a dead process
        return env

    def _spawn(
        self, name: str, argv: list[str], control: Path | None, detail: str
    ) -> subprocess.Popen[bytes]:
        log_path = self.log_dir / f"{name}.log"
        with self._guard(), open(log_path, "ab") as log:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
            log.write(f"---- {stamp} launcher: starting {' '.join(argv)}\n".encode())
            log.flush()
            process = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self._child_env(),
            )
            self.children[name] = Child(name, process, log_path, control, detail)
        return process

    def _start_python(self, name: str, module_args: list[str], detail: str) -> None:
        control = self.rig.control_path(name)
        self._spawn(name, [sys.executable, "-m", *module_args], control, detail)

    def _start_broker(self) -> None:
        host, port = self.rig.broker_host, self.rig.broker_port
        if self.broker_kind is BrokerKind.EXTERNAL:
            try:
                broker_tool.wait_for_port(host, port, PORT_WAIT_S)
            except TransientLinkError:
                # Clients keep retrying: an external broker may come up later.
                self._say(f"warning: the external broker at {host}:{port} does not answer yet")
            return
        # The rig file's kinds minus "external", which tools/broker.py has no use for.
        started_kind = broker_tool.BrokerKind(self.broker_kind.value)
        spec = broker_tool.BrokerSpec(started_kind, host, port, self.rig.run_dir / BROKER)
        kind = broker_tool.resolve_kind(spec)
        with self._guard():
            process = broker_tool.start_broker(spec, wait_s=0)
            log_path = spec.data_dir / "broker.log"
            self.children[BROKER] = Child(
                BROKER, process, log_path, None, f"{kind.value} MQTT broker on {host}:{port}"
            )
        # One place for every log: logs/broker.log points at the broker's own.
        link = self.log_dir / "broker.log"
        with contextlib.suppress(OSError):
            if link.is_symlink() or link.exists():
                link.unlink()
            link.symlink_to(Path("..") / BROKER / "broker.log")
        self._wait_port(BROKER, host, port)

    def _start_air(self) -> None:
        host, port = self.rig.air_host, self.rig.air_port
        check_port_free(host, port, "air")
        argv = [sys.executable, "-m", "hal.emulated.air", "--host", host, "--port", str(port)]
        argv += ["--rig", str(self.rig.path)]  # positions and [air]: the radio model
        self._spawn(AIR, argv, None, f"virtual 2.4 GHz channel on {host}:{port}")
        self._wait_port(AIR, host, port)

    def _wait_port(self, name: str, host: str, port: int) -> None:
        child = self.children[name]
        try:
            broker_tool.wait_for_port(host, port, PORT_WAIT_S, child.process)
        except TransientLinkError as exc:
            child.reported = True
            raise TransientLinkError(
                f"{name} did not start on {host}:{port} ({exc}); "
                f"{shown(child.log_path)} ends:\n{log_tail(child.log_path)}"
            ) from None

    def _start_headend(self) -> None:
        inventory = self.rig.run_dir / "headend-inventory.json"
        inventory.write_text(json.dumps(inventory_for(self.rig), indent=2) + "\n")
        control = self.rig.control_path(HEADEND)
        argv = [
            sys.executable,
            "-m",
            "tools.headend",
            "--broker-host",
            self.rig.broker_host,
            "--broker-port",
            str(self.rig.broker_port),
            "--control",
            str(control),
            "--db",
            str(self.rig.store_path(HEADEND)),
            "--inventory",
            str(inventory),
        ]
        self._spawn(HEADEND, argv, control, "head-end simulator")

    def _wait_headend(self) -> None:
        """Wait until the head-end answers, so the commands printed next work at once."""
        control = self.rig.control_path(HEADEND)
        try:
            headend_client.wait_ready(control, HEADEND_READY_S)
        except ControlError as exc:
            self._say(f"warning: {exc}")
            self.check_children()

    # -- watch -----------------------------------------------------------------------------------

    def check_children(self) -> list[Child]:
        """Report children that exited on their own since the last call, and return them.

        The others keep running: on a test rig one dead process is something to look at, not
        a reason to tear the premises down.
        """
        if self._stopping:
            return []
        died = []
        for child in self.children.values():
            if child.reported or child.process.poll() is None:
                continue
            child.reported = True
            died.append(child)
            self._say(
                f"{child.name} (pid {child.process.pid}) exited with status "
                f"{child.process.returncode}; the others keep running. "
                f"{shown(child.log_path)} ends:\n{log_tail(child.log_path)}"
            )
        return died

    def all_exited(self) -> bool:
        return bool(self.children) and all(
            c.process.poll() is not None for c in self.children.values()
        )

    def hub_status(self, timeout: float = 1.0) -> dict[str, Any]:
        """The hub's own view (`status` on its control socket)."""
        path = self.rig.control_path(self.rig.hub.name)
        try:
            return request_sync(path, "status", timeout)
        except OSError as exc:  # e.g. the hub died while answering
            raise ControlError(f"{path}: {exc.strerror or exc}") from None

    def wait_joined(self, timeout: float = JOIN_TIMEOUT_S) -> float:
        """Wait until the hub reports every device of the rig joined; returns the seconds taken.

        Raises JoinTimeout naming the missing devices after `timeout` s, or as soon as the hub
        or every missing device has exited (nothing more can join then).
        """
        started = time.monotonic()
        deadline = started + timeout
        wanted = list(self.rig.devices)
        seen: set[str] = set()
        missing, detail = wanted, "the hub has not answered"
        while True:
            self.check_children()
            if self._exited(self.rig.hub.name):
                raise JoinTimeout(missing, time.monotonic() - started, "the hub exited")
            if missing and all(self._exited(name) for name in missing):
                raise JoinTimeout(missing, time.monotonic() - started, "their processes exited")
            try:
                joined = self.hub_status().get("joined") or {}
            except ControlError as exc:
                detail = str(exc)
            else:
                missing = [name for name in wanted if joined.get(name) is not True]
                for name in wanted:
                    if name not in missing and name not in seen:
                        seen.add(name)
                        self._say(f"{name} joined after {time.monotonic() - started:.1f} s")
                if not missing:
                    return time.monotonic() - started
                detail = ""
            if time.monotonic() >= deadline:
                raise JoinTimeout(missing, time.monotonic() - started, detail)
            time.sleep(0.25)

    def _exited(self, name: str) -> bool:
        child = self.children.get(name)
        return child is not None and child.process.poll() is not None

    # -- stop ------------------------------------------------------------------------------------

    def stop(self) -> dict[str, int | None]:
        """Stop every child, last started first: SIGTERM, up to 5 s grace, then SIGKILL.

        Returns each child's exit status. Safe to call more than once.
        """
        self._stopping = True
        statuses: dict[str, int | None] = {}
        with self._guard():
            for child in reversed(list(self.children.values())):
                statuses[child.name] = self._stop_child(child)
        return statuses

    def _stop_child(self, child: Child) -> int | None:
        process = child.process
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
            try:
                process.wait(STOP_GRACE_S)
            except subprocess.TimeoutExpired:
                self._say(f"{child.name} (pid {process.pid}) ignored SIGTERM for "
                          f"{STOP_GRACE_S:g} s: killing it")  # fmt: skip
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()
        return process.returncode

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

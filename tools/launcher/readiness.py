"""When is a rig up: servers listening, the head-end answering, every device joined."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hal.control_socket import ControlError, request_sync
from protocol.errors import TransientLinkError
from tools import broker as broker_tool
from tools.headend import client as headend_client

from .supervisor import Child, Supervisor, log_tail, shown

__all__ = [
    "HEADEND_READY_S",
    "JOIN_TIMEOUT_S",
    "PORT_WAIT_S",
    "JoinTimeout",
    "hub_status",
    "wait_headend",
    "wait_joined",
    "wait_listening",
]

PORT_WAIT_S = 10.0
HEADEND_READY_S = 15.0
JOIN_TIMEOUT_S = 60.0
JOIN_POLL_S = 0.1


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


def wait_listening(child: Child, timeout: float = PORT_WAIT_S) -> None:
    """Wait until a child's server accepts connections; TransientLinkError (with its log's
    last lines) if it exits or does not listen in time."""
    assert child.spec.listens_on is not None
    host, port = child.spec.listens_on
    try:
        broker_tool.wait_for_port(host, port, timeout, child.process)
    except TransientLinkError as exc:
        child.reported = True
        raise TransientLinkError(
            f"{child.name} did not start on {host}:{port} ({exc}); "
            f"{shown(child.spec.log_path)} ends:\n{log_tail(child.spec.log_path)}"
        ) from None


def wait_headend(control: Path, timeout: float = HEADEND_READY_S) -> None:
    """Wait until the head-end answers on its bench port; ControlError if it does not."""
    headend_client.wait_ready(control, timeout)


def hub_status(control: Path, timeout: float = 1.0) -> dict[str, Any]:
    """The hub's own view (`status` on its control socket)."""
    try:
        return request_sync(control, "status", timeout)
    except OSError as exc:  # e.g. the hub died while answering
        raise ControlError(f"{control}: {exc.strerror or exc}") from None


def wait_joined(
    supervisor: Supervisor,
    hub: str,
    hub_control: Path,
    wanted: list[str],
    timeout: float,
    say: Callable[[str], None],
) -> float:
    """Wait until the hub reports every device in `wanted` joined; returns the seconds taken.

    Raises JoinTimeout naming the missing devices after `timeout` s, or as soon as the hub or
    every missing device has exited (nothing more can join then).
    """
    started = time.monotonic()
    deadline = started + timeout
    seen: set[str] = set()
    missing, detail = wanted, "the hub has not answered"
    while True:
        supervisor.check()
        if supervisor.lost(hub):
            raise JoinTimeout(missing, time.monotonic() - started, "the hub exited")
        if missing and all(supervisor.lost(name) for name in missing):
            raise JoinTimeout(missing, time.monotonic() - started, "their processes exited")
        try:
            joined = hub_status(hub_control).get("joined") or {}
        except ControlError as exc:
            detail = str(exc)
        else:
            missing = [name for name in wanted if joined.get(name) is not True]
            for name in wanted:
                if name not in missing and name not in seen:
                    seen.add(name)
                    say(f"{name} joined after {time.monotonic() - started:.1f} s")
            if not missing:
                return time.monotonic() - started
            detail = ""
        if time.monotonic() >= deadline:
            raise JoinTimeout(missing, time.monotonic() - started, detail)
        time.sleep(JOIN_POLL_S)

"""Blocking front end of the head-end's control socket, for the `smartmeter` command line.

Every function raises `hal.control_socket.ControlError` with a message for the person at the
bench (unknown device, no answer within the deadline, head-end not running...).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from hal.control_socket import ControlError, request_sync

READ_DEADLINE_S = 10.0  # clause 6.1.11
# The control request must outlive the head-end's own deadline so its explanation gets back.
_SOCKET_MARGIN_S = 5.0


def _strip(reply: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in reply.items() if k != "ok"}


def device_command(
    control_path: Path,
    action: str,
    device: str,
    timeout: float = READ_DEADLINE_S,
    supplier: str | None = None,
    **fields: Any,
) -> dict[str, Any]:
    """A command about `device` through its hub, given by `supplier` (None: the device's own
    supplier, or the network operator for its commands; README "WAN security").

    Returns {"device", "hub_id", "request_id", "round_trip_s", "data"}.
    """
    if supplier is not None:
        fields["supplier"] = supplier
    reply = request_sync(
        Path(control_path),
        action,
        timeout + _SOCKET_MARGIN_S,
        device=device,
        timeout_s=timeout,
        **fields,
    )
    return _strip(reply)


def read(
    control_path: Path, device: str, timeout: float = READ_DEADLINE_S, supplier: str | None = None
) -> dict[str, Any]:
    """On-demand read of `device` through its hub."""
    return device_command(control_path, "read", device, timeout, supplier)


def remove(
    control_path: Path, device: str, timeout: float = READ_DEADLINE_S, supplier: str | None = None
) -> dict[str, Any]:
    """Remove `device` from its HAN (clause 17.2.6): it cannot join again until commissioned."""
    return device_command(control_path, "remove", device, timeout, supplier)


def commission(
    control_path: Path, device: str, timeout: float = READ_DEADLINE_S, supplier: str | None = None
) -> dict[str, Any]:
    """Commission `device` on its HAN again: its hub gives the trust centre its key."""
    return device_command(control_path, "commission", device, timeout, supplier)


def change_supplier(
    control_path: Path, device: str, to: str, supplier: str | None = None
) -> dict[str, Any]:
    """The network operator (or, refused, `supplier`) moves `device` to supplier `to` (12.6)."""
    return device_command(control_path, "change_supplier", device, supplier=supplier, to=to)


def disable_comms(
    control_path: Path, device: str, link: str = "both", supplier: str | None = None
) -> dict[str, Any]:
    """The network operator disables `device`'s WAN and/or HAN communications (17.2.22)."""
    return device_command(control_path, "disable_comms", device, supplier=supplier, link=link)


def restore_comms(
    control_path: Path, device: str, link: str = "both", supplier: str | None = None
) -> dict[str, Any]:
    """And restores them (17.2.23)."""
    return device_command(control_path, "restore_comms", device, supplier=supplier, link=link)


def status(control_path: Path, timeout: float = 5.0) -> dict[str, Any]:
    """{"broker_connected": bool, "hubs": [{"hub_id", "state", "at", "received_at", "devices"}]}"""
    return _strip(request_sync(Path(control_path), "status", timeout))


def events(
    control_path: Path, limit: int = 20, hub_id: str | None = None, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The last `limit` events received from hubs, oldest first."""
    fields: dict[str, Any] = {"limit": limit}
    if hub_id is not None:
        fields["hub_id"] = hub_id
    events_: list[dict[str, Any]] = request_sync(Path(control_path), "events", timeout, **fields)[
        "events"
    ]
    return events_


def wait_ready(control_path: Path, timeout: float = 10.0) -> dict[str, Any]:
    """Wait until the head-end answers and is connected to its broker; returns its status."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            reply = status(control_path, timeout=1.0)
        except ControlError as exc:
            last = str(exc)
        else:
            if reply["broker_connected"]:
                return reply
            last = "head-end is not connected to its broker"
        time.sleep(0.1)
    raise ControlError(f"head-end at {control_path} not ready within {timeout:g} s: {last}")


def alerts(
    control_path: Path, limit: int = 20, supplier: str | None = None, timeout: float = 5.0
) -> list[dict[str, Any]]:
    """The last `limit` alerts (events hubs sent at once), oldest first, of one supplier or all."""
    fields: dict[str, Any] = {"limit": limit}
    if supplier is not None:
        fields["supplier"] = supplier
    found: list[dict[str, Any]] = request_sync(Path(control_path), "alerts", timeout, **fields)[
        "alerts"
    ]
    return found


def hub_command(
    control_path: Path, action: str, device: str, timeout: float = READ_DEADLINE_S, **fields: Any
) -> dict[str, Any]:
    """A `config_get`, `config_set` or `push_schedule` request to the hub behind `device`."""
    reply = request_sync(
        Path(control_path), action, timeout + _SOCKET_MARGIN_S, device=device, **fields
    )
    return _strip(reply)

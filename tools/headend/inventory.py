"""The head-end's inventory: which device sits behind which comms hub.

Loaded once at start from the JSON file the rig launcher writes:

    {"devices": {"esme": {"hub_id": "hub-1", "eui64": "00:0d:6f:00:00:00:00:01", "kind": "esme"}}}

Errors name the file and the key (ConfigError), so a bad rig file is fixed in one go.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from protocol.errors import ConfigError, LocalProtocolError
from protocol.wan import check_hub_id

_EUI64 = re.compile(r"[0-9A-Fa-f]{2}([:-]?[0-9A-Fa-f]{2}){7}")


class DeviceKind(StrEnum):
    """Device types of a GB premises the head-end knows (clause 9.1)."""

    ESME = "esme"  # electricity meter
    GSME = "gsme"  # gas meter
    IHD = "ihd"  # in-home display
    HUB = "hub"  # the communications hub itself
    PPMID = "ppmid"  # prepayment meter interface device
    CAD = "cad"  # consumer access device


@dataclass(frozen=True)
class Device:
    name: str
    hub_id: str
    eui64: str
    kind: DeviceKind
    #: The serial number and variant code the supplier's records hold (20.2.6, D.1.9).
    serial: str = ""
    variant: str = ""


@dataclass(frozen=True)
class Inventory:
    devices: dict[str, Device]

    def device(self, name: str) -> Device:
        """The device called `name`; LookupError listing the known names if there is none."""
        try:
            return self.devices[name]
        except KeyError:
            known = ", ".join(sorted(self.devices)) or "none"
            raise LookupError(f"unknown device {name!r}; known devices: {known}") from None

    def hubs(self) -> dict[str, list[str]]:
        """hub id -> names of the devices behind it."""
        hubs: dict[str, list[str]] = {}
        for device in self.devices.values():
            hubs.setdefault(device.hub_id, []).append(device.name)
        return hubs


def parse_inventory(data: Any, source: str) -> Inventory:
    """Validate an inventory already parsed from JSON; `source` names it in errors."""
    if not isinstance(data, dict) or not isinstance(data.get("devices"), dict):
        raise ConfigError(f'{source}: expected an object with a "devices" object')
    devices: dict[str, Device] = {}
    for name, entry in data["devices"].items():
        where = f"{source}: devices.{name}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected an object")
        for key in ("hub_id", "eui64", "kind"):
            if not isinstance(entry.get(key), str):
                raise ConfigError(f"{where}.{key}: missing or not a string")
        try:
            hub_id = check_hub_id(entry["hub_id"])
        except LocalProtocolError as exc:
            raise ConfigError(f"{where}.hub_id: {exc}") from None
        if not _EUI64.fullmatch(entry["eui64"]):
            raise ConfigError(f"{where}.eui64: {entry['eui64']!r} is not 16 hex digits")
        try:
            kind = DeviceKind(entry["kind"])
        except ValueError:
            known = ", ".join(k.value for k in DeviceKind)
            raise ConfigError(f"{where}.kind: {entry['kind']!r} unknown; known: {known}") from None
        extra = {
            key: entry[key] for key in ("serial", "variant") if isinstance(entry.get(key), str)
        }
        devices[name] = Device(name, hub_id, entry["eui64"], kind, **extra)
    return Inventory(devices)


def load_inventory(path: Path) -> Inventory:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read inventory: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON: {exc}") from None
    return parse_inventory(data, str(path))

"""What a rig runs: one `ProcessSpec` per process, in start order.

Start order follows the data flow: broker, the air (only if some radio is emulated), head-end,
hub, then each device. The launcher starts them all at once and then waits for the servers to
listen: they are up long before the firmware processes have imported their stacks, and clients
retry their links anyway; the order is the one systemd units and stops follow.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from firmware.rig import HEADEND_IDENTITY, BrokerKind, DeviceKind, Rig
from firmware.wan_parties import all_parties
from hal.real.wan_keys import provision
from protocol.ieee802154 import eui64_to_str
from protocol.nameplate import serial_number, variant_code
from tools import broker as broker_tool

from .factory import provision_meters

__all__ = ["AIR", "BROKER", "HEADEND", "ProcessSpec", "inventory_for", "module_for", "plan_rig"]

BROKER, AIR, HEADEND = "broker", "air", "headend"


@dataclass(frozen=True)
class ProcessSpec:
    """How to start one process of the rig, and how to tell it is up."""

    name: str
    argv: list[str]
    log_path: Path
    detail: str
    #: Its bench port, for those that have one (head-end, hub, devices).
    control_path: Path | None = None
    #: A TCP server's address: the port must be free before and listening after the start.
    listens_on: tuple[str, int] | None = None


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
                "serial": serial_number(device.kind.value, device.eui64),
                "variant": variant_code(device.kind.value),
                "supplier": device.supplier,
            }
            for name, device in rig.devices.items()
        },
        "roles": {
            "suppliers": list(rig.roles.suppliers),
            "network_operator": rig.roles.network_operator,
        },
    }


def plan_rig(rig: Rig, broker_kind: BrokerKind, log_dir: Path) -> list[ProcessSpec]:
    """Every process the rig runs, in start order. Writes the broker's configuration and the
    head-end's inventory into the run directory."""
    specs: list[ProcessSpec] = []
    started = broker_kind is not BrokerKind.EXTERNAL
    # First start: the rig's CA and every certificate (17.2.14); later starts reuse them.
    access = broker_tool.rig_access(rig, started=started)
    if started:
        specs.append(_broker(rig, broker_kind, access))
    if rig.needs_air:
        host, port = rig.air.host, rig.air.port
        specs.append(
            ProcessSpec(
                AIR,
                [sys.executable, "-m", "tools.air", "--rig", str(rig.path)],
                log_dir / f"{AIR}.log",
                f"virtual 2.4 GHz channel on {host}:{port}",
                listens_on=(host, port),
            )
        )
    passwords = provision_meters(rig)
    if rig.roles.wan_sealed:
        provision(rig.keys_dir, all_parties(rig))  # every party's keys, before anyone starts
    specs.append(_headend(rig, log_dir, passwords))
    rig_args = ["--rig", str(rig.path)]
    specs.append(
        ProcessSpec(
            rig.hub.name,
            [sys.executable, "-m", "hub", *rig_args],
            log_dir / f"{rig.hub.name}.log",
            f"comms hub {rig.hub.wan_id}",
            control_path=rig.control_path(rig.hub.name),
        )
    )
    for name, device in rig.devices.items():
        specs.append(
            ProcessSpec(
                name,
                [sys.executable, "-m", module_for(device.kind), *rig_args, "--name", name],
                log_dir / f"{name}.log",
                _device_detail(rig, name),
                control_path=rig.control_path(name),
            )
        )
    return specs


def _device_detail(rig: Rig, name: str) -> str:
    """The device's kind, and for a meter where its optical port is (a pty or a probe)."""
    device = rig.devices[name]
    if device.kind not in (DeviceKind.ESME, DeviceKind.GSME):
        return device.kind.value.upper()
    port = device.optical.device or str(rig.run_dir / f"{name}.optical")
    return f"{device.kind.value.upper()}, optical port {port}"


def _broker(rig: Rig, kind: BrokerKind, access: broker_tool.BrokerAccess | None) -> ProcessSpec:
    host, port = rig.broker.host, rig.broker.port
    spec = broker_tool.BrokerSpec(kind, host, port, rig.run_dir / BROKER, access)
    resolved = broker_tool.resolve_kind(spec)
    return ProcessSpec(
        BROKER,
        broker_tool.broker_command(spec),
        spec.data_dir / "broker.log",
        f"{resolved.value} MQTT broker on {host}:{port}" + (" (TLS)" if access else ""),
        listens_on=(host, port),
    )


def _headend(rig: Rig, log_dir: Path, passwords: Path) -> ProcessSpec:
    inventory = rig.run_dir / "headend-inventory.json"
    inventory.write_text(json.dumps(inventory_for(rig), indent=2) + "\n")
    control = rig.control_path(HEADEND)
    argv = [
        sys.executable,
        "-m",
        "tools.headend",
        "--broker-host",
        rig.broker.host,
        "--broker-port",
        str(rig.broker.port),
        "--control",
        str(control),
        "--db",
        str(rig.store_path(HEADEND)),
        "--inventory",
        str(inventory),
        "--factory-passwords",
        str(passwords),
    ]
    if rig.roles.wan_sealed:
        argv += ["--keys", str(rig.keys_dir)]
    tls = rig.tls_files(HEADEND_IDENTITY)
    if tls is not None:
        argv += ["--tls-ca", str(tls.ca), "--tls-cert", str(tls.cert), "--tls-key", str(tls.key)]
    return ProcessSpec(HEADEND, argv, log_dir / f"{HEADEND}.log", "head-end simulator", control)

"""The HHT's emulated peripherals (20.4): barcode reader, optical probe, ZigBee link-quality view.

- The barcode reader reads a component's nameplate bar code (20.4.2.a): on a rig, the bar code
  the component's bench port prints (`smartmeter bench DEVICE nameplate`), parsed as the
  scanner's text would be (`protocol.nameplate`).
- The optical probe is a serial line: the emulated meter's pseudo-terminal
  (`<run_dir>/<name>.optical`, chosen with `--meter NAME`) or a real USB IR probe (`--probe
  /dev/ttyUSB0`).
- The ZigBee view shows the HAN link quality both ways (20.4.1.c, d): each device as the hub
  hears it and the hub as the device hears it (RSSI, LQI), from the components' radios.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from firmware.rig import Rig
from hal.control_socket import ControlError, request_sync
from hal.real.serial_device import SerialDeviceLine
from protocol.errors import SmartMeterError
from protocol.nameplate import Nameplate

__all__ = ["barcode", "probe", "signal_view"]

BENCH_TIMEOUT_S = 5.0


def barcode(rig: Rig, device: str) -> Nameplate:
    """Scan `device`'s nameplate bar code."""
    try:
        reply = request_sync(rig.control_path(device), "nameplate", BENCH_TIMEOUT_S)
    except ControlError as exc:
        raise SmartMeterError(f"cannot scan the nameplate of {device}: {exc}") from None
    return Nameplate.parse(str(reply["barcode"]))


def probe(rig: Rig | None, meter: str | None, device: str | None) -> SerialDeviceLine:
    """The probe's serial line: a real device path, or the emulated meter's port on the rig."""
    if device is not None:
        return SerialDeviceLine(device)
    if rig is None or meter is None:
        raise SmartMeterError("name the meter (--meter NAME) or the probe's device (--probe PATH)")
    if meter not in rig.devices:
        raise SmartMeterError(f"rig {rig.name!r} has no meter {meter!r}")
    path = rig.run_dir / f"{meter}.optical"
    if not Path(path).exists():
        raise SmartMeterError(f"{path} does not exist: is {meter} running with an emulated port?")
    return SerialDeviceLine(str(path))


def signal_view(rig: Rig) -> dict[str, Any]:
    """Each device's link with the hub, both ways, and the hub's WAN link."""
    hub = request_sync(rig.control_path(rig.hub.name), "status", BENCH_TIMEOUT_S)
    devices: dict[str, Any] = {}
    for name in rig.devices:
        try:
            status = request_sync(rig.control_path(name), "status", BENCH_TIMEOUT_S)
            heard_from_hub = status.get("hub_signal")
        except ControlError:
            heard_from_hub = None
        devices[name] = {
            "joined": hub["joined"].get(name),
            "hub_hears_device": hub["signal"].get(name),
            "device_hears_hub": heard_from_hub,
        }
    return {"wan": hub["wan"], "devices": devices}

"""Build a component's ports from the rig: the one place that names HAL backends.

Each process's composition root (`hub/__main__.py`, `devices/<kind>/__main__.py`) calls one of
the board builders here and hands the board to its firmware, which sees ports only. Which
backend drives a port is the rig file's choice (DESIGN.md §1): an emulated NCP or a dongle's
path, an emulated optical port or a serial device, the rig's simulated clock or the system's.
An import-linter contract keeps `hal.emulated` and `hal.real` out of every other firmware
module.

Each builder is an async context manager: it opens what needs opening and, on the way out,
releases it (radio powered off, optical port closed, store closed) after the firmware stopped.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlsplit

from hal.emulated.air_tcp_link import TcpRadioLink
from hal.emulated.aux_load import EmulatedAuxLoadSwitch
from hal.emulated.battery import EmulatedBattery
from hal.emulated.buttons import EmulatedButtons
from hal.emulated.buzzer import EmulatedBuzzer
from hal.emulated.clock import SimulatedClock
from hal.emulated.display import EmulatedDisplay
from hal.emulated.generation import SolarProfile
from hal.emulated.metrology import ConstantFlow, ConstantLoad, HouseholdGasProfile, HouseholdProfile
from hal.emulated.modem import EmulatedModem
from hal.emulated.ncp.dongle import EmulatedDongle
from hal.emulated.pty_serial import PtySerialLine
from hal.emulated.supply_switch import EmulatedSupplySwitch
from hal.emulated.tamper import EmulatedTamperSwitches
from hal.ezsp_node import EzspNodeRadio
from hal.modem import Modem
from hal.ports import Clock, ElectricityMetrology, GasMetrology, PortError, SupplySwitch
from hal.radio import Ncp
from hal.real.clock import SystemClock
from hal.real.ezsp_dongle import EzspDongle
from hal.real.ip_bearer import IpBearer
from hal.real.mqtt_wan import MqttTls, MqttWanLink
from hal.real.serial_device import SerialDeviceLine
from hal.real.sqlite_store import SqliteStore
from hal.real.wan_keys import load_ring, provision
from hal.serial_line import SerialLine
from hal.wan import WanLink
from protocol.errors import ConfigError, DecodeError, SmartMeterError
from protocol.local_auth import Verifier
from protocol.metering_units import gas_flow_for_power

from .boards import DeviceBoard, ElectricityMeterBoard, GasMeterBoard, HubBoard, Panel
from .rig import BearerKind, ClockKind, DeviceConfig, HubConfig, Rig, TlsFiles
from .wan_parties import all_parties, hub_parties

__all__ = [
    "START_WALL_ENV",
    "build_clock",
    "build_wan",
    "display_board",
    "electricity_meter_board",
    "gas_meter_board",
    "hub_board",
]

#: Every process of a rig counts simulated time from the same instant, set by the launcher.
START_WALL_ENV = "SMARTMETER_START_WALL"
DEFAULT_MQTT_PORT = 1883


def build_clock(rig: Rig) -> Clock:
    """The RTC backend the rig asks for (DESIGN.md §6: one epoch and start for the whole rig)."""
    if rig.clock is ClockKind.SYSTEM:
        return SystemClock()
    text = os.environ.get(START_WALL_ENV)
    try:
        start_wall = float(text) if text else time.time()
    except ValueError:
        raise SmartMeterError(f"{START_WALL_ENV}={text!r} is not a number of seconds") from None
    return SimulatedClock(rig.epoch, start_wall, rig.scale)


def build_ncp(rig: Rig, name: str, eui64: int, radio_dongle: str | None, ezsp: int) -> Ncp:
    """An emulated NCP on the rig's air (its tokens beside the component's store), or the
    dongle at a serial path or `socket://` URL."""
    if radio_dongle is not None:
        return EzspDongle(radio_dongle)
    link = TcpRadioLink(rig.air.host, rig.air.port, eui64, name)
    return EmulatedDongle(eui64, link, ezsp, name, store_path=rig.ncp_store_path(name))


def build_bearer(hub: HubConfig) -> Modem:
    """The hub's WAN bearer the rig names: an emulated GPRS modem, or plain IP (6.1.7)."""
    if hub.bearer is BearerKind.IP:
        return IpBearer()
    return EmulatedModem(hub.apn)


def build_wan(
    url: str,
    hub_id: str,
    clock: Clock,
    tls: TlsFiles | None = None,
    bearer: Modem | None = None,
) -> WanLink:
    """The WAN backend a URL names, e.g. `mqtt://127.0.0.1:1883` (requirement 6.1.7: the
    bearer is pluggable); `clock` stamps what the hub sends; `tls`: the hub's certificate for
    the broker (17.2.14); `bearer`: the modem the link runs over (up only while attached)."""
    parts = urlsplit(url)
    if parts.scheme == "mqtt":
        if not parts.hostname:
            raise ConfigError(f"WAN URL {url!r} has no host")
        return MqttWanLink(
            parts.hostname,
            parts.port or DEFAULT_MQTT_PORT,
            hub_id,
            clock=clock.now,
            tls=None if tls is None else MqttTls(tls.ca, tls.cert, tls.key),
            bearer=bearer,
        )
    raise ConfigError(f"WAN URL {url!r}: unknown scheme {parts.scheme!r}; known: mqtt")


def build_optical(rig: Rig, config: DeviceConfig) -> SerialLine:
    """The optical port: a pty published at `<run_dir>/<name>.optical`, or a serial device."""
    if config.optical.device is not None:
        return SerialDeviceLine(config.optical.device)
    return PtySerialLine(rig.run_dir / f"{config.name}.optical")


def factory_verifier(rig: Rig, config: DeviceConfig) -> Verifier | None:
    """The local-access password's verifier the factory set, if the rig has one for the meter
    (`Rig.factory_path`, written by the launcher); None: the meter has no password yet."""
    path = rig.factory_path(config.name)
    try:
        return Verifier.from_json(json.loads(path.read_text())["verifier"])
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError, DecodeError) as exc:
        raise ConfigError(f"{path}: not a factory record of {config.name}: {exc}") from None


@contextlib.asynccontextmanager
async def display_board(rig: Rig, config: DeviceConfig, panel: Panel) -> AsyncIterator[DeviceBoard]:
    """The ports every HAN device has (the IHD has no more)."""
    clock = build_clock(rig)
    store = SqliteStore(rig.store_path(config.name))
    radio = EzspNodeRadio(
        build_ncp(rig, config.name, config.eui64, config.radio.dongle, config.radio.ezsp_version)
    )
    try:
        yield DeviceBoard(
            clock=clock,
            store=store,
            radio=radio,
            display=EmulatedDisplay(clock),
            buttons=EmulatedButtons(panel.buttons),
            buzzer=EmulatedBuzzer(clock),
            tamper=EmulatedTamperSwitches(panel.tamper),
            battery=EmulatedBattery(),
        )
    finally:
        try:
            await radio.power_off()
        finally:
            store.close()


@contextlib.asynccontextmanager
async def _meter_parts(
    rig: Rig, config: DeviceConfig, panel: Panel
) -> AsyncIterator[tuple[DeviceBoard, SupplySwitch, SerialLine]]:
    """A device board, and what a meter adds to it: its supply switch and optical port."""
    async with display_board(rig, config, panel) as device:
        optical = build_optical(rig, config)
        await optical.open()
        try:
            yield device, EmulatedSupplySwitch(device.store, clock=device.clock), optical
        finally:
            await optical.close()


def _common(device: DeviceBoard) -> dict[str, Any]:
    return {field.name: getattr(device, field.name) for field in dataclasses.fields(DeviceBoard)}


@contextlib.asynccontextmanager
async def electricity_meter_board(
    rig: Rig, config: DeviceConfig, panel: Panel
) -> AsyncIterator[ElectricityMeterBoard]:
    metrology: ElectricityMetrology
    solar = SolarProfile(config.pv_peak_kw * 1000, config.seed) if config.pv_peak_kw else None
    try:
        metrology = (
            HouseholdProfile(config.seed, solar=solar)
            if config.load_w is None
            else ConstantLoad(config.load_w, solar=solar)
        )
    except PortError as exc:
        raise ConfigError(f"{rig.path}: device {config.name!r} load: {exc}") from None
    async with _meter_parts(rig, config, panel) as (device, switch, optical):
        yield ElectricityMeterBoard(
            **_common(device),
            supply_switch=switch,
            optical=optical,
            metrology=metrology,
            aux_load=EmulatedAuxLoadSwitch(device.clock),
            factory_verifier=factory_verifier(rig, config),
        )


@contextlib.asynccontextmanager
async def gas_meter_board(
    rig: Rig, config: DeviceConfig, panel: Panel
) -> AsyncIterator[GasMeterBoard]:
    metrology: GasMetrology
    try:
        metrology = (
            HouseholdGasProfile(config.seed)
            if config.load_w is None
            else ConstantFlow(gas_flow_for_power(config.load_w))
        )
    except PortError as exc:
        raise ConfigError(f"{rig.path}: device {config.name!r} load: {exc}") from None
    async with _meter_parts(rig, config, panel) as (device, switch, optical):
        yield GasMeterBoard(
            **_common(device),
            supply_switch=switch,
            optical=optical,
            metrology=metrology,
            factory_verifier=factory_verifier(rig, config),
        )


@contextlib.asynccontextmanager
async def hub_board(rig: Rig) -> AsyncIterator[HubBoard]:
    hub = rig.hub
    clock = build_clock(rig)
    store = SqliteStore(rig.store_path(hub.name))
    ncp = build_ncp(rig, hub.name, hub.eui64, hub.radio.dongle, hub.radio.ezsp_version)
    modem = build_bearer(hub)
    wan = build_wan(rig.wan_url, hub.wan_id, clock, rig.tls_files(hub.wan_id), modem)
    keys = None
    if rig.roles.wan_sealed:
        provision(rig.keys_dir, all_parties(rig))  # the launcher did; a hub started alone too
        keys = load_ring(rig.keys_dir, *hub_parties(rig))
    try:
        yield HubBoard(clock=clock, store=store, ncp=ncp, wan=wan, modem=modem, wan_keys=keys)
    finally:
        try:
            await ncp.power_off()
        finally:
            store.close()

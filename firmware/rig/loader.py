"""Read and validate a rig file: everything a premises could trip over is refused at load time,
with the file and the key named, before any process starts."""

from __future__ import annotations

import re
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hal.radio_model import (
    DEFAULT_PATH_LOSS_EXPONENT,
    DEFAULT_SPACING_M,
    DEFAULT_TX_POWER_DBM,
)
from protocol.errors import ConfigError, DecodeError
from protocol.zigbee_security import link_key_from_install_code

from .kinds import AdmitPolicy, BearerKind, BrokerKind, ClockKind, DeviceKind, PeripheralBackend
from .model import (
    HEADEND_IDENTITY,
    AirConfig,
    BrokerConfig,
    CommsLossRules,
    DeviceConfig,
    HubConfig,
    Peripherals,
    RadioConfig,
    Rig,
    SerialConfig,
)
from .roles import device_supplier, parse_roles
from .section import Section

__all__ = ["DEFAULT_AIR_PORT", "DEFAULT_BROKER_PORT", "RESERVED_NAMES", "load_rig", "parse_rig"]

DEFAULT_BROKER_PORT = 1883
DEFAULT_AIR_PORT = 17840
DEFAULT_EPOCH = "2026-01-15T06:00:00Z"
EMULATED = "emulated"
EZSP_VERSIONS = (13, 18)
#: Clause 1.1.b: single phase up to 100 A at 230 V.
MAX_LOAD_W = 23_000.0
#: A name is one MQTT topic level, a file name and a log tag: keep it plain.
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")
#: The hub's WAN id is one MQTT topic level: no "/" and no wildcards (see protocol.wan).
_WAN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
#: The rig's own processes: no component may take their names (logs, sockets).
RESERVED_NAMES = frozenset({"broker", "air", "headend"})
_PERIPHERALS = (
    "display",
    "buttons",
    "buzzer",
    "tamper",
    "battery",
    "supply_switch",
    "aux_load",
)


def load_rig(path: Path | str) -> Rig:
    """Read the rig file at `path`; ConfigError (naming file and key) for anything wrong."""
    path = Path(path).resolve()
    try:
        text = path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(f"rig file {path} does not exist") from None
    except IsADirectoryError:
        raise ConfigError(f"rig file {path} is a directory") from None
    except PermissionError:
        raise ConfigError(f"rig file {path} cannot be read (permission denied)") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_rig(data, path)


def parse_rig(data: dict[str, Any], path: Path) -> Rig:
    """A rig from the parsed TOML of the file at `path` (used in messages and for run_dir)."""
    rig = Section(path, "rig", data.get("rig", {}))
    notes: list[str] = []
    broker = _broker(Section(path, "broker", data.get("broker", {})), notes)
    hub = _hub(Section(path, "hub", data.get("hub")))
    roles = parse_roles(Section(path, "roles", data.get("roles", {})))
    devices: dict[str, DeviceConfig] = {}
    tables = data.get("device", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{path}: [[device]] must be an array of tables")
    for index, table in enumerate(tables):
        section = Section(path, f"device #{index + 1}", table)
        device = _device(section, index, path.parent.parent, device_supplier(section, roles))
        _check_distinct(path, hub, devices, device)
        devices[device.name] = device
    names = {hub.name, *devices}
    air = _air(Section(path, "air", data.get("air", {})), names, notes)
    epoch_text = rig.get("epoch", str, DEFAULT_EPOCH)
    try:
        epoch = datetime.fromisoformat(epoch_text.replace("Z", "+00:00"))
    except ValueError:
        raise rig.error("epoch", f"{epoch_text!r} is not an ISO 8601 time") from None
    if epoch.utcoffset() is None:
        raise rig.error("epoch", f"{epoch_text!r} needs a UTC offset (e.g. Z)")
    name = rig.get("name", str, path.stem)
    run_dir = Path(rig.get("run_dir", str, f"var/{name}"))
    if not run_dir.is_absolute():
        run_dir = path.parent.parent / run_dir
    loaded = Rig(
        path=path,
        name=name,
        run_dir=run_dir,
        clock=rig.enum("clock", ClockKind, ClockKind.SYSTEM),
        epoch=epoch.astimezone(UTC),
        scale=rig.number("scale", 1.0, low=1e-6, high=1e6),
        broker=broker,
        air=air,
        hub=hub,
        devices=devices,
        notes=tuple(notes),
        roles=roles,
    )
    started = broker.kind is not BrokerKind.EXTERNAL
    if started and loaded.needs_air and (broker.host, broker.port) == (air.host, air.port):
        raise ConfigError(f"{path}: [broker] and [air] cannot both listen on port {air.port}")
    return loaded


def _broker(section: Section, notes: list[str]) -> BrokerConfig:
    if not section.has("port"):
        notes.append(
            f"{section.path}: no [broker] port: using {DEFAULT_BROKER_PORT}, the MQTT default "
            "(two rigs on one machine need a port each)"
        )
    kind = section.enum("kind", BrokerKind, BrokerKind.AUTO)
    tls = section.get("tls", bool, True)
    if not tls and kind is not BrokerKind.EXTERNAL:
        raise section.error("tls", "a broker the rig starts always uses TLS (17.2.14)")
    pki_dir = section.get("pki_dir", str, "")
    return BrokerConfig(
        kind=kind,
        host=section.get("host", str, "127.0.0.1"),
        port=section.integer("port", DEFAULT_BROKER_PORT, low=1, high=65535),
        tls=tls,
        pki_dir=_relative_to(section.path, pki_dir) if pki_dir else None,
    )


def _relative_to(path: Path, text: str) -> Path:
    """A path from the rig file: relative ones count from the repository (as run_dir does)."""
    folder = Path(text)
    return folder if folder.is_absolute() else path.parent.parent / folder


def _air(section: Section, names: set[str], notes: list[str]) -> AirConfig:
    if not section.has("port"):
        notes.append(
            f"{section.path}: no [air] port: using {DEFAULT_AIR_PORT} "
            "(two rigs on one machine need a port each)"
        )
    links: dict[frozenset[str], float] = {}
    for index, table in enumerate(section.tables("link")):
        link = Section(section.path, f"air.link #{index + 1}", table)
        ends = []
        for key in ("a", "b"):
            end = link.get(key, str)
            if end not in names:
                raise link.error(key, f"{end!r} is not a component; use one of {sorted(names)}")
            ends.append(end)
        pair = frozenset(ends)
        if len(pair) != 2 or pair in links:
            raise ConfigError(f"{section.path}: [{link.where}] links two distinct components, once")
        links[pair] = link.number("attenuation_db", low=0.0, high=200.0)
    return AirConfig(
        host=section.get("host", str, "127.0.0.1"),
        port=section.integer("port", DEFAULT_AIR_PORT, low=1, high=65535),
        path_loss_exponent=section.number(
            "path_loss_exponent", DEFAULT_PATH_LOSS_EXPONENT, low=1.0, high=6.0
        ),
        tx_power_dbm=section.number("tx_power_dbm", DEFAULT_TX_POWER_DBM, low=-30.0, high=30.0),
        seed=section.get("seed", int, 0),
        attenuation_db=links,
    )


def _name(section: Section, default: str | None = None) -> str:
    name = section.get("name", str, default) if default else section.get("name", str)
    if not _NAME.fullmatch(name):
        raise section.error(
            "name", f"{name!r} must be 1-32 letters, digits, '.', '_' or '-', starting alnum"
        )
    if name in RESERVED_NAMES:
        reserved = ", ".join(sorted(RESERVED_NAMES))
        raise section.error("name", f"{name!r} is taken: {reserved} are the rig's own processes")
    return name


def _radio(section: Section) -> RadioConfig:
    version = section.get("ezsp_version", int, 13)
    if version not in EZSP_VERSIONS:
        raise section.error("ezsp_version", f"must be one of {EZSP_VERSIONS}, not {version}")
    url = section.get("radio", str, EMULATED)
    if url != EMULATED and not (url.startswith("/") or url.startswith("socket://")):
        raise section.error(
            "radio", f'{url!r}: use "emulated", a serial device path or socket://host:port'
        )
    return RadioConfig(None if url == EMULATED else url, version)


def _store(section: Section) -> Path | None:
    text = section.get("store", str, "")
    return Path(text) if text else None


def _hub(section: Section) -> HubConfig:
    wan_id = section.get("wan_id", str)
    if not _WAN_ID.fullmatch(wan_id):
        raise section.error(
            "wan_id", f"{wan_id!r} must be 1-64 letters, digits or . _ : - (one MQTT topic level)"
        )
    if wan_id in (HEADEND_IDENTITY, "broker"):
        # The WAN id is the hub's certificate name and MQTT user name: it must not be another's.
        raise section.error("wan_id", f"{wan_id!r} is the name of the head-end's or broker's key")
    wan = section.get("wan", str, "") or None
    if wan is not None and not wan.startswith("mqtt://"):
        raise section.error("wan", f"{wan!r}: only mqtt://host:port is known")
    channel = section.integer("channel", 15, low=11, high=26)
    return HubConfig(
        name=_name(section, "hub"),
        wan_id=wan_id,
        eui64=section.eui64("eui64"),
        radio=_radio(section),
        channel=channel,
        # 0xFFFF is the broadcast PAN id and cannot be a network's (IEEE 802.15.4 5.1.2).
        pan_id=section.integer("pan_id", low=0x0000, high=0xFFFE),
        extended_pan_id=section.eui64("extended_pan_id"),
        position=section.position("position", (0.0, 0.0)),
        wan=wan,
        store=_store(section),
        admit=section.enum("admit", AdmitPolicy, AdmitPolicy.RIG),
        bearer=section.enum("bearer", BearerKind, BearerKind.GPRS),
        apn=_apn(section),
        comms_loss=_comms_loss(
            Section(section.path, "hub.comms_loss", section.table.get("comms_loss", {}))
        ),
    )


def _apn(section: Section) -> str:
    apn = section.get("apn", str, HubConfig.apn)
    if not 0 < len(apn) <= 100:
        raise section.error("apn", "an APN is 1-100 characters")
    return apn


def _comms_loss(section: Section) -> CommsLossRules:
    """`[hub.comms_loss]`: each period from 1 s to a year of the rig's clock."""
    default = CommsLossRules()
    low, high = CommsLossRules.PERIOD_RANGE_S
    periods = {
        key: section.number(key, getattr(default, key), low=low, high=high)
        for key in CommsLossRules.PERIODS
    }
    number = section.get("service_number", str, default.service_number)
    try:
        return CommsLossRules(**periods, service_number=number)
    except ConfigError as exc:
        raise section.error("service_number", str(exc)) from None


def _device(section: Section, index: int, base: Path, supplier: str) -> DeviceConfig:
    code_text = section.get("install_code", str)
    try:
        code = bytes.fromhex(code_text)
        link_key_from_install_code(code)
    except (ValueError, DecodeError) as exc:
        raise section.error("install_code", str(exc)) from None
    kind = section.enum("kind", DeviceKind, DeviceKind.ESME)
    optical = section.get("optical", str, EMULATED)
    if optical != EMULATED and not optical.startswith("/"):
        raise section.error("optical", f'{optical!r}: use "emulated" or a serial device path')
    peripherals = Peripherals(
        **{
            key: section.enum(key, PeripheralBackend, PeripheralBackend.EMULATED)
            for key in _PERIPHERALS
        }
    )
    return DeviceConfig(
        name=_name(section),
        kind=kind,
        eui64=section.eui64("eui64"),
        install_code=code,
        radio=_radio(section),
        load_w=_load(section),
        seed=section.get("seed", int, 0),
        position=section.position("position", (DEFAULT_SPACING_M * (index + 1), 0.0)),
        optical=SerialConfig(None if optical == EMULATED else optical),
        peripherals=peripherals,
        store=_store(section),
        supplier=supplier,
        tariff=_tariff(section, kind, base),
        profile_minutes=_profile_minutes(section),
        pv_peak_kw=_pv_peak_kw(section, kind),
    )


#: Profile periods a meter may take (minutes; at most 30, clauses 16.15 and 12.4).
PROFILE_MINUTES = (1, 5, 10, 15, 30)


def _tariff(section: Section, kind: DeviceKind, base: Path) -> Path | None:
    """`tariff`: the JSON tariff file a meter starts with, relative to the rig's project
    directory (where run_dir is); "" or absent: no tariff."""
    text = section.get("tariff", str, "")
    if not text:
        return None
    if kind is DeviceKind.IHD:
        raise section.error("tariff", "only a meter (esme, gsme) holds a tariff")
    path = Path(text)
    path = path if path.is_absolute() else base / path
    if not path.is_file():
        raise section.error("tariff", f"{text!r}: no such file ({path})")
    return path


def _profile_minutes(section: Section) -> int:
    minutes = section.get("profile_minutes", int, 30)
    if minutes not in PROFILE_MINUTES:
        raise section.error(
            "profile_minutes", f"{minutes}: one of {', '.join(map(str, PROFILE_MINUTES))}"
        )
    return minutes


#: The most a single-phase inverter may feed through the meter (clause 1.1.b: 100 A at 230 V).
MAX_PV_PEAK_KW = 23.0


def _pv_peak_kw(section: Section, kind: DeviceKind) -> float:
    """`pv_peak_kw`: the rooftop PV behind an electricity meter (16.22); 0 or absent: none."""
    if not section.has("pv_peak_kw"):
        return 0.0
    if kind is not DeviceKind.ESME:
        raise section.error("pv_peak_kw", "only an electricity meter (esme) has generation")
    return section.number("pv_peak_kw", low=0.0, high=MAX_PV_PEAK_KW)


def _load(section: Section) -> float | None:
    """`load`: "household" (the seeded profile) or a constant number of watts."""
    value = section.table.get("load", "household")
    if value == "household":
        return None
    if isinstance(value, str):
        raise section.error("load", f'{value!r}: use "household" or a number of watts')
    return section.number("load", low=0.0, high=MAX_LOAD_W)


def _check_distinct(
    path: Path, hub: HubConfig, devices: dict[str, DeviceConfig], device: DeviceConfig
) -> None:
    """Two components with one name or one EUI-64 would be one node to the HAN."""
    if device.name in devices or device.name == hub.name:
        raise ConfigError(f"{path}: two components are named {device.name!r}")
    owners = {hub.eui64: hub.name, **{d.eui64: d.name for d in devices.values()}}
    if device.eui64 in owners:
        raise ConfigError(
            f"{path}: [[device]] {device.name!r} eui64: {owners[device.eui64]!r} has the same EUI-64"
        )

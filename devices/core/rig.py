"""The rig file: one TOML file describing a whole premises, loaded into typed dataclasses.

Every process of a rig (launcher, air, broker, head-end, hub, devices) reads the same file and
takes its own section; errors name the file and the key so a bench engineer can fix them.
"""

from __future__ import annotations

import dataclasses
import enum
import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hal.emulated.air import RadioModel, radio_model_from_rig
from protocol.errors import ConfigError
from protocol.ieee802154 import eui64_from_str
from protocol.zigbee_security import link_key_from_install_code


class DeviceKind(enum.StrEnum):
    ESME = "esme"
    GSME = "gsme"
    IHD = "ihd"


class ClockKind(enum.StrEnum):
    SYSTEM = "system"
    SIMULATED = "simulated"


class BrokerKind(enum.StrEnum):
    AUTO = "auto"
    MOSQUITTO = "mosquitto"
    EMBEDDED = "embedded"
    EXTERNAL = "external"


@dataclasses.dataclass(frozen=True)
class RadioConfig:
    #: "emulated", a serial device path, or socket://host:port of a real dongle.
    url: str
    ezsp_version: int

    @property
    def emulated(self) -> bool:
        return self.url == "emulated"


@dataclasses.dataclass(frozen=True)
class DeviceConfig:
    name: str
    kind: DeviceKind
    eui64: int
    install_code: bytes
    radio: RadioConfig
    load: str | float
    seed: int

    @property
    def link_key(self) -> bytes:
        return link_key_from_install_code(self.install_code)


@dataclasses.dataclass(frozen=True)
class HubConfig:
    name: str
    wan_id: str
    eui64: int
    radio: RadioConfig
    channel: int
    pan_id: int
    extended_pan_id: int


@dataclasses.dataclass(frozen=True)
class Rig:
    path: Path
    name: str
    run_dir: Path
    clock: ClockKind
    epoch: datetime
    scale: float
    broker_kind: BrokerKind
    broker_host: str
    broker_port: int
    air_host: str
    air_port: int
    hub: HubConfig
    devices: dict[str, DeviceConfig]
    #: Positions of the hub and devices and the [air] path loss: what the air process applies.
    radio_model: RadioModel = dataclasses.field(default_factory=lambda: RadioModel({}))

    def device(self, name: str) -> DeviceConfig:
        try:
            return self.devices[name]
        except KeyError:
            known = ", ".join(self.devices)
            raise ConfigError(f"{self.path}: no device named {name!r} (devices: {known})") from None

    def store_path(self, component: str) -> Path:
        return self.run_dir / f"{component}.sqlite"

    def control_path(self, component: str) -> Path:
        return self.run_dir / f"{component}.sock"


class _Section:
    """Typed access to one TOML table, with errors that name the file and the key."""

    def __init__(self, path: Path, where: str, table: Any) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{where}] must be a table")
        self.path, self.where, self.table = path, where, table

    def get(self, key: str, kind: type, default: Any = ...) -> Any:
        if key not in self.table:
            if default is ...:
                raise ConfigError(f"{self.path}: [{self.where}] needs {key!r}")
            return default
        value = self.table[key]
        if kind is float and isinstance(value, int):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ConfigError(
                f"{self.path}: [{self.where}] {key} must be {kind.__name__}, not {value!r}"
            )
        return value

    def enum(self, key: str, kind: type[enum.StrEnum], default: str) -> Any:
        value = self.get(key, str, default)
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise ConfigError(
                f"{self.path}: [{self.where}] {key} = {value!r}: use one of {allowed}"
            ) from None

    def eui64(self, key: str) -> int:
        try:
            return eui64_from_str(self.get(key, str))
        except ValueError as exc:
            raise ConfigError(f"{self.path}: [{self.where}] {key}: {exc}") from None

    def radio(self) -> RadioConfig:
        version = self.get("ezsp_version", int, 13)
        if version not in (13, 18):
            raise ConfigError(f"{self.path}: [{self.where}] ezsp_version must be 13 or 18")
        return RadioConfig(self.get("radio", str, "emulated"), version)


def load_rig(path: Path | str) -> Rig:
    path = Path(path).resolve()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"rig file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    rig = _Section(path, "rig", data.get("rig", {}))
    broker = _Section(path, "broker", data.get("broker", {}))
    air = _Section(path, "air", data.get("air", {}))
    hub = _Section(path, "hub", data.get("hub"))
    epoch_text = rig.get("epoch", str, "2026-01-15T06:00:00Z")
    try:
        epoch = datetime.fromisoformat(epoch_text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        raise ConfigError(f"{path}: [rig] epoch {epoch_text!r} is not an ISO 8601 time") from None
    run_dir = Path(rig.get("run_dir", str, f"var/{rig.get('name', str, path.stem)}"))
    if not run_dir.is_absolute():
        run_dir = path.parent.parent / run_dir
    hub_config = HubConfig(
        name=hub.get("name", str, "hub"),
        wan_id=hub.get("wan_id", str),
        eui64=hub.eui64("eui64"),
        radio=hub.radio(),
        channel=hub.get("channel", int, 15),
        pan_id=hub.get("pan_id", int),
        extended_pan_id=hub.eui64("extended_pan_id"),
    )
    if not 11 <= hub_config.channel <= 26:
        raise ConfigError(f"{path}: [hub] channel must be 11..26")
    devices: dict[str, DeviceConfig] = {}
    for index, table in enumerate(data.get("device", [])):
        section = _Section(path, f"device #{index + 1}", table)
        device = _device(section)
        if device.name in devices or device.name == hub_config.name:
            raise ConfigError(f"{path}: two components are named {device.name!r}")
        devices[device.name] = device
    scale = rig.get("scale", float, 1.0)
    if scale <= 0:
        raise ConfigError(f"{path}: [rig] scale must be positive")
    return Rig(
        path=path,
        name=rig.get("name", str, path.stem),
        run_dir=run_dir,
        clock=rig.enum("clock", ClockKind, "system"),
        epoch=epoch,
        scale=scale,
        broker_kind=broker.enum("kind", BrokerKind, "auto"),
        broker_host=broker.get("host", str, "127.0.0.1"),
        broker_port=broker.get("port", int, 1883),
        air_host=air.get("host", str, "127.0.0.1"),
        air_port=air.get("port", int, 17840),
        hub=hub_config,
        devices=devices,
        radio_model=radio_model_from_rig(data, path),
    )


def _device(section: _Section) -> DeviceConfig:
    code_text = section.get("install_code", str)
    try:
        code = bytes.fromhex(code_text)
        link_key_from_install_code(code)
    except ValueError as exc:
        raise ConfigError(f"{section.path}: [{section.where}] install_code: {exc}") from None
    load = section.table.get("load", "household")
    if not isinstance(load, str | int | float) or (isinstance(load, str) and load != "household"):
        raise ConfigError(f'{section.path}: [{section.where}] load must be "household" or watts')
    return DeviceConfig(
        name=section.get("name", str),
        kind=section.enum("kind", DeviceKind, "esme"),
        eui64=section.eui64("eui64"),
        install_code=code,
        radio=section.radio(),
        load=load if isinstance(load, str) else float(load),
        seed=section.get("seed", int, 0),
    )

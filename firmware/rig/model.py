"""A rig as typed, validated data: one dataclass per part of the premises.

`firmware.rig.loader.load_rig` builds these from the rig file; every process of a rig (launcher,
broker, air, head-end, hub, devices) reads the same file and takes its own part. Each component
names the backend of each of its HAL ports here, so moving from emulated hardware to a real
dongle, probe or relay is a change of the rig file, not of the code.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime
from pathlib import Path

from hal.radio_model import DEFAULT_PATH_LOSS_EXPONENT, DEFAULT_TX_POWER_DBM, RadioModel
from protocol.errors import ConfigError
from protocol.zigbee_security import link_key_from_install_code

from .kinds import AdmitPolicy, BrokerKind, ClockKind, DeviceKind, PeripheralBackend

__all__ = [
    "AirConfig",
    "BrokerConfig",
    "DeviceConfig",
    "HubConfig",
    "Peripherals",
    "RadioConfig",
    "Rig",
    "SerialConfig",
]


@dataclasses.dataclass(frozen=True)
class RadioConfig:
    """`radio` of a component: None for an emulated NCP on the rig's air, else the serial
    device path or `socket://host:port` of an EZSP dongle; and the EZSP version an emulated NCP
    speaks (a real dongle speaks what its firmware speaks)."""

    dongle: str | None
    ezsp_version: int

    @property
    def emulated(self) -> bool:
        return self.dongle is None


@dataclasses.dataclass(frozen=True)
class SerialConfig:
    """`optical`: the optical port's serial line. None: an emulated port (a pseudo-terminal
    whose path the rig publishes); else a serial device such as a USB IR probe."""

    device: str | None

    @property
    def emulated(self) -> bool:
        return self.device is None


@dataclasses.dataclass(frozen=True)
class Peripherals:
    """Backends of a component's simple peripherals (DESIGN.md §1)."""

    display: PeripheralBackend = PeripheralBackend.EMULATED
    buttons: PeripheralBackend = PeripheralBackend.EMULATED
    buzzer: PeripheralBackend = PeripheralBackend.EMULATED
    tamper: PeripheralBackend = PeripheralBackend.EMULATED
    battery: PeripheralBackend = PeripheralBackend.EMULATED
    supply_switch: PeripheralBackend = PeripheralBackend.EMULATED


@dataclasses.dataclass(frozen=True)
class DeviceConfig:
    """One `[[device]]`: an ESME, GSME or IHD."""

    name: str
    kind: DeviceKind
    eui64: int
    install_code: bytes
    radio: RadioConfig
    #: Constant load in watts, or None for the seeded household profile (meters only).
    load_w: float | None
    seed: int
    position: tuple[float, float]
    optical: SerialConfig = SerialConfig(None)
    peripherals: Peripherals = Peripherals()
    #: The non-volatile store's file; None: `<run_dir>/<name>.sqlite`.
    store: Path | None = None
    #: The tariff file (JSON tariff document) a meter starts with when it has none; None: none.
    tariff: Path | None = None
    #: Minutes of one interval of the meter's load profile (1, 5, 10, 15 or 30; 16.15, 12.4).
    profile_minutes: int = 30

    @property
    def link_key(self) -> bytes:
        return link_key_from_install_code(self.install_code)


@dataclasses.dataclass(frozen=True)
class HubConfig:
    """`[hub]`: the communications hub, coordinator and trust centre of the HAN."""

    name: str
    wan_id: str
    eui64: int
    radio: RadioConfig
    channel: int
    pan_id: int
    extended_pan_id: int
    position: tuple[float, float]
    #: The WAN link's URL, e.g. `mqtt://127.0.0.1:1883`; None: the rig's broker.
    wan: str | None = None
    store: Path | None = None
    #: Whose install codes the trust centre takes (`AdmitPolicy`).
    admit: AdmitPolicy = AdmitPolicy.RIG


@dataclasses.dataclass(frozen=True)
class BrokerConfig:
    """`[broker]`: the MQTT broker the rig starts (or an external one)."""

    kind: BrokerKind
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"mqtt://{host}:{self.port}"


@dataclasses.dataclass(frozen=True)
class AirConfig:
    """`[air]`: where the virtual channel listens, and its radio model's parameters."""

    host: str
    port: int
    path_loss_exponent: float = DEFAULT_PATH_LOSS_EXPONENT
    tx_power_dbm: float = DEFAULT_TX_POWER_DBM
    seed: int = 0
    #: Extra loss between two named components (`[[air.link]]`), either way round.
    attenuation_db: dict[frozenset[str], float] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class Rig:
    """A whole premises."""

    path: Path
    name: str
    run_dir: Path
    clock: ClockKind
    epoch: datetime
    scale: float
    broker: BrokerConfig
    air: AirConfig
    hub: HubConfig
    devices: dict[str, DeviceConfig]
    #: Defaults taken for sections the file leaves out, said once by whoever starts the rig.
    notes: tuple[str, ...] = ()

    def device(self, name: str) -> DeviceConfig:
        try:
            return self.devices[name]
        except KeyError:
            known = ", ".join(self.devices)
            raise ConfigError(f"{self.path}: no device named {name!r} (devices: {known})") from None

    @property
    def component_names(self) -> list[str]:
        return [self.hub.name, *self.devices]

    def store_path(self, component: str) -> Path:
        override = self.hub.store if component == self.hub.name else None
        if component in self.devices:
            override = self.devices[component].store
        return override or self.run_dir / f"{component}.sqlite"

    def control_path(self, component: str) -> Path:
        return self.run_dir / f"{component}.sock"

    def factory_path(self, component: str) -> Path:
        """What the factory programmed into a meter beyond the rig file (the verifier of its
        local-access password, 17.2.21): written once by the launcher, read by the wiring."""
        return self.run_dir / "factory" / f"{component}.json"

    def ncp_store_path(self, component: str) -> Path:
        """Where an emulated NCP keeps its tokens: beside the component's own store."""
        return self.run_dir / f"{component}.ncp.sqlite"

    @property
    def wan_url(self) -> str:
        return self.hub.wan or self.broker.url

    @property
    def radio_model(self) -> RadioModel:
        """What the air applies: every component's position and the [air] parameters."""
        positions = {self.hub.name: self.hub.position}
        positions.update({name: d.position for name, d in self.devices.items()})
        return RadioModel(
            positions=positions,
            attenuation_db=dict(self.air.attenuation_db),
            tx_power_dbm=self.air.tx_power_dbm,
            path_loss_exponent=self.air.path_loss_exponent,
            seed=self.air.seed,
        )

    @property
    def needs_air(self) -> bool:
        radios = [self.hub.radio, *(d.radio for d in self.devices.values())]
        return any(radio.emulated for radio in radios)

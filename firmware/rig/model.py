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
from typing import ClassVar

from hal.radio_model import DEFAULT_PATH_LOSS_EXPONENT, DEFAULT_TX_POWER_DBM, RadioModel
from protocol.errors import ConfigError
from protocol.zigbee_security import link_key_from_install_code

from .kinds import AdmitPolicy, BearerKind, BrokerKind, ClockKind, DeviceKind, PeripheralBackend
from .roles import DEFAULT_SUPPLIER, Roles

__all__ = [
    "HEADEND_IDENTITY",
    "AirConfig",
    "BrokerConfig",
    "CommsLossRules",
    "DeviceConfig",
    "HubConfig",
    "Peripherals",
    "PkiPaths",
    "RadioConfig",
    "Rig",
    "SerialConfig",
    "TlsFiles",
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
    #: The electricity meter's auxiliary load switch output (16.12.1.d); ignored elsewhere.
    aux_load: PeripheralBackend = PeripheralBackend.EMULATED


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
    #: The supplier the device belongs to when the rig first starts (6.1.4; `firmware.rig.roles`).
    supplier: str = DEFAULT_SUPPLIER
    #: The tariff file (JSON tariff document) a meter starts with when it has none; None: none.
    tariff: Path | None = None
    #: Minutes of one interval of the meter's load profile (1, 5, 10, 15 or 30; 16.15, 12.4).
    profile_minutes: int = 30
    #: Peak of the rooftop PV behind an ESME (kW at a clear June noon); 0: no generation.
    pv_peak_kw: float = 0.0

    @property
    def link_key(self) -> bytes:
        return link_key_from_install_code(self.install_code)


@dataclasses.dataclass(frozen=True)
class CommsLossRules:
    """`[hub.comms_loss]`: the loss-of-communications rules (12.7.3, 12.7.5), in seconds of the
    rig's clock. Defaults of the rig file; the head-end may set them later (12.7.6)."""

    #: WAN lost this long: the hub logs the WAN-loss alert, delivered when the WAN returns.
    wan_alert_after_s: float = 60.0
    #: WAN lost this long: the IHD shows 'failed to re-establish communication' (12.7.5.a.1.i).
    ihd_failed_after_s: float = 300.0
    #: Any communication lost this long: the IHD shows 'contact the service centre' (12.7.3).
    ihd_contact_after_s: float = 3600.0
    #: The service centre's number the IHD shows.
    service_number: str = "0800 000 0000"

    #: 12.7.5.a.1.i, as the IHD shows it (one Messaging message: at most 32 characters).
    FAILED_MESSAGE: ClassVar[str] = "Failed to re-establish comms"
    PERIODS: ClassVar[tuple[str, ...]] = (
        "wan_alert_after_s",
        "ihd_failed_after_s",
        "ihd_contact_after_s",
    )
    #: Each period from 1 s to a year; the number fits after "Contact service " in 32.
    PERIOD_RANGE_S: ClassVar[tuple[float, float]] = (1.0, 366 * 86400.0)
    SERVICE_NUMBER_MAX: ClassVar[int] = 16

    def __post_init__(self) -> None:
        low, high = self.PERIOD_RANGE_S
        for key in self.PERIODS:
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ConfigError(f"{key} must be a number of seconds, not {value!r}")
            if not low <= value <= high:
                raise ConfigError(f"{key} = {value} is outside {low:g}-{high:g} s")
        number = self.service_number
        if not isinstance(number, str) or not 0 < len(number) <= self.SERVICE_NUMBER_MAX:
            raise ConfigError(f"service_number must be 1-{self.SERVICE_NUMBER_MAX} characters")

    def as_dict(self) -> dict[str, float | str]:
        return {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}

    @property
    def contact_message(self) -> str:
        """12.7.3: 'contact the service centre', with its number (at most 32 characters)."""
        return f"Contact service {self.service_number}"


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
    #: What carries the WAN: an emulated GPRS modem (and its APN) or plain IP.
    bearer: BearerKind = BearerKind.GPRS
    apn: str = "smartmeter.m2m"
    comms_loss: CommsLossRules = CommsLossRules()


#: The head-end's client certificate's common name, hence its MQTT user name (17.2.14); a hub's
#: is its WAN id.
HEADEND_IDENTITY = "headend"


@dataclasses.dataclass(frozen=True)
class TlsFiles:
    """What a client needs to connect to the broker over TLS: the CA that signed the broker's
    certificate, and its own certificate and private key (PEM files)."""

    ca: Path
    cert: Path
    key: Path


@dataclasses.dataclass(frozen=True)
class PkiPaths:
    """Where a rig's CA and certificates live (`tools.pki` creates them on first start):

    `ca.crt`, `ca.key`; `broker.crt`, `broker.key` (the broker's server certificate);
    `clients/<identity>.crt`, `clients/<identity>.key` (one per client: each hub by its WAN id,
    the head-end as `HEADEND_IDENTITY`).
    """

    root: Path

    @property
    def ca_cert(self) -> Path:
        return self.root / "ca.crt"

    @property
    def ca_key(self) -> Path:
        return self.root / "ca.key"

    @property
    def broker(self) -> TlsFiles:
        return TlsFiles(self.ca_cert, self.root / "broker.crt", self.root / "broker.key")

    def client(self, identity: str) -> TlsFiles:
        folder = self.root / "clients"
        return TlsFiles(self.ca_cert, folder / f"{identity}.crt", folder / f"{identity}.key")


@dataclasses.dataclass(frozen=True)
class BrokerConfig:
    """`[broker]`: the MQTT broker the rig starts (or an external one)."""

    kind: BrokerKind
    host: str
    port: int
    #: Clients connect over TLS with their certificates (17.2.14). Off only for an external
    #: broker without TLS (a lab's own); a broker the rig starts always has it.
    tls: bool = True
    #: Where the CA and the certificates are; None: `<run_dir>/pki`, created on first start.
    #: For an external broker, a folder laid out as `PkiPaths` says, signed by its CA.
    pki_dir: Path | None = None

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
    #: Suppliers and network operator on the WAN (`[roles]`, `firmware.rig.roles`).
    roles: Roles = dataclasses.field(default_factory=Roles)

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

    @property
    def keys_dir(self) -> Path:
        """Where the WAN parties' sealed private keys and the public key directory live."""
        return self.run_dir / "keys"

    def ncp_store_path(self, component: str) -> Path:
        """Where an emulated NCP keeps its tokens: beside the component's own store."""
        return self.run_dir / f"{component}.ncp.sqlite"

    @property
    def wan_url(self) -> str:
        return self.hub.wan or self.broker.url

    @property
    def pki(self) -> PkiPaths:
        return PkiPaths(self.broker.pki_dir or self.run_dir / "pki")

    def tls_files(self, identity: str) -> TlsFiles | None:
        """The TLS files of client `identity` (a hub's WAN id, `HEADEND_IDENTITY`); None when
        the rig's broker speaks plain MQTT."""
        return self.pki.client(identity) if self.broker.tls else None

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

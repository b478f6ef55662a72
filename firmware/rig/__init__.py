"""The rig file: one TOML file describing a whole premises, loaded into typed dataclasses.

Every process of a rig (launcher, broker, air, head-end, hub, devices) reads the same file with
`load_rig` and takes its own section; errors name the file and the key so a bench engineer can
fix them. README.md ("The rig file") documents every key.
"""

from .kinds import AdmitPolicy, BearerKind, BrokerKind, ClockKind, DeviceKind, PeripheralBackend
from .loader import DEFAULT_AIR_PORT, DEFAULT_BROKER_PORT, RESERVED_NAMES, load_rig, parse_rig
from .model import (
    HEADEND_IDENTITY,
    AirConfig,
    BrokerConfig,
    CommsLossRules,
    DeviceConfig,
    HubConfig,
    Peripherals,
    PkiPaths,
    RadioConfig,
    Rig,
    SerialConfig,
    TlsFiles,
)

__all__ = [
    "DEFAULT_AIR_PORT",
    "DEFAULT_BROKER_PORT",
    "HEADEND_IDENTITY",
    "RESERVED_NAMES",
    "AdmitPolicy",
    "AirConfig",
    "BearerKind",
    "BrokerConfig",
    "BrokerKind",
    "ClockKind",
    "CommsLossRules",
    "DeviceConfig",
    "DeviceKind",
    "HubConfig",
    "PeripheralBackend",
    "Peripherals",
    "PkiPaths",
    "RadioConfig",
    "Rig",
    "SerialConfig",
    "TlsFiles",
    "load_rig",
    "parse_rig",
]

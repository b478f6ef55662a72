"""The HAL ports a component's firmware is handed: its board, as the firmware sees it.

Only ports (the protocols of `hal.ports`, `hal.peripherals`, `hal.radio`, `hal.serial_line`,
`hal.wan`), never backends: the composition root of each process builds them from the rig
(`firmware.wiring`), and a unit test builds them from whatever it likes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hal.modem import Modem
from hal.peripherals import AuxLoadSwitch, Battery, Buzzer, TamperInput, TamperSwitches
from hal.ports import (
    Buttons,
    Clock,
    Display,
    ElectricityMetrology,
    GasMetrology,
    NonVolatileStore,
    SupplySwitch,
)
from hal.radio import HanRadio, Ncp
from hal.serial_line import SerialLine
from hal.wan import WanLink
from protocol.local_auth import Verifier
from protocol.wan_security import KeyRing

__all__ = [
    "Board",
    "DeviceBoard",
    "ElectricityMeterBoard",
    "GasMeterBoard",
    "HubBoard",
    "MeterBoard",
    "Panel",
]


@dataclass(frozen=True)
class Panel:
    """What a device's front panel and case have, declared by its firmware: the names of its
    buttons and its tamper inputs. The board's emulated buttons and switches take these."""

    buttons: frozenset[str] = frozenset()
    tamper: frozenset[TamperInput] = frozenset()


@dataclass(frozen=True)
class Board:
    """What every component has: its RTC and its non-volatile memory."""

    clock: Clock
    store: NonVolatileStore


@dataclass(frozen=True)
class DeviceBoard(Board):
    """A HAN device (meter or IHD): a radio, a display, buttons, a buzzer, tamper inputs and a
    battery (the IHD's is its mains adapter's backup; the gas meter runs on it)."""

    radio: HanRadio
    display: Display
    buttons: Buttons
    buzzer: Buzzer
    tamper: TamperSwitches
    battery: Battery


@dataclass(frozen=True)
class MeterBoard(DeviceBoard):
    """A meter adds its supply switch (contactor or valve) and its optical port, and the
    verifier of the local-access password the factory set (17.2.21; None: none set)."""

    supply_switch: SupplySwitch
    optical: SerialLine
    factory_verifier: Verifier | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class ElectricityMeterBoard(MeterBoard):
    """An electricity meter adds its measuring element and its auxiliary load switch output
    (16.12.1.d: driven by the time-of-use switch entries; a gas meter has none)."""

    metrology: ElectricityMetrology
    aux_load: AuxLoadSwitch


@dataclass(frozen=True)
class GasMeterBoard(MeterBoard):
    metrology: GasMetrology


@dataclass(frozen=True)
class HubBoard(Board):
    """The communications hub: the HAN coordinator's NCP and the WAN link, and the keys it seals
    the WAN with (None: `wan_sealed = false`, plain JSON)."""

    ncp: Ncp
    wan: WanLink
    #: The WAN bearer the link runs over (6.1.6); None: plain IP, nothing to watch.
    modem: Modem | None = None
    wan_keys: KeyRing | None = field(default=None, kw_only=True)

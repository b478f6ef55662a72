"""HAL ports of the small peripherals: buzzer, tamper switches, battery and the auxiliary load
switch output.

Backends live in `hal/emulated/` (driven from the bench port) and, later, `hal/real/` (GPIO on a
Raspberry Pi). Firmware reads and waits on these protocols only.
"""

from __future__ import annotations

import enum
from typing import Protocol, runtime_checkable

__all__ = [
    "AuxLoadSwitch",
    "Battery",
    "BenchTamper",
    "Buzzer",
    "TamperInput",
    "TamperSwitches",
    "Tone",
]


class Tone(enum.Enum):
    """What the buzzer sounds."""

    CONFIRM = "confirm"
    """Short beep confirming a button press (clause 8.3)."""
    WARNING = "warning"
    """Repeated beeps, e.g. low credit or a message needing attention."""
    ALARM = "alarm"
    """Continuous alarm until silenced."""


@runtime_checkable
class Buzzer(Protocol):
    """An audible signal (clause 8.3)."""

    def sound(self, tone: Tone) -> None: ...

    def silence(self) -> None: ...

    @property
    def sounding(self) -> Tone | None:
        """The tone sounding now, None when silent (a CONFIRM beep is over at once)."""
        ...


class TamperInput(enum.Enum):
    """Switches and sensors that detect interference (clauses 18.11.a-c, 18.11.l)."""

    METER_COVER = "meter_cover"
    """The sealed meter cover (18.11.a)."""
    TERMINAL_COVER = "terminal_cover"
    """The terminal cover over the supply connections (18.11.a)."""
    MAGNETIC_FIELD = "magnetic_field"
    """A strong magnetic field at the measuring element (18.11.c)."""
    BATTERY_COVER = "battery_cover"
    """The battery compartment (18.11.b: battery removal)."""
    SEAL = "seal"
    """The meter's programming seal: broken (active) to allow local changes that affect
    metering (17.2.21.a); restored by authorised personnel (17.1.4)."""


@runtime_checkable
class TamperSwitches(Protocol):
    """Tamper inputs of a component; a change is latched until the firmware takes it."""

    @property
    def inputs(self) -> frozenset[TamperInput]:
        """The inputs this component has."""
        ...

    def active(self, tamper: TamperInput) -> bool:
        """True while the input detects interference (cover open, field present)."""
        ...

    async def next_change(self) -> tuple[TamperInput, bool]:
        """Wait for the next change of any input: (input, active)."""
        ...


@runtime_checkable
class BenchTamper(Protocol):
    """Tamper inputs a person at the bench can work (the emulated backend): open a cover, break
    or restore a seal."""

    def set(self, tamper: TamperInput, active: bool) -> bool:
        """Make an input active or not; True if that changed it."""
        ...


@runtime_checkable
class Battery(Protocol):
    """The battery of a battery-powered meter or of an RTC backup (clauses 8.9, 18.11.b)."""

    @property
    def present(self) -> bool: ...

    @property
    def level_percent(self) -> int:
        """Remaining charge, 0..100 (0 when absent)."""
        ...

    @property
    def low(self) -> bool:
        """Below the level at which the firmware must warn."""
        ...


@runtime_checkable
class AuxLoadSwitch(Protocol):
    """The electricity meter's auxiliary load switch output (16.12.1.d, 16.13.1.c): a relay
    that powers a switched load (a storage heater, an immersion) while the time-of-use switch
    entry in force says so. Unlike the supply switch it has no arming and no failure to report:
    on or off, and its state readable."""

    @property
    def on(self) -> bool:
        """True while the relay powers the switched load."""
        ...

    @property
    def operation_count(self) -> int:
        """Changes of state over the life of the relay."""
        ...

    def set(self, on: bool) -> bool:
        """Drive the relay on or off; True if that changed it (setting it as it is does nothing)."""
        ...

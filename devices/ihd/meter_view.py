"""What the IHD knows about each meter it reads, and the screen it makes of it.

Per fuel the IHD keeps the meter's address, its formatting attributes (read once, at discovery:
UnitOfMeasure, Multiplier, Divisor, SummationFormatting, DemandFormatting, MeteringDeviceType)
and its last readings (CurrentSummationDelivered, InstantaneousDemand, Status). Values are
shown through `protocol.metering_units.metering_registers`, i.e. scaled and cut to the digits
the meter's formatting attributes ask for, in fixed point (no float ever touches a register).

The screen (clauses 6.1.12, 8.5: English text), e.g.:

    Electricity 0.512 kW
    Elec total 1234.567 kWh
    Gas 0.120 m3/h
    Gas total 56.789 m3
    Updated 14:03:22

A meter that has missed `LOST_AFTER_FAILURES` polls in a row keeps its last values, marked
"(no signal)". Times are UK local time (clause 15.6.a), GMT or BST as the date requires.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from devices.meter.meter_firmware import display_unit
from hal.ports import uk_local
from protocol.metering_units import metering_registers

__all__ = ["LOST_AFTER_FAILURES", "Fuel", "MeterLink", "fuel_of", "render"]

#: Consecutive failed polls after which a meter is shown as "(no signal)".
LOST_AFTER_FAILURES = 3
_MIRROR_OFFSET = 127  # MeteringDeviceType 127 + n: a mirror (e.g. the hub's gas proxy) of type n


class Fuel(enum.Enum):
    ELECTRICITY = "electricity"
    GAS = "gas"

    @property
    def labels(self) -> tuple[str, str]:
        """(demand line label, total line label)."""
        return _LABELS[self]


_LABELS = {Fuel.ELECTRICITY: ("Electricity", "Elec total"), Fuel.GAS: ("Gas", "Gas total")}
_FUEL_BY_TYPE = {0: Fuel.ELECTRICITY, 1: Fuel.GAS}


def fuel_of(metering_device_type: int) -> tuple[Fuel, bool] | None:
    """(fuel, mirrored) for a MeteringDeviceType (0x0306), None for meters the IHD ignores."""
    mirrored = metering_device_type >= _MIRROR_OFFSET
    fuel = _FUEL_BY_TYPE.get(
        metering_device_type - _MIRROR_OFFSET if mirrored else metering_device_type
    )
    return None if fuel is None else (fuel, mirrored)


@dataclass
class MeterLink:
    """One meter as the IHD sees it."""

    fuel: Fuel
    nwk: int
    endpoint: int
    mirrored: bool
    formatting: dict[str, int]
    readings: dict[str, int] | None = None
    read_at: datetime | None = None
    failures: int = 0
    registers: dict[str, Any] | None = field(default=None, repr=False)
    #: The meter reports its readings to us (ZCL attribute reporting, clause 12.5).
    subscribed: bool = False
    #: Clock-monotonic second of the last readings heard, by report or poll.
    heard_s: float | None = None
    #: How the readings came: reports taken and polls made (bench port, tests).
    reports: int = 0
    polls: int = 0

    @property
    def lost(self) -> bool:
        return self.failures >= LOST_AFTER_FAILURES

    def update(self, readings: dict[str, int], now: datetime) -> None:
        """A successful poll; DecodeError (nothing changed) if the attributes make no sense."""
        registers = metering_registers({**self.formatting, **readings})
        self.readings, self.registers, self.read_at = readings, registers, now
        self.failures = 0

    def lines(self) -> list[str]:
        demand_label, total_label = self.fuel.labels
        suffix = " (no signal)" if self.lost else ""
        if self.registers is None:
            return [f"{demand_label} --{suffix}", f"{total_label} --{suffix}"]
        registers = self.registers["registers"]
        summation = registers["CurrentSummationDelivered"]
        lines = []
        demand = registers.get("InstantaneousDemand")
        if demand is not None:
            lines.append(
                f"{demand_label} {demand['display']} {display_unit(demand['unit'])}{suffix}"
            )
        lines.append(
            f"{total_label} {summation['display']} {display_unit(summation['unit'])}{suffix}"
        )
        return lines

    def describe(self) -> dict[str, Any]:
        """For the bench port."""
        return {
            "fuel": self.fuel.value,
            "nwk": self.nwk,
            "endpoint": self.endpoint,
            "mirrored": self.mirrored,
            "failures": self.failures,
            "subscribed": self.subscribed,
            "reports": self.reports,
            "polls": self.polls,
            "lost": self.lost,
            "read_at": None if self.read_at is None else self.read_at.isoformat(),
            "attributes": {**self.formatting, **(self.readings or {})},
            "registers": None if self.registers is None else self.registers["registers"],
        }


def render(links: Mapping[Fuel, MeterLink], updated_at: datetime | None) -> list[str]:
    """The IHD screen for the meters found so far."""
    if not links:
        return ["Searching for meters..."]
    lines: list[str] = []
    for fuel in Fuel:
        link = links.get(fuel)
        if link is not None:
            lines.extend(link.lines())
    if updated_at is not None:
        lines.append(f"Updated {uk_local(updated_at):%H:%M:%S}")
    return lines

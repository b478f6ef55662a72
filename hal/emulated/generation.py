"""Emulated microgeneration behind the ESME: a rooftop PV array and the bench's override.

The ESME's measuring element sees the household's load less what the panels produce (the net
power, negative while exporting) and, measured apart, the gross generation (clause 16.22.1).
`SolarProfile` is a pure function of (seed, instant), like the household profiles: the sun's
elevation over central England at that instant (solar time, not the wall clock) scaled so a
clear June noon gives the array's peak, dimmed by the day's weather and passing clouds drawn
from a counter-based hash of the seed and the time slot. Winter noons give about a third of the
peak, nights nothing.

`Generation` is what a metrology backend holds: the profile (or none) and the bench override.
"""

from __future__ import annotations

import math
from datetime import datetime

from hal.ports import PortError

from .metrology_hash import unit_interval

__all__ = ["Generation", "SolarProfile", "check_generation"]

#: Central England: where the emulated premises' roof is.
LATITUDE_DEG = 52.0
LONGITUDE_DEG = -1.5
_AXIAL_TILT_DEG = 23.44
#: sin(elevation) of the sun at a June solstice noon: the profile's peak.
_SIN_PEAK = math.sin(math.radians(90.0 - LATITUDE_DEG + _AXIAL_TILT_DEG))
#: A single-phase inverter cannot feed more than the meter's rating (clause 1.1.b: 100 A).
MAX_GENERATION_W = 23_000.0
_CLOUD_SLOT_S = 600


def check_generation(watts: float) -> None:
    if not math.isfinite(watts) or not 0.0 <= watts <= MAX_GENERATION_W:
        raise PortError(f"generation of {watts} W is outside 0..{MAX_GENERATION_W:g} W")


def sun_elevation_sine(now: datetime) -> float:
    """sin(solar elevation) at the premises at `now` (negative at night)."""
    day = now.timetuple().tm_yday
    declination = math.radians(_AXIAL_TILT_DEG) * math.sin(2 * math.pi * (284 + day) / 365)
    utc_hours = now.hour + now.minute / 60 + now.second / 3600 + now.microsecond / 3.6e9
    solar_hours = utc_hours + LONGITUDE_DEG / 15
    hour_angle = 2 * math.pi * (solar_hours - 12.0) / 24
    latitude = math.radians(LATITUDE_DEG)
    return math.sin(latitude) * math.sin(declination) + math.cos(latitude) * math.cos(
        declination
    ) * math.cos(hour_angle)


class SolarProfile:
    """A PV array of `peak_w` (its output at a clear June noon), deterministic per seed."""

    def __init__(self, peak_w: float, seed: int = 0) -> None:
        check_generation(peak_w)
        self.peak_w = peak_w
        self.seed = seed

    def watts(self, now: datetime) -> float:
        sine = sun_elevation_sine(now)
        if sine <= 0.0:
            return 0.0
        t = now.timestamp()
        day_clear = 0.35 + 0.65 * unit_interval(self.seed, 21, int(t // 86_400))
        passing = 0.75 + 0.25 * unit_interval(self.seed, 22, int(t // _CLOUD_SLOT_S))
        return min(self.peak_w, self.peak_w * sine / _SIN_PEAK * day_clear * passing)


class Generation:
    """The gross generation a metrology backend reports: its PV profile (none: 0 W) unless the
    bench overrides it."""

    def __init__(self, solar: SolarProfile | None = None) -> None:
        self._solar = solar
        self._override_w: float | None = None

    def set(self, watts: float | None) -> None:
        if watts is not None:
            check_generation(watts)
        self._override_w = watts

    def watts(self, now: datetime) -> float:
        if self._override_w is not None:
            return self._override_w
        return 0.0 if self._solar is None else self._solar.watts(now)

"""Emulated metrology: load-profile generators for the ESME and GSME measuring elements.

A profile is a pure function of (seed, instant): the same seed gives the same load at the same
time in every process and every run, so a test can check a register against an integral of the
profile, and a rig restarted half-way sees the load it would have seen. Randomness comes from a
counter-based hash (splitmix64) of the seed and the time slot, never from hidden state.

The household curves follow UK local time (DESIGN.md §6), because people boil kettles by the wall
clock, not by UTC. Ratings are the emulated envelope of clause 1.1: single phase up to 100 A
(1.1.b), gas flow up to 6 m3/h (1.1.a); a bench override beyond them is refused.
"""

from __future__ import annotations

import math
import random
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from hal.ports import ElectricitySample, GasSample, PortError, uk_local

from .generation import Generation, SolarProfile
from .metrology_hash import unit_interval as _unit

__all__ = ["ConstantFlow", "ConstantLoad", "HouseholdGasProfile", "HouseholdProfile"]

RATED_CURRENT_A = 100.0  # clause 1.1.b
MAX_GAS_FLOW_M3_PER_H = 6.0  # clause 1.1.a
NOMINAL_VOLTAGE_V = 240.0
DAY_S = 86_400


def _bump(hour: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((hour - centre) / width) ** 2)


def _local_slot(now: datetime) -> tuple[int, float]:
    """(ordinal of the UK local date, seconds since local midnight)."""
    local = uk_local(now)
    midnight_s = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
    return local.date().toordinal(), midnight_s


@dataclass(frozen=True, slots=True)
class _Burst:
    """An appliance run within one local day, optionally thermostat-cycled."""

    start_s: float
    end_s: float
    level: float
    cycle_s: float = 0.0
    duty: float = 1.0

    def at(self, second_of_day: float) -> float:
        if not self.start_s <= second_of_day < self.end_s:
            return 0.0
        if (
            self.cycle_s
            and (second_of_day - self.start_s) % self.cycle_s >= self.duty * self.cycle_s
        ):
            return 0.0
        return self.level


#: A day's plan: the day's activity factor and its appliance runs.
_Plan = tuple[float, list[_Burst]]


class _DayPlans:
    """Per-day appliance plans, built on first use from (seed, day) and kept for a few days."""

    def __init__(self, build: Callable[[random.Random], _Plan], keep: int = 8) -> None:
        self._build = build
        self._plans: OrderedDict[int, _Plan] = OrderedDict()
        self._keep = keep

    def get(self, seed: int, ordinal: int) -> _Plan:
        plan = self._plans.get(ordinal)
        if plan is None:
            plan = self._build(random.Random(seed * 1_000_003 + ordinal))
            self._plans[ordinal] = plan
            while len(self._plans) > self._keep:
                self._plans.popitem(last=False)
        return plan


def _check_current(watts: float, voltage_v: float, power_factor: float) -> None:
    if not math.isfinite(watts) or abs(watts) / (voltage_v * power_factor) > RATED_CURRENT_A:
        raise PortError(f"load of {watts} W exceeds the meter rating of {RATED_CURRENT_A} A")


# --- electricity -------------------------------------------------------------------------------


class ConstantLoad:
    """`hal.ports.ElectricityMetrology` with a fixed resistive-ish load (bench and unit tests)."""

    def __init__(
        self,
        watts: float,
        voltage_v: float = NOMINAL_VOLTAGE_V,
        power_factor: float = 1.0,
        frequency_hz: float = 50.0,
        solar: SolarProfile | None = None,
    ) -> None:
        self._generation = Generation(solar)
        self._voltage_v = voltage_v
        self._power_factor = power_factor
        self._frequency_hz = frequency_hz
        _check_current(watts, voltage_v, power_factor)
        self._default_w = watts
        self._override_w: float | None = None

    def set_load(self, watts: float | None) -> None:
        if watts is not None:
            _check_current(watts, self._voltage_v, self._power_factor)
        self._override_w = watts

    def set_generation(self, watts: float | None) -> None:
        self._generation.set(watts)

    def sample(self, now: datetime) -> ElectricitySample:
        load = self._default_w if self._override_w is None else self._override_w
        generation = self._generation.watts(now)
        watts = load - generation
        return ElectricitySample(
            active_power_w=watts,
            voltage_v=self._voltage_v,
            current_a=abs(watts) / (self._voltage_v * self._power_factor),
            power_factor=self._power_factor,
            frequency_hz=self._frequency_hz,
            generation_w=generation,
        )


# The household's shape: standby + fridge all day, bumps of activity around breakfast, lunch
# and the evening, plus kettles and one cooking session a day. Amplitudes of the activity bumps
# are relative; they are scaled so the expected day totals `mean_daily_kwh`.
_BASE_W = 145.0
_BASE_WANDER_W = 20.0
_FRIDGE_W = 90.0
_FRIDGE_PERIOD_S = 45 * 60
_FRIDGE_ON_S = 15 * 60
_KETTLE_W, _KETTLE_S, _KETTLES_PER_DAY = 2800.0, 180.0, (4, 5, 6)
_OVEN_W, _OVEN_CYCLE_S, _OVEN_DUTY, _OVEN_MINUTES = 1800.0, 240.0, 0.6, (35, 55)
_RESISTIVE_PF = 1.0


def _activity_shape(hour: float) -> float:
    return (
        700 * _bump(hour, 7.75, 0.75)
        + 250 * _bump(hour, 13.0, 2.0)
        + 1200 * _bump(hour, 19.0, 1.6)
        + 300 * _bump(hour, 21.5, 1.0)
    )


_ACTIVITY_SHAPE_KWH = sum(_activity_shape(m / 60) for m in range(24 * 60)) / 60 / 1000
_FIXED_KWH = (
    (_BASE_W + _FRIDGE_W * _FRIDGE_ON_S / _FRIDGE_PERIOD_S) * 24
    + _KETTLE_W * _KETTLE_S / 3600 * sum(_KETTLES_PER_DAY) / len(_KETTLES_PER_DAY)
    + _OVEN_W * _OVEN_DUTY * sum(_OVEN_MINUTES) / 2 / 60
) / 1000


def _electric_day(rng: random.Random) -> _Plan:
    bursts: list[_Burst] = []
    # Kettles cluster at breakfast, through the day and in the evening.
    windows = [(7.0, 9.0), (10.0, 16.0), (16.5, 22.0), (7.0, 22.0), (17.0, 21.0), (12.0, 14.0)]
    for low, high in windows[: rng.choice(_KETTLES_PER_DAY)]:
        start = rng.uniform(low, high) * 3600
        bursts.append(_Burst(start, start + _KETTLE_S, _KETTLE_W))
    start = rng.uniform(17.25, 18.75) * 3600
    minutes = rng.uniform(*_OVEN_MINUTES)
    bursts.append(_Burst(start, start + minutes * 60, _OVEN_W, _OVEN_CYCLE_S, _OVEN_DUTY))
    day_factor = rng.uniform(0.92, 1.08)
    return day_factor, bursts


def _split_mean(mean: float, fixed: float) -> tuple[float, float]:
    """Share a requested daily mean between the fixed base use and the activity on top:
    (scale of the base, what is left for activity). The base stays realistic unless the mean is
    too small to allow it; activity always keeps at least a quarter of the day's use."""
    spare = mean - fixed
    if spare >= 0.25 * mean:
        return 1.0, spare
    return 0.75 * mean / fixed, 0.25 * mean


class HouseholdProfile:
    """`hal.ports.ElectricityMetrology`: a typical UK household, deterministic per seed.

    Night base load of about 150-250 W (standby plus a cycling fridge), a breakfast peak at
    07:00-09:00, an evening peak 17:00-21:00 of 2-3 kW while cooking, kettle spikes of 2.8 kW.
    Voltage 230-240 V, sagging slightly with load; power factor 0.90-1.00 (resistive loads pull
    it up). Expected daily energy is `mean_daily_kwh`; any one day is within a few per cent.
    """

    def __init__(
        self, seed: int, mean_daily_kwh: float = 8.0, solar: SolarProfile | None = None
    ) -> None:
        if mean_daily_kwh <= 0:
            raise ValueError("mean_daily_kwh must be positive")
        self.seed = seed
        self.mean_daily_kwh = mean_daily_kwh
        self._fixed_scale, spare = _split_mean(mean_daily_kwh, _FIXED_KWH)
        self._activity_scale = spare / _ACTIVITY_SHAPE_KWH
        self._fridge_phase_s = _unit(seed, 1) * _FRIDGE_PERIOD_S
        self._plans = _DayPlans(_electric_day)
        self._override_w: float | None = None
        self._generation = Generation(solar)

    def set_load(self, watts: float | None) -> None:
        if watts is not None:
            _check_current(watts, NOMINAL_VOLTAGE_V, 1.0)
        self._override_w = watts

    def set_generation(self, watts: float | None) -> None:
        self._generation.set(watts)

    def sample(self, now: datetime) -> ElectricitySample:
        t = now.timestamp()
        hour_slot = _unit(self.seed, 6, int(t // 10)) - 0.5
        frequency = 50.0 + 0.1 * (_unit(self.seed, 8, int(t // 15)) - 0.5)
        if self._override_w is not None:
            # A bench load is a plain resistive test load.
            watts, resistive = self._override_w, abs(self._override_w)
            other = 0.0
        else:
            resistive, other = self._household_w(now, t)
            watts = resistive + other
        # The panels feed the house first: the meter sees the load less the generation, and
        # the current of that net power (an inverter at unity power factor).
        generation = self._generation.watts(now)
        hour = _local_slot(now)[1] / 3600
        voltage = (
            236.0
            + 1.5 * math.cos(2 * math.pi * (hour - 3.0) / 24)
            - 0.8 * abs(watts) / 1000
            + 1.6 * hour_slot
        )
        other_pf = 0.90 + 0.05 * _unit(self.seed, 7, int(t // 60))
        apparent = resistive / _RESISTIVE_PF + other / other_pf
        power_factor = abs(watts) / apparent if apparent else 1.0
        net = watts - generation
        return ElectricitySample(
            active_power_w=net,
            voltage_v=voltage,
            current_a=abs(net) / (voltage * power_factor),
            power_factor=power_factor,
            frequency_hz=frequency,
            generation_w=generation,
        )

    def _household_w(self, now: datetime, t: float) -> tuple[float, float]:
        """(resistive watts, other watts) of the household profile at `now`."""
        ordinal, second = _local_slot(now)
        day_factor, bursts = self._plans.get(self.seed, ordinal)
        fridge_on = (t + self._fridge_phase_s) % _FRIDGE_PERIOD_S < _FRIDGE_ON_S
        base = _BASE_W + _BASE_WANDER_W * 2 * (_unit(self.seed, 2, int(t // 600)) - 0.5)
        noise = 0.7 + 0.6 * _unit(self.seed, 4, int(t // 300))
        activity = _activity_shape(second / 3600) * self._activity_scale * day_factor * noise
        other = (base + (_FRIDGE_W if fridge_on else 0.0)) * self._fixed_scale + activity
        resistive = sum(b.at(second) for b in bursts) * self._fixed_scale
        return resistive, other


# --- gas ---------------------------------------------------------------------------------------


def _check_flow(m3_per_h: float) -> None:
    if not 0.0 <= m3_per_h <= MAX_GAS_FLOW_M3_PER_H:
        raise PortError(f"gas flow {m3_per_h} m3/h is outside 0..{MAX_GAS_FLOW_M3_PER_H} m3/h")


class ConstantFlow:
    """`hal.ports.GasMetrology` with a fixed flow (bench and unit tests)."""

    def __init__(self, m3_per_h: float) -> None:
        _check_flow(m3_per_h)
        self._default = m3_per_h
        self._override: float | None = None

    def set_flow(self, m3_per_h: float | None) -> None:
        if m3_per_h is not None:
            _check_flow(m3_per_h)
        self._override = m3_per_h

    def sample(self, now: datetime) -> GasSample:
        return GasSample(self._default if self._override is None else self._override)


_HEATING_WINDOWS_H = ((6.0, 8.5), (16.5, 22.0))
_BOILER_CYCLE_S, _BOILER_DUTY = 18 * 60, 2 / 3
_HOB_M3H, _HOB_MINUTES = 0.25, (20, 40)
_LUNCH_HOB_CHANCE, _LUNCH_HOB_S = 0.5, 15 * 60
_HOT_WATER_M3H, _HOT_WATER_S, _HOT_WATER_DRAWS = 2.0, 300.0, (3, 4, 5)

_HEATING_HOURS = sum(high - low for low, high in _HEATING_WINDOWS_H) * _BOILER_DUTY
_GAS_FIXED_M3 = (
    _HOB_M3H * sum(_HOB_MINUTES) / 2 / 60
    + _HOB_M3H * _LUNCH_HOB_CHANCE * _LUNCH_HOB_S / 3600
    + _HOT_WATER_M3H * _HOT_WATER_S / 3600 * sum(_HOT_WATER_DRAWS) / len(_HOT_WATER_DRAWS)
)


def _gas_day(rng: random.Random) -> _Plan:
    bursts: list[_Burst] = []
    start = rng.uniform(17.5, 19.0) * 3600
    bursts.append(_Burst(start, start + rng.uniform(*_HOB_MINUTES) * 60, _HOB_M3H))
    if rng.random() < _LUNCH_HOB_CHANCE:
        start = rng.uniform(12.0, 13.5) * 3600
        bursts.append(_Burst(start, start + _LUNCH_HOB_S, _HOB_M3H))
    for _ in range(rng.choice(_HOT_WATER_DRAWS)):
        start = rng.choice((rng.uniform(6.5, 9.0), rng.uniform(18.0, 22.5))) * 3600
        bursts.append(_Burst(start, start + _HOT_WATER_S, _HOT_WATER_M3H))
    return rng.uniform(0.92, 1.08), bursts


class HouseholdGasProfile:
    """`hal.ports.GasMetrology`: gas central heating with a combi boiler, deterministic per seed.

    Heating 06:00-08:30 and 16:30-22:00 with the boiler cycling, hot-water draws of 2 m3/h and
    hob use around lunch and dinner; no flow at night. Expected daily volume is `mean_daily_m3`.
    """

    def __init__(self, seed: int, mean_daily_m3: float = 3.0) -> None:
        if mean_daily_m3 <= 0:
            raise ValueError("mean_daily_m3 must be positive")
        self.seed = seed
        self.mean_daily_m3 = mean_daily_m3
        self._fixed_scale, spare = _split_mean(mean_daily_m3, _GAS_FIXED_M3)
        self._heating_m3h = spare / _HEATING_HOURS
        self._plans = _DayPlans(_gas_day)
        self._override: float | None = None

    def set_flow(self, m3_per_h: float | None) -> None:
        if m3_per_h is not None:
            _check_flow(m3_per_h)
        self._override = m3_per_h

    def sample(self, now: datetime) -> GasSample:
        if self._override is not None:
            return GasSample(self._override)
        ordinal, second = _local_slot(now)
        day_factor, bursts = self._plans.get(self.seed, ordinal)
        hour = second / 3600
        phase = _unit(self.seed, 9, ordinal) * _BOILER_CYCLE_S
        heating = 0.0
        if any(low <= hour < high for low, high in _HEATING_WINDOWS_H):
            firing = (second + phase) % _BOILER_CYCLE_S < _BOILER_DUTY * _BOILER_CYCLE_S
            heating = self._heating_m3h * day_factor if firing else 0.0
        flow = heating + sum(b.at(second) for b in bursts) * self._fixed_scale
        return GasSample(min(flow, MAX_GAS_FLOW_M3_PER_H))

"""Metrology ports: contracts for every backend, then the household profiles' shape and energy."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from hal.emulated.metrology import (
    MAX_GAS_FLOW_M3_PER_H,
    RATED_CURRENT_A,
    ConstantFlow,
    ConstantLoad,
    HouseholdGasProfile,
    HouseholdProfile,
)
from hal.ports import UK_ZONE, ElectricityMetrology, GasMetrology, PortError

WINTER_NOON = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def local_day(day: date, step: timedelta = timedelta(minutes=1)) -> Iterator[datetime]:
    """Instants from one UK local midnight to the next (23 or 25 hours on clock-change days)."""
    start = datetime(day.year, day.month, day.day, tzinfo=UK_ZONE).astimezone(UTC)
    end = (datetime(day.year, day.month, day.day, tzinfo=UK_ZONE) + timedelta(days=1)).astimezone(
        UTC
    )
    now = start
    while now < end:
        yield now
        now += step


def local_hours(day: date, first: int, last: int) -> Iterator[datetime]:
    return (t for t in local_day(day) if first <= t.astimezone(UK_ZONE).hour < last)


@pytest.fixture(params=["constant", "household"])
def electricity(request: pytest.FixtureRequest) -> ElectricityMetrology:
    if request.param == "constant":
        return ConstantLoad(750.0, voltage_v=238.0, power_factor=0.95)
    return HouseholdProfile(seed=7)


class TestElectricityMetrologyContract:
    @pytest.mark.req("1.1.b")
    def test_sample_is_physically_consistent(self, electricity: ElectricityMetrology) -> None:
        for now in local_day(date(2024, 1, 10), timedelta(minutes=7)):
            s = electricity.sample(now)
            assert 0.0 < s.power_factor <= 1.0
            assert 216.0 <= s.voltage_v <= 253.0  # 230 V +10 % / -6 %
            assert 49.5 <= s.frequency_hz <= 50.5
            assert s.current_a == pytest.approx(
                abs(s.active_power_w) / s.voltage_v / s.power_factor
            )
            assert s.current_a <= RATED_CURRENT_A

    def test_same_instant_same_sample(self, electricity: ElectricityMetrology) -> None:
        assert electricity.sample(WINTER_NOON) == electricity.sample(WINTER_NOON)

    def test_bench_override_and_back(self, electricity: ElectricityMetrology) -> None:
        natural = electricity.sample(WINTER_NOON)
        electricity.set_load(4321.0)
        assert electricity.sample(WINTER_NOON).active_power_w == 4321.0
        electricity.set_load(-1500.0)  # export, e.g. microgeneration
        assert electricity.sample(WINTER_NOON).active_power_w == -1500.0
        electricity.set_load(None)
        assert electricity.sample(WINTER_NOON) == natural

    @pytest.mark.req("1.1.b")
    def test_override_beyond_rating_refused(self, electricity: ElectricityMetrology) -> None:
        with pytest.raises(PortError, match="100"):
            electricity.set_load(30_000.0)
        with pytest.raises(PortError):
            electricity.set_load(float("nan"))


@pytest.fixture(params=["constant", "household"])
def gas(request: pytest.FixtureRequest) -> GasMetrology:
    if request.param == "constant":
        return ConstantFlow(1.2)
    return HouseholdGasProfile(seed=7)


class TestGasMetrologyContract:
    @pytest.mark.req("1.1.a")
    def test_flow_within_meter_capacity(self, gas: GasMetrology) -> None:
        for now in local_day(date(2024, 1, 10), timedelta(minutes=3)):
            assert 0.0 <= gas.sample(now).flow_m3_per_h <= MAX_GAS_FLOW_M3_PER_H

    def test_same_instant_same_sample(self, gas: GasMetrology) -> None:
        assert gas.sample(WINTER_NOON) == gas.sample(WINTER_NOON)

    def test_bench_override_and_back(self, gas: GasMetrology) -> None:
        natural = gas.sample(WINTER_NOON)
        gas.set_flow(5.5)
        assert gas.sample(WINTER_NOON).flow_m3_per_h == 5.5
        gas.set_flow(None)
        assert gas.sample(WINTER_NOON) == natural

    @pytest.mark.req("1.1.a")
    @pytest.mark.parametrize("flow", [-0.1, 6.01])
    def test_override_outside_capacity_refused(self, gas: GasMetrology, flow: float) -> None:
        with pytest.raises(PortError):
            gas.set_flow(flow)


DAYS = [date(2024, 1, 10), date(2024, 3, 31), date(2024, 7, 15), date(2024, 10, 27)]


class TestHouseholdProfile:
    @pytest.mark.parametrize("seed", [0, 1, 2, 3])
    @pytest.mark.parametrize("day", DAYS, ids=str)
    def test_daily_energy_within_15_percent(self, seed: int, day: date) -> None:
        profile = HouseholdProfile(seed)
        kwh = sum(profile.sample(t).active_power_w for t in local_day(day)) / 60 / 1000
        assert kwh == pytest.approx(8.0, rel=0.15)

    @pytest.mark.parametrize("mean", [2.0, 4.0, 15.0])
    def test_other_means(self, mean: float) -> None:
        profile = HouseholdProfile(11, mean_daily_kwh=mean)
        kwh = sum(profile.sample(t).active_power_w for t in local_day(DAYS[0])) / 60 / 1000
        assert kwh == pytest.approx(mean, rel=0.15)

    @pytest.mark.parametrize("seed", [0, 5, 9])
    def test_uk_daily_shape(self, seed: int) -> None:
        profile = HouseholdProfile(seed)
        day = date(2024, 7, 15)  # BST: the shape must follow local time, not UTC

        def power(first: int, last: int) -> list[float]:
            return [profile.sample(t).active_power_w for t in local_hours(day, first, last)]

        night, morning, evening = power(2, 4), power(7, 9), power(17, 21)
        assert 150.0 <= sum(night) / len(night) <= 250.0
        assert sum(morning) / len(morning) > 1.5 * sum(night) / len(night)
        assert max(evening) >= 2000.0
        assert sum(evening) / len(evening) > sum(night) / len(night) * 2.5
        assert max(night) < 400.0
        # A fridge cycles: the night is not flat.
        assert max(night) - min(night) > 50.0

    def test_voltage_and_power_factor_ranges(self) -> None:
        samples = [HouseholdProfile(3).sample(t) for t in local_day(DAYS[0])]
        assert all(229.0 <= s.voltage_v <= 241.0 for s in samples)
        assert all(0.9 <= s.power_factor <= 1.0 for s in samples)
        assert max(s.voltage_v for s in samples) - min(s.voltage_v for s in samples) > 1.0

    def test_deterministic_per_seed(self) -> None:
        instants = list(local_day(DAYS[2], timedelta(minutes=13)))
        first = [HouseholdProfile(42).sample(t) for t in instants]
        again = [HouseholdProfile(42).sample(t) for t in reversed(instants)][::-1]
        other = [HouseholdProfile(43).sample(t) for t in instants]
        assert first == again
        assert first != other


class TestHouseholdGasProfile:
    @pytest.mark.parametrize("seed", [0, 1, 2, 3])
    @pytest.mark.parametrize("day", DAYS, ids=str)
    def test_daily_volume_within_15_percent(self, seed: int, day: date) -> None:
        profile = HouseholdGasProfile(seed)
        m3 = sum(profile.sample(t).flow_m3_per_h for t in local_day(day)) / 60
        assert m3 == pytest.approx(3.0, rel=0.15)

    @pytest.mark.parametrize("mean", [0.5, 6.0])
    def test_other_means(self, mean: float) -> None:
        profile = HouseholdGasProfile(4, mean_daily_m3=mean)
        m3 = sum(profile.sample(t).flow_m3_per_h for t in local_day(DAYS[0])) / 60
        assert m3 == pytest.approx(mean, rel=0.15)

    def test_heating_and_hob_shape(self) -> None:
        profile = HouseholdGasProfile(5)
        day = DAYS[0]
        night = [profile.sample(t).flow_m3_per_h for t in local_hours(day, 1, 5)]
        morning = [profile.sample(t).flow_m3_per_h for t in local_hours(day, 6, 8)]
        evening = [profile.sample(t).flow_m3_per_h for t in local_hours(day, 17, 21)]
        assert max(night) == 0.0
        assert sum(morning) > 0 and sum(evening) > 0
        assert min(morning) == 0.0  # the boiler cycles
        # Off, heating, and heating plus hob or hot water: more than two levels in the evening.
        assert len({round(flow, 6) for flow in evening}) >= 3

    def test_deterministic_per_seed(self) -> None:
        instants = list(local_day(DAYS[0], timedelta(minutes=11)))
        assert [HouseholdGasProfile(1).sample(t) for t in instants] == [
            HouseholdGasProfile(1).sample(t) for t in instants
        ]
        assert [HouseholdGasProfile(1).sample(t) for t in instants] != [
            HouseholdGasProfile(2).sample(t) for t in instants
        ]

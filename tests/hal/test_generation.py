"""The emulated PV generation behind the ESME: the daylight curve and the bench's override."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hal.emulated.generation import MAX_GENERATION_W, SolarProfile
from hal.emulated.metrology import ConstantLoad, HouseholdProfile
from hal.ports import ElectricityMetrology, PortError
from tests.hal.test_metrology import local_day

JUNE = date(2026, 6, 21)
DECEMBER = date(2026, 12, 21)


def day_kwh(profile: SolarProfile, day: date) -> float:
    return sum(profile.watts(t) for t in local_day(day)) / 60 / 1000


@pytest.mark.req("16.22.1")
def test_the_sun_rises_peaks_near_noon_and_sets() -> None:
    profile = SolarProfile(4000.0, seed=3)
    for day in (JUNE, DECEMBER):
        watts = {t: profile.watts(t) for t in local_day(day, timedelta(minutes=10))}
        assert all(0.0 <= w <= 4000.0 for w in watts.values())
        assert profile.watts(datetime(day.year, day.month, day.day, 1, 0, tzinfo=UTC)) == 0.0
        assert profile.watts(datetime(day.year, day.month, day.day, 22, 30, tzinfo=UTC)) == 0.0
        brightest = max(watts, key=lambda t: watts[t])
        assert 10 <= brightest.hour <= 14
    # A June day gives several times a December day; a clear June noon is near the peak.
    assert day_kwh(profile, JUNE) > 3 * day_kwh(profile, DECEMBER)
    assert (
        max(
            SolarProfile(4000.0, s).watts(datetime(2026, 6, 21, 12, 6, tzinfo=UTC))
            for s in range(20)
        )
        > 3000.0
    )


def test_the_profile_is_deterministic_per_seed() -> None:
    noon = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
    instants = [noon + timedelta(minutes=m) for m in range(0, 240, 7)]
    first = [SolarProfile(3000.0, 5).watts(t) for t in instants]
    assert first == [SolarProfile(3000.0, 5).watts(t) for t in instants]
    assert first != [SolarProfile(3000.0, 6).watts(t) for t in instants]


@pytest.fixture(params=["constant", "household"])
def electricity(request: pytest.FixtureRequest) -> ElectricityMetrology:
    solar = SolarProfile(3500.0, seed=9)
    if request.param == "constant":
        return ConstantLoad(750.0, voltage_v=238.0, power_factor=0.95, solar=solar)
    return HouseholdProfile(seed=7, solar=solar)


@pytest.mark.req("16.22.1")
def test_the_meter_sees_the_load_less_the_generation(electricity: ElectricityMetrology) -> None:
    noon = datetime(2026, 6, 21, 12, 0, tzinfo=UTC)
    natural = electricity.sample(noon)
    assert natural.generation_w > 0.0
    electricity.set_load(500.0)
    electricity.set_generation(2000.0)
    sample = electricity.sample(noon)
    assert sample.generation_w == 2000.0
    assert sample.active_power_w == -1500.0  # exporting
    assert sample.current_a == pytest.approx(1500.0 / sample.voltage_v / sample.power_factor)
    electricity.set_generation(None)
    electricity.set_load(None)
    assert electricity.sample(noon) == natural


def test_a_generation_beyond_the_rating_is_refused(electricity: ElectricityMetrology) -> None:
    for bad in (-1.0, MAX_GENERATION_W + 1, float("nan")):
        with pytest.raises(PortError):
            electricity.set_generation(bad)
    with pytest.raises(PortError):
        SolarProfile(-5.0)


@settings(max_examples=100, deadline=None)
@given(st.floats(0, 20_000), st.floats(0, 20_000))
def test_load_is_net_power_plus_generation(load: float, generation: float) -> None:
    meter = ConstantLoad(load)
    meter.set_generation(generation)
    sample = meter.sample(datetime(2026, 6, 21, 12, 0, tzinfo=UTC))
    assert sample.active_power_w + sample.generation_w == pytest.approx(load)
    assert sample.generation_w == generation

"""Energy integrator and persisted registers: exact integrals, nothing lost across restarts."""

from __future__ import annotations

import itertools
import tempfile
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.meter.integrator import MICROSECONDS_PER_HOUR, EnergyIntegrator, to_microseconds
from devices.meter.register_store import RegisterStore
from hal.real.sqlite_store import SqliteStore
from protocol.errors import LocalProtocolError

NOW = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)

# Rates up to 23 kW in mW (and far beyond a gas meter's 6e6 ml/h); steps up to an hour in us.
rates = st.integers(min_value=0, max_value=23_000_000)
steps = st.integers(min_value=0, max_value=MICROSECONDS_PER_HOUR)
samples = st.lists(st.tuples(rates, steps), max_size=60)


def integrate(
    pairs: list[tuple[int, int]], register: EnergyIntegrator | None = None
) -> EnergyIntegrator:
    register = register or EnergyIntegrator()
    for rate, elapsed in pairs:
        register.add(rate, elapsed)
    return register


@given(samples)
def test_register_is_the_exact_integral(pairs: list[tuple[int, int]]) -> None:
    register = integrate(pairs)
    exact = sum(Fraction(rate * elapsed, MICROSECONDS_PER_HOUR) for rate, elapsed in pairs)
    assert register.exact == exact
    assert register.units == int(exact)  # whole units only: never energy not yet used
    assert 0 <= register.remainder < MICROSECONDS_PER_HOUR


@given(rates, steps, st.integers(min_value=0, max_value=MICROSECONDS_PER_HOUR))
def test_cutting_a_step_in_two_changes_nothing(rate: int, elapsed: int, cut: int) -> None:
    cut = min(cut, elapsed)
    assert integrate([(rate, elapsed)]) == integrate([(rate, cut), (rate, elapsed - cut)])


@settings(max_examples=30, deadline=None)
@given(samples, st.integers(min_value=0, max_value=60))
def test_a_restart_from_the_store_loses_and_repeats_nothing(
    pairs: list[tuple[int, int]], restart_at: int
) -> None:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "meter.sqlite"
        with SqliteStore(path) as store:
            before = integrate(pairs[:restart_at], RegisterStore(store).load("delivered"))
            with store.transaction() as tx:
                RegisterStore(store).save("delivered", before, NOW, tx)
        with SqliteStore(path) as store:  # the meter powers up again
            after = integrate(pairs[restart_at:], RegisterStore(store).load("delivered"))
    assert after == integrate(pairs)


def test_one_kilowatt_for_an_hour_is_one_kilowatt_hour() -> None:
    register = EnergyIntegrator()
    for _ in range(3600):
        register.add(1_000_000, 1_000_000)  # 1 kW in mW, for 1 s
    assert (register.units, register.remainder) == (1_000_000, 0)  # mWh


def test_the_remainder_carries_below_one_unit() -> None:
    register = EnergyIntegrator()
    assert register.add(1, 1_800_000_000) == 0  # 1 mW for half an hour: half a mWh
    assert register.add(1, 1_800_000_000) == 1
    assert (register.units, register.remainder) == (1, 0)


@pytest.mark.parametrize(("rate", "elapsed"), [(-1, 1), (1, -1)])
def test_a_delivered_register_never_runs_backwards(rate: int, elapsed: int) -> None:
    with pytest.raises(LocalProtocolError):
        EnergyIntegrator().add(rate, elapsed)


@pytest.mark.parametrize(("units", "remainder"), [(-1, 0), (0, -1), (0, MICROSECONDS_PER_HOUR)])
def test_an_impossible_stored_state_is_refused(units: int, remainder: int) -> None:
    with pytest.raises(LocalProtocolError):
        EnergyIntegrator(units, remainder)


@given(st.lists(st.floats(min_value=0, max_value=1e7, allow_nan=False), min_size=2, max_size=30))
def test_clock_readings_in_microseconds_add_up_without_drift(readings: list[float]) -> None:
    ticks = [to_microseconds(r) for r in sorted(readings)]
    elapsed = [b - a for a, b in itertools.pairwise(ticks)]
    assert sum(elapsed) == ticks[-1] - ticks[0]
    assert all(step >= 0 for step in elapsed)

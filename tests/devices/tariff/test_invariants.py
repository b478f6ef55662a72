"""Properties of the tariff engine over random tariffs, CPP events and load (hypothesis)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.meter.tariff import TariffEngine
from protocol.tariff import (
    BlockTariff,
    CppEvent,
    Matrix,
    SingleRate,
    Tariff,
    TimeOfUse,
)
from tests.devices.tariff.strategies import cpp_events, tariffs
from tests.devices.tariff.tariffs import LONDON

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Starts near both clock changes and in plain winter.
STARTS = [
    datetime(2026, 3, 28, 20, tzinfo=UTC),
    datetime(2026, 10, 24, 21, tzinfo=UTC),
    datetime(2026, 1, 30, 22, tzinfo=UTC),
]


@dataclasses.dataclass
class Scenario:
    start: datetime
    tariff: Tariff
    events: list[CppEvent]
    intervals: list[tuple[int, int, int]]
    """(minutes, import Wh per minute, export Wh per minute): uniform load in each interval."""

    def engine(self) -> TariffEngine:
        engine = TariffEngine(LONDON)
        engine.set_passive(self.tariff)
        for event in self.events:
            engine.add_cpp_event(event)
        return engine

    def spans(self) -> list[tuple[datetime, datetime, int, int]]:
        at, out = self.start, []
        for minutes, imp, exp in self.intervals:
            end = at + timedelta(minutes=minutes)
            out.append((at, end, imp * minutes, exp * minutes))
            at = end
        return out


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    start = draw(st.sampled_from(STARTS))
    intervals = draw(
        st.lists(
            st.tuples(st.integers(1, 240), st.integers(0, 60), st.integers(0, 20)),
            min_size=1,
            max_size=40,
        )
    )
    return Scenario(start, draw(tariffs(start)), draw(cpp_events(start)), intervals)


def run(scenario: Scenario) -> TariffEngine:
    engine = scenario.engine()
    for a, b, imp, exp in scenario.spans():
        engine.consume(a, b, imp, exp)
    return engine


@SETTINGS
@given(scenarios())
def test_registers_always_sum_to_the_total_register(scenario: Scenario) -> None:
    regs = run(scenario).registers()
    cpp = sum(sum(record.tier_wh) for record in regs.cpp)
    assert sum(regs.tou_import_wh) + cpp == regs.import_wh
    assert sum(regs.tou_export_wh) == regs.export_wh
    # Before the tariff takes effect, consumption is counted (register 1) but not priced.
    if scenario.tariff.effective_from <= scenario.start:
        if isinstance(scenario.tariff.structure, Matrix):
            assert sum(map(sum, regs.matrix_wh)) == sum(regs.tou_import_wh)
        if isinstance(scenario.tariff.structure, BlockTariff):
            assert sum(regs.block_wh) == sum(regs.tou_import_wh)


@pytest.mark.req("16.13.1.a", "16.16", "16.11.6")
@SETTINGS
@given(scenarios())
def test_cost_is_consumption_times_unit_price_plus_standing_charge(scenario: Scenario) -> None:
    # Priced from the first interval on: before its tariff, consumption is counted, not priced.
    tariff = dataclasses.replace(scenario.tariff, effective_from=scenario.start)
    scenario = dataclasses.replace(scenario, tariff=tariff)
    engine = run(scenario)
    regs = engine.registers()
    structure = scenario.tariff.structure
    energy_cost = 0
    if isinstance(structure, SingleRate | TimeOfUse):
        table = (
            {1: (structure.import_price, structure.export_price)}
            if isinstance(structure, SingleRate)
            else {r.register: (r.import_price, r.export_price) for r in structure.registers}
        )
        for register, (imp, exp) in table.items():
            energy_cost += regs.tou_import_wh[register - 1] * imp.value
            energy_cost += regs.tou_export_wh[register - 1] * exp.value
    elif isinstance(structure, Matrix):
        for rate in structure.rates:
            for tier, price in enumerate(rate.import_prices):
                cell = regs.matrix_wh[rate.rate - 1][tier]
                assert regs.matrix_cost[rate.rate - 1][tier].value == cell * price.value
                energy_cost += cell * price.value
            energy_cost += regs.tou_export_wh[rate.rate - 1] * rate.export_price.value
    else:
        for block, spec in enumerate(structure.blocks):
            assert regs.block_cost[block].value == regs.block_wh[block] * spec.import_price.value
            energy_cost += regs.block_wh[block] * spec.import_price.value
        energy_cost += regs.tou_export_wh[0] * structure.export_price.value
    prices = {e.event_id: e.prices for e in scenario.events}
    for record in regs.cpp:
        first, second = prices[record.event_id]
        cost = record.tier_wh[0] * first.value + record.tier_wh[1] * second.value
        assert record.cost.value == cost
        energy_cost += cost
    energy_cost += regs.gross_generation_wh * scenario.tariff.generation_discount.value
    charge = scenario.tariff.standing_charge
    if charge is not None and charge.amount.value:
        assert regs.standing_charge.value % charge.amount.value == 0
    assert regs.total_cost.value == energy_cost + regs.standing_charge.value


@pytest.mark.req("16.12.1.d", "16.13.1.d")
@SETTINGS
@given(scenarios(), st.data())
def test_splitting_an_interval_gives_the_same_registers(
    scenario: Scenario, data: st.DataObject
) -> None:
    whole = run(scenario)
    index = data.draw(st.integers(0, len(scenario.intervals) - 1))
    minutes, imp, exp = scenario.intervals[index]
    if minutes < 2:
        return
    cut = data.draw(st.integers(1, minutes - 1))
    split = dataclasses.replace(
        scenario,
        intervals=[
            *scenario.intervals[:index],
            (cut, imp, exp),
            (minutes - cut, imp, exp),
            *scenario.intervals[index + 1 :],
        ],
    )
    assert run(split).snapshot() == whole.snapshot()


@SETTINGS
@given(scenarios(), st.data())
def test_snapshot_and_restore_mid_way_gives_identical_results(
    scenario: Scenario, data: st.DataObject
) -> None:
    spans = scenario.spans()
    cut = data.draw(st.integers(0, len(spans)))
    straight, first = scenario.engine(), scenario.engine()
    events_straight, events_restored = [], []
    for a, b, imp, exp in spans[:cut]:
        events_straight += straight.consume(a, b, imp, exp)
        first.consume(a, b, imp, exp)
    saved = json.loads(json.dumps(first.snapshot()))
    restored = TariffEngine(LONDON, saved)
    for a, b, imp, exp in spans[cut:]:
        events_straight += straight.consume(a, b, imp, exp)
        events_restored += restored.consume(a, b, imp, exp)
    assert restored.snapshot() == straight.snapshot()
    assert restored.registers() == straight.registers()
    assert events_restored == events_straight[len(events_straight) - len(events_restored) :]


def _floats(value: object, where: str = "") -> list[str]:
    """Paths to every float inside a value: containers, dataclasses and their fields."""
    if isinstance(value, float):
        return [where]
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _floats(v, f"{where}.{k}")]
    if isinstance(value, list | tuple | set | frozenset):
        return [p for i, v in enumerate(value) for p in _floats(v, f"{where}[{i}]")]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [
            p
            for f in dataclasses.fields(value)
            for p in _floats(getattr(value, f.name), f"{where}.{f.name}")
        ]
    return []


@SETTINGS
@given(scenarios())
def test_no_float_anywhere_in_the_engines_results(scenario: Scenario) -> None:
    engine = scenario.engine()
    results: list[object] = []
    for a, b, imp, exp in scenario.spans():
        results.append(engine.consume(a, b, imp, exp))
        results.append(engine.price_at(b))
    results += [engine.registers(), engine.registers().document(), engine.snapshot()]
    assert _floats(results) == []
    # And the detector itself sees a float hidden in a result.
    assert _floats([{"x": (1, 2.5)}]) == ["[0].x[1]"]

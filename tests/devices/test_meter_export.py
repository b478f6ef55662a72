"""Export and gross generation in the ESME's firmware (16.22), on a manual clock.

The measuring element is the emulated one with its bench generation; the registers are read as
the HAN reads them (the Metering cluster's attributes), the tariff's as the head-end does
(`read_tariff` through the meter's own command dispatch).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from devices.esme.firmware import EsmeFirmware
from devices.meter.export_registers import ExportRegisters, Flows
from devices.meter.integrator import MICROSECONDS_PER_HOUR, EnergyIntegrator
from devices.meter.metering_cluster import ELECTRICITY
from devices.meter.register_store import RegisterStore
from devices.meter.tariff_setup import TariffSetup
from hal.control_socket import ControlError
from hal.emulated.clock import ManualClock
from hal.emulated.metrology import ConstantLoad
from hal.ports import Tx
from hal.real.sqlite_store import SqliteStore, StoreError
from protocol.tariff import tariff_from_json
from tests.boards import electricity_meter_board, identity

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path_factory.mktemp("export") / "meter.sqlite") as opened:
        yield opened


#: One sample: load (mW), gross generation (mW), and how long it is held (us).
samples = st.lists(
    st.tuples(st.integers(0, 23_000_000), st.integers(0, 23_000_000), st.integers(0, 10_000_000)),
    max_size=60,
)


@pytest.mark.req("16.22.1")
@settings(max_examples=200, deadline=None)
@given(samples)
def test_import_less_export_is_load_less_generation_over_any_samples(
    shared_store: SqliteStore, run: list[tuple[int, int, int]]
) -> None:
    """Energy is conserved exactly: import - export = load - generation, generation is the
    gross generation, and neither register ever runs backwards."""
    imported = EnergyIntegrator()
    registers = ExportRegisters(RegisterStore(shared_store), ELECTRICITY)
    registers.exported, registers.generated = EnergyIntegrator(), EnergyIntegrator()
    net = generated = 0
    for load, generation, elapsed in run:
        flows = Flows.of_net(load - generation, generation)
        before = (imported.exact, registers.exported.exact)
        imported.add(flows.imported, elapsed)
        registers.add(flows, elapsed)
        assert imported.exact >= before[0] and registers.exported.exact >= before[1]
        assert flows.imported * flows.exported == 0  # never both at once
        net += (load - generation) * elapsed
        generated += generation * elapsed
    assert imported.exact - registers.exported.exact == Fraction(net, MICROSECONDS_PER_HOUR)
    assert registers.generated.exact == Fraction(generated, MICROSECONDS_PER_HOUR)


def tariff(name: str) -> Any:
    return tariff_from_json((ROOT / "rigs" / "tariffs" / name).read_bytes())


def esme(clock: ManualClock, store: SqliteStore, load_w: float, document: str) -> EsmeFirmware:
    board = electricity_meter_board(clock, store, ConstantLoad(load_w))
    return EsmeFirmware(identity("esme"), board, TariffSetup(tariff(document), 30))


def attribute(meter: EsmeFirmware, name: str) -> int:
    return int(meter.metering_view()["attributes"][name])


@pytest.mark.req("16.22.1", "16.12.1.b")
async def test_generation_above_the_load_is_exported_and_credited(
    store: SqliteStore, started: Any
) -> None:
    """500 W of load under 2.5 kW of PV for half an hour: 1 kWh exported, 1.25 kWh generated,
    nothing imported; the HAN shows the export register and the export ToU register of the
    rate in force, the tariff credits the export at its negative rate."""
    clock = ManualClock(START)
    meter = await started(esme(clock, store, 500, "demo-electricity.json"))
    await clock.run_for(1)
    imported = attribute(meter, "current_summ_delivered")
    meter.metrology.set_generation(2500)
    await clock.run_for(30 * 60)
    assert attribute(meter, "current_summ_delivered") == imported
    assert 999 <= attribute(meter, "current_summ_received") <= 1000
    assert attribute(meter, "instantaneous_demand") == -2000  # W: exporting
    assert 999 <= attribute(meter, "current_tier1_summ_received") <= 1000  # the day rate
    assert attribute(meter, "current_tier2_summ_received") == 0
    registers = meter.tariff.commands.dispatch("read_tariff", {})["registers"]
    assert registers["export_wh"] == attribute(meter, "current_summ_received")
    assert registers["gross_generation_wh"] == meter.export.visible()[1]
    assert 1249 <= registers["gross_generation_wh"] <= 1250
    assert Decimal(registers["export_cost"]) == Decimal("-0.15") * registers["export_wh"] / 1000
    assert any(line.startswith("Export 0.99") for line in meter.display_lines())
    assert any(line.startswith("Gen 1.2") for line in meter.display_lines())


@pytest.mark.req("16.22.3")
async def test_the_generation_discount_is_billed_over_gross_generation(
    store: SqliteStore, started: Any
) -> None:
    """PV below the load: nothing exported, but every Wh generated earns the discount."""
    clock = ManualClock(START)
    meter = await started(esme(clock, store, 3000, "export-generation.json"))
    await clock.run_for(1)
    meter.metrology.set_generation(1000)
    await clock.run_for(60 * 60)
    registers = meter.tariff.commands.dispatch("read_tariff", {})["registers"]
    assert registers["export_wh"] == 0 and attribute(meter, "current_summ_received") == 0
    generated = registers["gross_generation_wh"]
    assert 999 <= generated <= 1000
    discount = Decimal(registers["generation_discount"])
    assert discount == Decimal("-0.0521") * generated / 1000


def saved_registers(meter: EsmeFirmware) -> tuple[int, int, int]:
    """Import (raw), export (Wh) and the tariff's export register (Wh): what `persist` saves."""
    return (
        meter.commodity.raw_summation(meter.register.units),
        meter.export.visible()[0],
        meter.tariff.tariff.registers().export_wh,
    )


@contextmanager
def write_fails(store: SqliteStore, where: tuple[str, str]) -> Iterator[None]:
    """The store fails (an I/O error) at each write of the (namespace, key) `where` within:
    the transaction that wrote it rolls back."""
    real = store.put

    def put(namespace: str, key: str, value: Any, *, tx: Tx | None = None) -> None:
        if (namespace, key) == where:
            raise StoreError("disk I/O error")
        real(namespace, key, value, tx=tx)

    store.put = put  # type: ignore[method-assign]
    try:
        yield
    finally:
        del store.put


@pytest.mark.req("16.22.1")
async def test_a_failed_save_keeps_import_export_and_the_tariffs_export_together(
    store: SqliteStore, started: Any
) -> None:
    """The store fails during one save, then the meter is killed: it comes back with the
    import and export registers and the tariff's export register all from the save before,
    none of them from the failed one."""
    clock = ManualClock(START)
    meter = await started(esme(clock, store, 200, "demo-electricity.json"))
    await clock.run_for(60)  # importing
    meter.metrology.set_generation(3800)
    saves: list[tuple[int, int, int]] = []
    failed: list[tuple[int, int, int]] = []
    fail_next = False
    persist = meter.persist

    def watched() -> None:
        nonlocal fail_next
        if fail_next:
            fail_next = False
            failed.append(saved_registers(meter))
            # The tariff's engine is written last in the save: import and export before it.
            with write_fails(store, ("meter_tariff", "engine")):
                persist()
        persist()
        saves.append(saved_registers(meter))

    meter.persist = watched
    await clock.run_for(10 * 60)  # exporting, saved every sample
    fail_next = True
    await clock.run_for(2)  # the save fails: the metrology task dies with it
    assert failed and not fail_next
    meter._running = False  # a kill: no on_stop, no last save
    for task in list(meter._tasks):
        task.cancel()
    again = await started(esme(clock, store, 200, "demo-electricity.json"))
    assert saved_registers(again) == saves[-1]
    lost_export, lost_tariff_export = failed[0][1:]
    assert lost_export > saves[-1][1] and lost_tariff_export > saves[-1][2]  # what it held
    assert saves[-1][0] > 0 and saves[-1][1] >= 599  # 3.6 kW net export for 10 minutes
    engine = again.tariff.commands.dispatch("read_tariff", {})["registers"]
    assert engine["export_wh"] == saves[-1][2] == attribute(again, "current_summ_received")


async def test_the_bench_generation_is_checked(store: SqliteStore, started: Any) -> None:
    clock = ManualClock(START)
    meter = await started(esme(clock, store, 500, "demo-electricity.json"))
    handler = meter.extra_handlers()["generation"]
    answer = await handler({"cmd": "generation", "watts": 1500})
    assert answer == {"watts": 1500.0, "demand_w": -1000}
    for bad in ({"cmd": "generation"}, {"cmd": "generation", "watts": -1}):
        with pytest.raises(ControlError):
            await handler(bad)
    assert (await handler({"cmd": "generation", "watts": None}))["demand_w"] == 500

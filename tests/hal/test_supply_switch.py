"""Supply switch port: contract for every backend, then persistence, wear-out and journaling."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from hal.emulated.clock import ManualClock
from hal.emulated.supply_switch import EmulatedSupplySwitch
from hal.ports import SupplySwitch, SwitchFailure, SwitchResult, SwitchState, Tx
from hal.real.sqlite_store import SqliteStore

CONNECTED, DISCONNECTED, ARMED = SwitchState.CONNECTED, SwitchState.DISCONNECTED, SwitchState.ARMED


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "esme.db") as opened:
        yield opened


# A GPIO relay backend will join this list; "restarted" is the emulated one rebuilt from its store.
@pytest.fixture(params=["emulated", "emulated-restarted"])
def switch(request: pytest.FixtureRequest, store: SqliteStore) -> SupplySwitch:
    if request.param == "emulated-restarted":
        EmulatedSupplySwitch(store)
    return EmulatedSupplySwitch(store)


class TestSupplySwitchContract:
    async def test_starts_connected(self, switch: SupplySwitch) -> None:
        assert switch.state is CONNECTED
        assert switch.state.supply_on
        assert switch.operation_count == 0

    async def test_disconnect_and_reconnect_count_operations(self, switch: SupplySwitch) -> None:
        off = await switch.operate(DISCONNECTED)
        assert off == SwitchResult(True, CONNECTED, DISCONNECTED, True, 1, None)
        on = await switch.operate(CONNECTED)
        assert on.ok and on.moved and on.state is CONNECTED
        assert switch.operation_count == 2

    async def test_same_state_does_not_move(self, switch: SupplySwitch) -> None:
        result = await switch.operate(CONNECTED)
        assert result.ok and not result.moved
        assert switch.operation_count == 0

    async def test_arming_moves_nothing(self, switch: SupplySwitch) -> None:
        await switch.operate(DISCONNECTED)
        armed = await switch.operate(ARMED)
        assert armed.ok and not armed.moved and switch.state is ARMED
        assert not switch.state.supply_on
        restored = await switch.operate(CONNECTED)
        assert restored.moved and switch.operation_count == 2

    @pytest.mark.req("11.8")
    @pytest.mark.parametrize("start", [CONNECTED, DISCONNECTED, ARMED])
    async def test_fail_to_operate_never_changes_state(
        self, switch: SupplySwitch, start: SwitchState
    ) -> None:
        await switch.operate(start)
        count = switch.operation_count
        switch.inject_failure(SwitchFailure.FAIL_TO_OPERATE)
        opposite = DISCONNECTED if start.supply_on else CONNECTED
        for _ in range(3):
            result = await switch.operate(opposite)
            assert not result.ok and not result.moved
            assert result.failure is SwitchFailure.FAIL_TO_OPERATE
            assert result.state is start
            assert switch.state is start
        assert switch.operation_count == count
        switch.inject_failure(None)
        assert (await switch.operate(opposite)).ok

    @pytest.mark.req("11.8")
    async def test_welded_contacts_only_stop_disconnection(self, switch: SupplySwitch) -> None:
        switch.inject_failure(SwitchFailure.WELDED_CONTACTS)
        result = await switch.operate(DISCONNECTED)
        assert result.failure is SwitchFailure.WELDED_CONTACTS
        assert switch.state is CONNECTED
        switch.inject_failure(None)
        await switch.operate(DISCONNECTED)
        switch.inject_failure(SwitchFailure.WELDED_CONTACTS)
        assert (await switch.operate(CONNECTED)).ok

    async def test_journal_commits_with_the_change(
        self, switch: SupplySwitch, store: SqliteStore
    ) -> None:
        def journal(tx: Tx, result: SwitchResult) -> None:
            store.put("events", "last", [result.previous, result.state, result.ok], tx=tx)

        await switch.operate(DISCONNECTED, journal=journal)
        assert store.get("events", "last") == ["connected", "disconnected", True]

    async def test_failing_journal_leaves_the_switch_alone(
        self, switch: SupplySwitch, store: SqliteStore
    ) -> None:
        def journal(tx: Tx, result: SwitchResult) -> None:
            raise OSError("log full")

        with pytest.raises(OSError):
            await switch.operate(DISCONNECTED, journal=journal)
        assert switch.state is CONNECTED
        assert switch.operation_count == 0
        assert EmulatedSupplySwitch(store).state is CONNECTED


class TestEmulatedSupplySwitch:
    @pytest.mark.req("5.1.6")
    async def test_state_count_and_fault_survive_restart(self, tmp_path: Path) -> None:
        path = tmp_path / "gsme.db"
        with SqliteStore(path) as store:
            valve = EmulatedSupplySwitch(store, namespace="valve")
            await valve.operate(DISCONNECTED)
            await valve.operate(ARMED)
            valve.inject_failure(SwitchFailure.FAIL_TO_OPERATE)
        with SqliteStore(path) as store:
            valve = EmulatedSupplySwitch(store, namespace="valve", initial=CONNECTED)
            assert valve.state is ARMED
            assert valve.operation_count == 1
            assert valve.injected_failure is SwitchFailure.FAIL_TO_OPERATE

    @pytest.mark.req("11.6.a")
    async def test_ten_thousand_operations_then_wear_out(self, store: SqliteStore) -> None:
        contactor = EmulatedSupplySwitch(store, rated_operations=10_000)
        for n in range(5_000):
            assert (await contactor.operate(DISCONNECTED)).ok, n
            assert (await contactor.operate(CONNECTED)).ok, n
        assert contactor.operation_count == 10_000
        worn = await contactor.operate(DISCONNECTED)
        assert worn.failure is SwitchFailure.WORN_OUT
        assert contactor.state is CONNECTED

    async def test_actuation_takes_clock_time(self, store: SqliteStore) -> None:
        clock = ManualClock()
        contactor = EmulatedSupplySwitch(store, clock=clock, actuation_s=0.2)
        operation = asyncio.create_task(contactor.operate(DISCONNECTED))
        await asyncio.sleep(0)  # yield one turn: the operation starts, then waits on the clock
        assert not operation.done() and contactor.state is CONNECTED
        await clock.run_for(0.2)
        assert (await operation).ok
        assert contactor.state is DISCONNECTED

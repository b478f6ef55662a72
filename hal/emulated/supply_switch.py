"""Emulated supply switch: the ESME's load contactor or the GSME's valve (section 11).

The mechanism's position, its lifetime operation count and any injected fault are hardware facts,
so they live in the component's non-volatile store and survive a restart: a meter that was
disconnected before a power cut is still disconnected after it (clause 11.8: no unintended
restoration).

Faults are injected from the bench (clauses 11.6.a, 11.6.b, 11.7): a failed operation reports
the failure and leaves the position unchanged, which is what the firmware turns into a
'Disconnector failure' (B.5.14) or 'Valve alarm' (B.2.8) event. With `rated_operations` set, the
mechanism wears out after that many operations (clause 11.6.a asks for at least 10,000).

Only a change between supply on and supply off moves the mechanism and counts as an operation;
DISCONNECTED <-> ARMED is a change of what the firmware will allow next, not of the contacts.
"""

from __future__ import annotations

import asyncio

from hal.ports import (
    Clock,
    NonVolatileStore,
    SwitchFailure,
    SwitchJournal,
    SwitchResult,
    SwitchState,
)

__all__ = ["EmulatedSupplySwitch"]


class EmulatedSupplySwitch:
    """`hal.ports.SupplySwitch` whose position is persisted in `store` under `namespace`."""

    def __init__(
        self,
        store: NonVolatileStore,
        *,
        namespace: str = "supply_switch",
        initial: SwitchState = SwitchState.CONNECTED,
        rated_operations: int | None = None,
        clock: Clock | None = None,
        actuation_s: float = 0.0,
    ) -> None:
        self._store = store
        self._ns = namespace
        self._rated = rated_operations
        self._clock = clock
        self._actuation_s = actuation_s
        self._busy = asyncio.Lock()
        with store.transaction() as tx:
            stored = store.get(namespace, "state", tx=tx)
            if stored is None:
                store.put(namespace, "state", initial.value, tx=tx)
                store.put(namespace, "operation_count", 0, tx=tx)
                store.put(namespace, "failure", None, tx=tx)
                stored = initial.value
            self._state = SwitchState(stored)
            self._count = int(store.get(namespace, "operation_count", 0, tx=tx))
            failure = store.get(namespace, "failure", tx=tx)
            self._failure = None if failure is None else SwitchFailure(failure)

    @property
    def state(self) -> SwitchState:
        return self._state

    @property
    def operation_count(self) -> int:
        return self._count

    @property
    def injected_failure(self) -> SwitchFailure | None:
        return self._failure

    def inject_failure(self, kind: SwitchFailure | None) -> None:
        """Make the mechanism fail (or, with None, repair it) from now on, across restarts."""
        self._store.put(self._ns, "failure", None if kind is None else kind.value)
        self._failure = kind

    async def operate(
        self, target: SwitchState, *, journal: SwitchJournal | None = None
    ) -> SwitchResult:
        """Drive the mechanism to `target`.

        `journal` runs inside the transaction that stores the outcome, so the event that records
        the change (clause 11.10) commits with it or not at all. If it raises, nothing changes.
        """
        async with self._busy:
            previous = self._state
            moves = previous.supply_on != target.supply_on
            failure = self._blocking_failure(target) if moves else None
            if moves and failure is None and self._clock is not None and self._actuation_s > 0:
                await self._clock.sleep(self._actuation_s)
            ok = failure is None
            count = self._count + (1 if moves and ok else 0)
            result = SwitchResult(
                ok=ok,
                previous=previous,
                state=target if ok else previous,
                moved=moves and ok,
                operation_count=count,
                failure=failure,
            )
            with self._store.transaction() as tx:
                if result.moved or result.state != previous:
                    self._store.put(self._ns, "state", result.state.value, tx=tx)
                    self._store.put(self._ns, "operation_count", count, tx=tx)
                if journal is not None:
                    journal(tx, result)
            self._state = result.state
            self._count = count
            return result

    def _blocking_failure(self, target: SwitchState) -> SwitchFailure | None:
        if self._failure in (SwitchFailure.FAIL_TO_OPERATE, SwitchFailure.WORN_OUT):
            return self._failure
        if self._rated is not None and self._count >= self._rated:
            return SwitchFailure.WORN_OUT
        if self._failure is SwitchFailure.WELDED_CONTACTS and not target.supply_on:
            return SwitchFailure.WELDED_CONTACTS
        return None

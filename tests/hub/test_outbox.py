"""The hub's durable outbox (hub/outbox.py) against a real head-end store through an in-memory
link: every message kept once, in order per source, whatever is lost; retries on the hub's
clock with the configured timing and count (clauses 19.1.6, 19.1.7, 18.6)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hub.outbox import QUIET_S, Outbox, RetryPolicy
from protocol.wan import UplinkKind
from tests.hub.loopback_wan import LoopbackWan

pytestmark = pytest.mark.timeout(60)


@dataclass
class Rig:
    store: SqliteStore
    wan: LoopbackWan
    clock: ManualClock
    outbox: Outbox
    policy: list[RetryPolicy]


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    store = SqliteStore(tmp_path / "hub.sqlite")
    wan = LoopbackWan(tmp_path / "headend.sqlite")
    clock = ManualClock()
    policy = [RetryPolicy(interval_s=60, count=0)]
    outbox = Outbox(store, wan, clock, lambda: policy[0])
    await wan.start(lambda command: asyncio.sleep(0), on_uplink_ack=outbox.on_ack)
    task = asyncio.get_running_loop().create_task(outbox.run())
    yield Rig(store, wan, clock, outbox, policy)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await wan.stop()
    store.close()


async def settle(rig: Rig, seconds: float = 0.0) -> None:
    await rig.clock.run_for(seconds, settle_turns=20)


@pytest.mark.req("19.1.6")
@pytest.mark.parametrize("seed", range(6))
async def test_every_message_is_kept_once_in_order_whatever_is_lost(rig: Rig, seed: int) -> None:
    rig.wan.loss = 0.3
    rig.wan._random.seed(seed)
    for n in range(40):
        rig.outbox.enqueue("hub" if n % 3 else "esme", UplinkKind.READING, {"n": n})
    for _ in range(200):
        if not rig.outbox.pending_count():
            break
        await settle(rig, 61)
    assert rig.outbox.pending_count() == 0
    hub, esme = rig.wan.kept("hub"), rig.wan.kept("esme")
    assert hub == list(range(1, len(hub) + 1)) and esme == list(range(1, len(esme) + 1))
    assert len(hub) + len(esme) == 40
    bodies = [u["body"]["n"] for u in rig.wan.headend.uplinks("hub-t", "hub")]
    assert bodies == [n for n in range(40) if n % 3], "in the order they were put in"
    assert len(rig.wan.sent) > 40, "losses were made good by retries"


@pytest.mark.req("19.1.7")
async def test_retries_follow_the_configured_interval_and_count(rig: Rig) -> None:
    rig.policy[0] = RetryPolicy(interval_s=60, count=2)
    rig.wan.lose_acks = True  # the head-end keeps it, but no ack ever reaches the hub
    rig.outbox.enqueue("hub", UplinkKind.ALERT, {"n": 1})
    await settle(rig)
    assert len(rig.wan.sent) == 1
    await settle(rig, 59)
    assert len(rig.wan.sent) == 1, "not before the interval"
    await settle(rig, 1)
    assert len(rig.wan.sent) == 2, "first retry after 60 s"
    await settle(rig, 60)
    assert len(rig.wan.sent) == 3, "second retry"
    await settle(rig, 600)
    assert len(rig.wan.sent) == 3, "resting after the configured count"
    rig.outbox.release()  # the next scheduled exchange
    await settle(rig)
    assert len(rig.wan.sent) == 4
    assert rig.wan.kept("hub") == [1], "kept once, however often it came"


@pytest.mark.req("19.1.7")
async def test_the_hub_retries_continuously_by_default(rig: Rig) -> None:
    rig.wan.lose_acks = True
    rig.outbox.enqueue("hub", UplinkKind.ALERT, {"n": 1})
    await settle(rig, 60 * 30 + 1)
    assert len(rig.wan.sent) == 31


@pytest.mark.req("19.1.6")
async def test_a_backlog_from_an_outage_and_a_restart_goes_up_in_order(
    rig: Rig, tmp_path: Path
) -> None:
    rig.wan.connected = False
    for n in range(100):
        rig.outbox.enqueue("hub", UplinkKind.EVENT, {"n": n})
    await settle(rig, 3600)
    assert rig.wan.sent == []
    # The hub restarts: a new outbox on the same store carries on the numbering.
    again = Outbox(rig.store, rig.wan, rig.clock, lambda: rig.policy[0])
    assert again.enqueue("hub", UplinkKind.EVENT, {"n": 100}).seq == 101
    rig.wan.connected = True
    await settle(rig, 2)
    assert rig.wan.kept("hub") == list(range(1, 102))
    assert rig.outbox.pending_count() == 0


@pytest.mark.req("18.8")
async def test_held_messages_join_the_outbox_at_the_next_exchange_in_order(rig: Rig) -> None:
    rig.outbox.hold("hub", UplinkKind.EVENT, {"n": 1})
    rig.outbox.enqueue("hub", UplinkKind.ALERT, {"n": 2})
    rig.outbox.hold("hub", UplinkKind.EVENT, {"n": 3})
    await settle(rig, 1)
    assert [u["body"]["n"] for u in rig.wan.headend.uplinks("hub-t")] == [2]
    assert rig.outbox.held_count() == 2
    assert rig.outbox.release() == 2
    await settle(rig, 1)
    assert [u["body"]["n"] for u in rig.wan.headend.uplinks("hub-t")] == [2, 1, 3]
    assert rig.outbox.held_count() == 0


@pytest.mark.req("19.1.6")
async def test_a_hub_with_a_new_store_numbers_on_from_the_head_ends_mark(
    rig: Rig, tmp_path: Path
) -> None:
    """The head-end already holds 1..5 of this hub's stream from its previous store: the new
    store's messages are numbered on from 6, none dropped as a repeat."""
    for n in range(5):
        rig.outbox.enqueue("hub", UplinkKind.EVENT, {"old": n})
    await settle(rig, 1)
    assert rig.wan.kept("hub") == [1, 2, 3, 4, 5]
    fresh = SqliteStore(tmp_path / "replaced.sqlite")
    outbox = Outbox(fresh, rig.wan, rig.clock, lambda: rig.policy[0])
    await rig.wan.start(lambda command: asyncio.sleep(0), on_uplink_ack=outbox.on_ack)
    task = asyncio.get_running_loop().create_task(outbox.run())
    try:
        for n in range(3):
            outbox.enqueue("hub", UplinkKind.EVENT, {"new": n})
        await settle(rig, 61)
        assert rig.wan.kept("hub") == [1, 2, 3, 4, 5, 6, 7, 8]
        bodies = [u["body"] for u in rig.wan.headend.uplinks("hub-t", "hub")]
        assert bodies[5:] == [{"new": 0}, {"new": 1}, {"new": 2}]
        assert outbox.pending_count() == 0
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        fresh.close()


async def test_an_outbox_with_everything_acknowledged_waits_for_a_message(rig: Rig) -> None:
    """Idle, it does not look at the link every second; a message put in still goes at once."""
    rounds: list[int] = []
    sources = rig.outbox._sources

    def counted() -> list[str]:
        rounds.append(1)
        return sources()

    rig.outbox._sources = counted  # type: ignore[method-assign]
    rig.outbox.enqueue("hub", UplinkKind.READING, {"n": 1})
    await settle(rig)
    assert rig.outbox.pending_count() == 0
    looked = len(rounds)
    await settle(rig, QUIET_S - 1)
    assert len(rounds) == looked, "no send round while everything is acknowledged"
    rig.outbox.enqueue("hub", UplinkKind.READING, {"n": 2})
    await settle(rig)  # no clock time passes
    assert rig.wan.kept("hub") == [1, 2]

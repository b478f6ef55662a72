"""A simulated week of WAN outage on the accelerated clock: the hub keeps logging events and
pushing readings on its schedules; when the broker is back, the head-end (a real process, on a
real mosquitto) receives every message exactly once and in order per source (clauses 6.1.3,
12.7.2, 18.6, 19.1.6, 19.1.7)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from firmware.rig import BrokerKind, load_rig
from hal.emulated.clock import SimulatedClock
from protocol.event_codes import EventCode
from tests.integration.wan_delivery import (
    DeliveryHub,
    headend_rows,
    in_order_once,
    sealed_rig,
    start_headend,
)
from tests.ports import reserve_port
from tests.rig_files import demo_rig_copy
from tests.waiting import eventually, wait_until
from tools.broker import BrokerSpec, start_broker, stop_broker
from tools.headend import client

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]
HOST = "127.0.0.1"
SCALE = 60_000.0  # a simulated hour in 60 ms, a week in about 10 s
HOUR = 3600.0
WEEK_HOURS = 7 * 24


@pytest.mark.req("19.1.6", "19.1.7", "18.6", "6.1.3")
async def test_a_week_of_wan_outage_is_delivered_once_and_in_order(tmp_path: Path) -> None:
    rig = sealed_rig(load_rig(demo_rig_copy(tmp_path)), "hub-w")  # every payload sealed
    port = reserve_port()
    spec = BrokerSpec(BrokerKind.MOSQUITTO, HOST, port, tmp_path / "broker")
    broker = start_broker(spec)
    headend_dir = tmp_path / "headend"
    headend = start_headend(headend_dir, port, "hub-w", ["esme"], rig.keys_dir)
    clock = SimulatedClock(datetime(2026, 3, 1, tzinfo=UTC), time.time(), SCALE)
    hub = DeliveryHub(tmp_path / "hub.sqlite", port, "hub-w", clock, [rig.devices["esme"]], rig)
    try:
        await asyncio.to_thread(client.wait_ready, headend_dir / "headend.sock", 20)
        hub.config.set("outbox.retry_interval_s", 2 * SCALE, by="local")  # 2 s of real time
        hub.config.set("exchange.interval_s", 6 * HOUR, by="local")
        hub.config.set("push.esme.interval_s", HOUR, by="local")
        await hub.start()
        hub.events.record(EventCode.POWER_UP, {"component": "hub"})
        await eventually(lambda: hub.outbox.pending_count() == 0, 20, "the first messages acked")

        stop_broker(broker)  # the WAN goes down for a week of the hub's time
        await eventually(lambda: not hub.link.connected, 10, "the hub sees the WAN gone")
        outage_start = clock.now()
        for hour in range(WEEK_HOURS):
            await clock.sleep(HOUR)
            # Alternately an event sent at once and one held for the next exchange.
            code = EventCode.COMMUNICATION_ERROR_WAN if hour % 2 else EventCode.DST_ENABLED
            hub.events.record(code, {"hour": hour})
        assert (clock.now() - outage_start).days >= 7
        backlog = hub.outbox.pending_count()
        assert backlog > WEEK_HOURS, "a week of readings and events waits in the outbox"

        broker = start_broker(spec)
        await eventually(
            lambda: hub.outbox.pending_count() == 0 and hub.outbox.held_count() == 0,
            40,
            "the whole backlog acknowledged by the head-end",
        )
        uplinks = headend_rows(
            headend_dir, "SELECT source, seq FROM uplinks WHERE hub_id='hub-w' ORDER BY id"
        )
        assert in_order_once(uplinks)
        with hub.store.transaction() as tx:
            streams = dict(tx.execute("SELECT source, last_seq FROM outbox_streams").fetchall())
        kept = {s: max(q for src, q in uplinks if src == s) for s, _ in uplinks}
        assert kept == streams, "the head-end holds every message the hub numbered"
        # Every event the hub logged to send (at once or at the next exchange) arrived once.
        logged = {r.seq for r in hub.events.log.since(0)}
        arrived = headend_rows(headend_dir, "SELECT seq FROM events WHERE hub_id='hub-w'")
        assert sorted(seq for (seq,) in arrived) == sorted(logged)
        readings = headend_rows(
            headend_dir, "SELECT COUNT(*) FROM readings WHERE device='esme' AND kind='reading'"
        )
        assert readings[0][0] >= WEEK_HOURS - 1, "an hourly push through the whole week"
    finally:
        await hub.stop()
        headend.terminate()
        wait_until(lambda: headend.poll() is not None, 10, "the head-end stopped")
        stop_broker(broker)

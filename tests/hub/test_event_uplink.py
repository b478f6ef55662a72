"""The hub's events reach the head-end in order, including those logged while the WAN was down
and the hub's own Power up, logged before its WAN link is up (clause 18.6; issue 7). A real
MQTT link on mosquitto, stopped and started again; a bare paho client plays the head-end."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from firmware.event_log import EventLog
from firmware.rig import BrokerKind
from hal.emulated.clock import ManualClock
from hal.real.clock import SystemClock
from hal.real.mqtt_wan import MqttWanLink
from hal.real.sqlite_store import SqliteStore
from hub.event_uplink import EventUplink
from protocol.event_codes import EventCode
from protocol.wan import event_from_json
from tests.hal.test_mqtt_wan import FakeHub, Probe
from tests.ports import reserve_port
from tests.waiting import eventually
from tools.broker import BrokerSpec, start_broker, stop_broker

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]
HOST = "127.0.0.1"


@pytest.mark.req("18.6")
async def test_events_logged_while_the_wan_is_down_go_up_in_order_when_it_is_back(
    tmp_path: Path,
) -> None:
    port = reserve_port()
    spec = BrokerSpec(BrokerKind.MOSQUITTO, HOST, port, tmp_path / "broker")
    with SqliteStore(tmp_path / "hub.sqlite") as store:
        log = EventLog(store, ManualClock(), "hub")
        log.record(EventCode.POWER_UP)  # before the link exists, as the hub does at start
        log.record(EventCode.COMMUNICATION_ERROR_HAN, {"detail": "before the WAN is up"})
        broker = start_broker(spec)
        probe = Probe(port, "smartmeter/v1/hub-u/event")  # the head-end, listening first
        wan = MqttWanLink(HOST, port, "hub-u", connect_wait_s=0.1)
        uplink = EventUplink(log, store, wan, SystemClock())
        runner = asyncio.get_running_loop().create_task(uplink.run())
        await wan.start(FakeHub())
        try:
            await eventually(lambda: uplink.sent_seq == 2, 15, "both events taken by the broker")
            stop_broker(broker)  # the WAN goes down again
            await eventually(lambda: not wan.connected, 10, "the hub sees the WAN gone")
            log.record(EventCode.COMMUNICATION_OK_HAN, {"detail": "also while down"})
            uplink.poke()
            broker = start_broker(spec)
            await eventually(lambda: uplink.sent_seq == 3, 30, "the third event after the outage")
            received = [event_from_json(payload) for _topic, payload in await probe.collect(2)]
            assert [(e.seq, e.code, e.source) for e in received[:2]] == [
                (1, EventCode.POWER_UP, "hub"),
                (2, EventCode.COMMUNICATION_ERROR_HAN, "hub"),
            ]
        finally:
            runner.cancel()
            probe.close()
            await wan.stop()
            stop_broker(broker)

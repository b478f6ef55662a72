"""The WAN port's contract (`hal.wan.WanLink`), run against its backend on each broker a rig can
start: mosquitto and the embedded amqtt broker. The far end is a bare paho client playing the
head-end (`Probe`)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hal.real.mqtt_wan import MqttWanLink
from hal.wan import WanLink
from protocol.event_codes import EventCode
from protocol.event_report import EventReport
from protocol.wan import (
    AckStatus,
    CommandAck,
    CommandType,
    HubState,
    HubStatus,
    UplinkAck,
    UplinkKind,
    UplinkMessage,
    WanCommand,
    request_id,
)
from tests.hal.test_mqtt_wan import HOST, FakeHub, Probe, result_of
from tests.ports import reserve_port
from tests.waiting import eventually
from tools.broker import BrokerSpec, start_broker, stop_broker

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(params=["mosquitto", "embedded"])
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[int]:
    spec = BrokerSpec(request.param, HOST, reserve_port(), tmp_path / "broker")
    process = start_broker(spec)
    yield spec.port
    stop_broker(process)


@pytest.fixture
async def wan(broker: int) -> AsyncIterator[tuple[WanLink, FakeHub, Probe]]:
    probe = Probe(broker, "smartmeter/v1/hub-c/#")
    hub = FakeHub()
    link = MqttWanLink(HOST, broker, "hub-c")
    await hub.start(link)
    yield link, hub, probe
    await link.stop()
    await hub.stop()
    probe.close()


class TestWanLinkContract:
    async def test_it_comes_up_and_says_so(self, wan: tuple[WanLink, FakeHub, Probe]) -> None:
        link, _hub, probe = wan
        assert isinstance(link, WanLink) and link.connected
        topic, payload = await probe.next()
        assert topic == "smartmeter/v1/hub-c/status"
        assert HubStatus.from_json(payload).state is HubState.ONLINE

    async def test_a_command_is_acknowledged_handled_and_answered(
        self, wan: tuple[WanLink, FakeHub, Probe]
    ) -> None:
        _link, hub, probe = wan
        await probe.next()  # the online status
        command = WanCommand(
            request_id(secrets.token_bytes(16)), CommandType.READ, "esme", datetime.now(UTC)
        )
        probe.send("smartmeter/v1/hub-c/cmd", command.to_json())
        received = dict(await probe.collect(3))  # the probe hears its own command too
        ack = CommandAck.from_json(received["smartmeter/v1/hub-c/ack"])
        result = result_of(received["smartmeter/v1/hub-c/uplink"])
        assert (ack.id, ack.status) == (command.id, AckStatus.ACCEPTED)
        assert result.id == command.id and result.ok and hub.calls == [command]

    async def test_events_go_up_in_the_one_event_shape(
        self, wan: tuple[WanLink, FakeHub, Probe]
    ) -> None:
        link, _hub, probe = wan
        await probe.next()
        event = EventReport.of(EventCode.POWER_UP, seq=1, utc=datetime.now(UTC), source="hub")
        message = UplinkMessage("hub", 1, UplinkKind.ALERT, event.utc, event.to_dict())
        await link.publish_uplink(message)
        topic, payload = await probe.next()
        assert topic == "smartmeter/v1/hub-c/uplink"
        assert UplinkMessage.from_json(payload).event() == event

    async def test_uplink_acks_reach_the_hub(self, wan: tuple[WanLink, FakeHub, Probe]) -> None:
        _link, hub, probe = wan
        await probe.next()
        assert hub.outbox is not None
        hub.outbox.enqueue("hub", UplinkKind.READING, {"device": "esme"})
        _topic, payload = await probe.next()
        assert UplinkMessage.from_json(payload).seq == 1
        probe.send("smartmeter/v1/hub-c/uplink_ack", UplinkAck("hub", 1).to_json())
        await eventually(lambda: hub.outbox is not None and not hub.outbox.pending(), 5, "acked")

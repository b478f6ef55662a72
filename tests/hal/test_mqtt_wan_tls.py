"""The hub's MQTT link over a secured broker (17.2.14) and over its bearer (6.1.6): on mosquitto
and the embedded broker, with certificates from the rig's CA; a detached modem takes the link
down as a lost WAN would (the broker publishes the hub's last will) and it comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from firmware.rig import HEADEND_IDENTITY, BrokerKind
from hal.emulated.modem import EmulatedModem
from hal.real.mqtt_wan import MqttVersion, MqttWanLink
from protocol.wan import AckStatus, CommandAck, HubState, HubStatus
from tests.hal.test_mqtt_wan import FakeHub, read_command
from tests.tls_clients import HOST, Client, SecureBroker
from tests.waiting import eventually
from tools.broker import hub_topics

pytestmark = pytest.mark.timeout(90)

GRANTS = {"hub-t": (hub_topics("hub-t"),), HEADEND_IDENTITY: (hub_topics("hub-t"),)}


@pytest.fixture(params=[BrokerKind.MOSQUITTO, BrokerKind.EMBEDDED], ids=lambda k: k.value)
def broker(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SecureBroker]:
    secured = SecureBroker.start(request.param, tmp_path, GRANTS)
    yield secured
    secured.stop()


@pytest.fixture
def headend(broker: SecureBroker) -> Iterator[Client]:
    client = Client(broker.port, broker.tls(HEADEND_IDENTITY))
    assert client.connect()
    client.subscribe(hub_topics("hub-t"))
    yield client
    client.close()


@pytest.fixture
async def modem_link(broker: SecureBroker) -> AsyncIterator[tuple[MqttWanLink, EmulatedModem]]:
    modem = EmulatedModem("smartmeter.m2m")
    link = MqttWanLink(HOST, broker.port, "hub-t", tls=broker.tls("hub-t"), bearer=modem)
    hub = FakeHub()
    await hub.start(link)
    yield link, modem
    await link.stop()
    await hub.stop()


def statuses(client: Client) -> list[HubState]:
    seen = []
    while not client.messages.empty():
        name, payload = client.messages.get_nowait()
        if name.endswith("/status") and payload:
            seen.append(HubStatus.from_json(payload).state)
    return seen


@pytest.mark.req("17.2.14", "6.1.6")
async def test_the_hub_answers_commands_over_tls(
    modem_link: tuple[MqttWanLink, EmulatedModem], headend: Client
) -> None:
    link, _ = modem_link
    assert link.connected
    command = read_command()
    await asyncio.to_thread(headend.publish, "smartmeter/v1/hub-t/cmd", command.to_json())
    seen = await asyncio.to_thread(headend.wait_for, "smartmeter/v1/hub-t/ack")
    [ack] = [CommandAck.from_json(p) for n, p in seen if n.endswith("/ack")]
    assert (ack.id, ack.status) == (command.id, AckStatus.ACCEPTED)


@pytest.mark.req("6.1.6")
async def test_a_detached_modem_is_a_lost_wan_until_it_attaches(
    modem_link: tuple[MqttWanLink, EmulatedModem], headend: Client
) -> None:
    link, modem = modem_link
    await eventually(lambda: HubState.ONLINE in statuses(headend), 10, "hub online")
    modem.set(registration=3)  # denied
    assert not link.connected
    # No DISCONNECT was sent: the broker publishes the hub's last will, as for a lost WAN.
    await eventually(lambda: HubState.OFFLINE in statuses(headend), 30, "the hub's last will")
    modem.set(registration=1)
    assert await link.wait_connected(30)
    await eventually(lambda: HubState.ONLINE in statuses(headend), 10, "hub online again")


@pytest.mark.req("6.1.6")
async def test_a_hub_whose_modem_starts_detached_connects_once_it_attaches(
    broker: SecureBroker,
) -> None:
    modem = EmulatedModem("apn")
    modem.set(sim_present=False)
    link = MqttWanLink(HOST, broker.port, "hub-t", tls=broker.tls("hub-t"), bearer=modem)
    hub = FakeHub()
    await hub.start(link)
    try:
        assert not link.connected
        modem.set(sim_present=True)
        assert await link.wait_connected(30)
    finally:
        await link.stop()
        await hub.stop()


@pytest.mark.req("17.2.14")
@pytest.mark.parametrize("version", list(MqttVersion), ids=lambda v: v.name)
async def test_both_mqtt_versions_connect_over_tls(tmp_path: Path, version: MqttVersion) -> None:
    """Any MQTT 3.1.1/5 broker: mosquitto speaks both (the embedded one 3.1.1 only)."""
    secured = SecureBroker.start(BrokerKind.MOSQUITTO, tmp_path, GRANTS)
    link = MqttWanLink(HOST, secured.port, "hub-t", tls=secured.tls("hub-t"), version=version)
    hub = FakeHub()
    try:
        await hub.start(link)
        assert link.connected
    finally:
        await link.stop()
        await hub.stop()
        secured.stop()

"""The hub's MQTT WAN link (hal/emulated/mqtt_wan.py) against a real mosquitto.

The far end is a bare paho client playing the head-end, and mosquitto_sub/mosquitto_pub as an
independent oracle for retained status, last will and queued commands.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import secrets
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from firmware.rig import BrokerKind
from firmware.wiring import build_wan
from hal.real.clock import SystemClock
from hal.real.mqtt_wan import MqttVersion, MqttWanLink
from hal.wan import WanLink
from protocol.errors import ConfigError, SmartMeterError
from protocol.wan import (
    COMMAND_MAX_BYTES,
    AckStatus,
    CommandAck,
    CommandResult,
    CommandType,
    HubState,
    HubStatus,
    UplinkKind,
    UplinkMessage,
    WanCommand,
    request_id,
)
from tests.hub.wan_hub import WanHub
from tests.ports import reserve_port
from tests.programs import require_program
from tests.waiting import eventually, wait_until
from tools.broker import BrokerSpec, start_broker, stop_broker

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"


def mosquitto(tmp_path: Path, port: int) -> subprocess.Popen[bytes]:
    require_program("mosquitto")
    return start_broker(BrokerSpec(BrokerKind.MOSQUITTO, HOST, port, tmp_path))


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[int]:
    """A fresh mosquitto on a reserved port; yields the port."""
    port = reserve_port()
    process = mosquitto(tmp_path / "broker", port)
    yield port
    stop_broker(process)


class Probe:
    """A bare paho client playing the head-end: publishes commands, collects what hubs send."""

    def __init__(self, port: int, *filters: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"probe-{time.monotonic_ns()}"
        )
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
        self.client.connect(HOST, port)
        self.client.loop_start()
        self.client.subscribe([(name, 1) for name in filters])
        assert subscribed.wait(5), "probe not subscribed"

    def send(self, name: str, payload: bytes) -> None:
        self.client.publish(name, payload, qos=1).wait_for_publish(5)

    async def next(self, timeout: float = 5.0) -> tuple[str, bytes]:
        # Polled rather than run in an executor thread, which would outlive the test.
        return await eventually(
            self.messages.get_nowait, timeout, "a message to the probe", ignore=(queue.Empty,)
        )

    async def collect(self, count: int, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        return [await self.next(timeout) for _ in range(count)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def probe(broker: int) -> Iterator[Probe]:
    p = Probe(
        broker, "smartmeter/v1/hub-1/ack", "smartmeter/v1/hub-1/uplink", "smartmeter/v1/hub-1/event"
    )
    yield p
    p.close()


class FakeHub(WanHub):
    """A hub's journal and outbox in front of a HAN recording its calls; answers with fake
    registers."""

    def __init__(self, error: SmartMeterError | None = None) -> None:
        super().__init__(self._execute_read)
        self.calls: list[WanCommand] = []
        self.error = error

    async def _execute_read(self, command: WanCommand) -> dict[str, Any]:
        self.calls.append(command)
        if self.error is not None:
            raise self.error
        return {"registers": {"CurrentSummationDelivered": {"value": "1234.567", "unit": "kWh"}}}


def result_of(payload: bytes) -> CommandResult:
    """The command result an outbox message carries."""
    return UplinkMessage.from_json(payload).result()


#: The `link` fixture: hub-1's started WAN link and the handler it calls.
HubLink = tuple[MqttWanLink, FakeHub]


def read_command(device: str = "esme") -> WanCommand:
    return WanCommand(
        request_id(secrets.token_bytes(16)), CommandType.READ, device, datetime.now(UTC)
    )


@pytest.fixture
async def link(broker: int) -> AsyncIterator[HubLink]:
    hub = FakeHub()
    wan = MqttWanLink(HOST, broker, "hub-1")
    await hub.start(wan)
    assert wan.connected
    yield wan, hub
    await wan.stop()
    await hub.stop()


def oracle_sub(port: int, name: str, wait_s: int = 3) -> bytes:
    """One message from `name` (the retained one if any), as mosquitto_sub sees it."""
    out = subprocess.run(
        [
            require_program("mosquitto_sub"),
            "-h",
            HOST,
            "-p",
            str(port),
            "-t",
            name,
            "-C",
            "1",
            "-W",
            str(wait_s),
        ],
        capture_output=True,
        timeout=wait_s + 5,
    )
    return out.stdout.strip()


@pytest.mark.req("19.1.6")
async def test_command_is_acked_executed_and_answered(link: HubLink, probe: Probe) -> None:
    _, hub = link
    command = read_command()
    probe.send("smartmeter/v1/hub-1/cmd", command.to_json())
    (t1, ack), (t2, result) = await probe.collect(2)
    assert (t1, CommandAck.from_json(ack)) == (
        "smartmeter/v1/hub-1/ack",
        CommandAck(command.id, AckStatus.ACCEPTED),
    )
    answer = result_of(result)
    assert t2 == "smartmeter/v1/hub-1/uplink"
    assert answer.ok and answer.id == command.id
    assert answer.data is not None, "an ok result carries the handler's answer"
    assert answer.data["registers"]["CurrentSummationDelivered"]["value"] == "1234.567"
    assert hub.calls == [command]


async def mosquitto_pub(port: int, name: str, payload: bytes) -> None:
    """Publish at QoS 1 with mosquitto's own client, without blocking the event loop."""
    process = await asyncio.create_subprocess_exec(
        require_program("mosquitto_pub"),
        "-h",
        HOST,
        "-p",
        str(port),
        "-t",
        name,
        "-q",
        "1",
        "-s",
        stdin=asyncio.subprocess.PIPE,
    )
    await process.communicate(payload)
    assert process.returncode == 0


@pytest.mark.req("19.1.6")
async def test_redelivered_command_is_acked_twice_but_executed_once(
    link: HubLink, probe: Probe, broker: int
) -> None:
    _, hub = link
    wire = read_command().to_json()
    probe.send("smartmeter/v1/hub-1/cmd", wire)
    first = await probe.collect(2)
    # The second copy comes from an independent client, as a head-end retry would.
    await mosquitto_pub(broker, "smartmeter/v1/hub-1/cmd", wire)
    second = await probe.collect(2)
    for received in (first, second):
        assert [t for t, _ in received] == ["smartmeter/v1/hub-1/ack", "smartmeter/v1/hub-1/uplink"]
        assert CommandAck.from_json(received[0][1]).status is AckStatus.ACCEPTED
    assert result_of(first[1][1]) == result_of(second[1][1])  # the same answer, sent again
    assert len(hub.calls) == 1


@pytest.mark.req("19.1.6")
async def test_duplicate_of_a_command_still_running_is_only_acked(
    broker: int, probe: Probe
) -> None:
    release = asyncio.Event()
    calls: list[str] = []

    async def slow(command: WanCommand) -> dict[str, Any]:
        calls.append(command.id)
        await release.wait()
        return {"done": True}

    wan = MqttWanLink(HOST, broker, "hub-1")
    hub = WanHub(slow)
    await hub.start(wan)
    try:
        wire = read_command().to_json()
        probe.send("smartmeter/v1/hub-1/cmd", wire)
        probe.send("smartmeter/v1/hub-1/cmd", wire)
        assert [t for t, _ in await probe.collect(2)] == ["smartmeter/v1/hub-1/ack"] * 2
        release.set()
        topic_name, payload = await probe.next()
        assert topic_name == "smartmeter/v1/hub-1/uplink" and result_of(payload).ok
        assert len(calls) == 1
    finally:
        await wan.stop()
        await hub.stop()


@pytest.mark.req("18.11.j")
async def test_malformed_commands_are_rejected_not_executed(link: HubLink, probe: Probe) -> None:
    _, hub = link
    bad_id = request_id(secrets.token_bytes(16))
    bad = json.loads(read_command().to_json()) | {"id": bad_id, "type": "self_destruct"}
    probe.send("smartmeter/v1/hub-1/cmd", b"\x00 not even json")  # no id: nobody to answer
    probe.send("smartmeter/v1/hub-1/cmd", json.dumps(bad).encode())
    topic_name, payload = await probe.next()
    ack = CommandAck.from_json(payload)
    assert (topic_name, ack.id, ack.status) == (
        "smartmeter/v1/hub-1/ack",
        bad_id,
        AckStatus.REJECTED,
    )
    assert ack.reason is not None, "a rejection says why"
    assert '"type" one of read' in ack.reason
    good = read_command()
    probe.send("smartmeter/v1/hub-1/cmd", good.to_json())
    assert CommandAck.from_json((await probe.next())[1]).id == good.id  # nothing else came first
    await probe.next()
    assert hub.calls == [good]


@pytest.mark.req("18.11.j")
async def test_deep_and_oversized_commands_are_rejected_with_their_id(
    link: HubLink, probe: Probe
) -> None:
    """A command nested 1000 deep (2 KB) or carrying a 1 MiB device name is refused: rejected
    by its id, with a short reason that does not echo the input, and never executed."""
    _, hub = link
    deep, huge, long_name = (read_command() for _ in range(3))
    nested = b'{"a":' + b"[" * 1000 + b"]" * 1000 + b"}"  # 2 KB
    wires = {
        deep.id: deep.to_json().replace(b'"args":{}', b'"args":' + nested),
        huge.id: json.dumps({**json.loads(huge.to_json()), "device": "x" * (1 << 20)}).encode(),
        long_name.id: json.dumps({**json.loads(long_name.to_json()), "device": "x" * 65}).encode(),
    }
    for wire in wires.values():
        probe.send("smartmeter/v1/hub-1/cmd", wire)
    acks = [CommandAck.from_json(payload) for _, payload in await probe.collect(3)]
    assert [(ack.id, ack.status) for ack in acks] == [(i, AckStatus.REJECTED) for i in wires]
    reasons = [ack.reason or "" for ack in acks]
    assert "nested at most 32 deep" in reasons[0]
    assert f"at most {COMMAND_MAX_BYTES} octets" in reasons[1]
    assert '"device" a non-empty string of at most 64 characters' in reasons[2]
    assert all(len(reason) < 300 for reason in reasons)
    good = read_command()
    probe.send("smartmeter/v1/hub-1/cmd", good.to_json())
    assert CommandAck.from_json((await probe.next())[1]).id == good.id  # the hub carries on
    await probe.next()
    assert hub.calls == [good]


async def test_handler_error_becomes_a_failed_result(broker: int, probe: Probe) -> None:
    wan = MqttWanLink(HOST, broker, "hub-1")
    hub = FakeHub(SmartMeterError("esme has not joined the HAN"))
    await hub.start(wan)
    try:
        command = read_command()
        probe.send("smartmeter/v1/hub-1/cmd", command.to_json())
        _, result = (await probe.collect(2))[1]
        assert result_of(result) == CommandResult(
            command.id, ok=False, error="esme has not joined the HAN"
        )
    finally:
        await wan.stop()
        await hub.stop()


async def test_uplink_messages_go_up(link: HubLink, probe: Probe) -> None:
    wan, _ = link
    message = UplinkMessage("esme", 7, UplinkKind.READING, datetime.now(UTC), {"x": 1})
    await wan.publish_uplink(message)
    topic_name, payload = await probe.next()
    assert topic_name == "smartmeter/v1/hub-1/uplink"
    assert UplinkMessage.from_json(payload) == message


@pytest.mark.parametrize("version", [MqttVersion.V311, MqttVersion.V5])
async def test_commands_sent_while_the_hub_is_away_arrive_on_reconnect(
    broker: int, probe: Probe, version: MqttVersion
) -> None:
    hub = FakeHub()
    first = MqttWanLink(HOST, broker, "hub-1", version=version)
    await hub.start(first)
    await first.stop()  # clean disconnect: the broker keeps the session
    command = read_command()
    await mosquitto_pub(broker, "smartmeter/v1/hub-1/cmd", command.to_json())
    again = MqttWanLink(HOST, broker, "hub-1", version=version)
    await hub.start(again)
    try:
        received = dict(await probe.collect(2))
        assert result_of(received["smartmeter/v1/hub-1/uplink"]).ok
        assert hub.calls == [command]
    finally:
        await again.stop()
        await hub.stop()


@pytest.mark.req("19.1.7")
async def test_start_does_not_fail_while_the_broker_is_down(tmp_path: Path) -> None:
    port = reserve_port()
    wan = MqttWanLink(HOST, port, "hub-1", connect_wait_s=0.2)
    hub = FakeHub()
    await hub.start(wan)  # nothing listening yet: returns, keeps trying
    assert not wan.connected
    process = mosquitto(tmp_path / "late", port)
    try:
        assert await wan.wait_connected(10.0)
        assert (
            HubStatus.from_json(oracle_sub(port, "smartmeter/v1/hub-1/status")).state
            is HubState.ONLINE
        )
    finally:
        await wan.stop()
        await hub.stop()
        stop_broker(process)


HUB_SCRIPT = """
import asyncio, sys
from hal.real.mqtt_wan import MqttWanLink
async def handler(command):
    return None
async def main():
    link = MqttWanLink("127.0.0.1", int(sys.argv[1]), "hub-k")
    await link.start(handler)
    print("up" if link.connected else "down", flush=True)
    await asyncio.sleep(60)  # a hub that stays up until the test kills it
asyncio.run(main())
"""


def test_retained_status_and_last_will_seen_by_mosquitto_sub(broker: int) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    hub = subprocess.Popen(
        [sys.executable, "-c", HUB_SCRIPT, str(broker)], stdout=subprocess.PIPE, env=env, cwd=REPO
    )
    try:
        assert hub.stdout is not None and hub.stdout.readline() == b"up\n"
        online = HubStatus.from_json(oracle_sub(broker, "smartmeter/v1/hub-k/status"))
        assert online.state is HubState.ONLINE
        hub.kill()  # no DISCONNECT: the broker publishes the last will
        hub.wait(5)
        wait_until(
            lambda: (
                HubStatus.from_json(oracle_sub(broker, "smartmeter/v1/hub-k/status")).state
                is HubState.OFFLINE
            ),
            5,
            "the broker publishing the hub's last will",
        )
    finally:
        hub.kill()
        hub.wait(5)


async def test_stop_leaves_a_retained_offline(broker: int) -> None:
    wan = MqttWanLink(HOST, broker, "hub-1")
    hub = FakeHub()
    await hub.start(wan)
    await wan.stop()
    await hub.stop()
    assert not wan.connected
    status = HubStatus.from_json(oracle_sub(broker, "smartmeter/v1/hub-1/status"))
    assert status.state is HubState.OFFLINE


def test_backend_is_chosen_by_url() -> None:
    link = build_wan("mqtt://127.0.0.1:1999", "hub-9", SystemClock())
    assert isinstance(link, MqttWanLink) and isinstance(link, WanLink)
    with pytest.raises(ConfigError, match="unknown scheme"):
        build_wan("gprs://modem", "hub-9", SystemClock())

"""The head-end simulator as a real process: broker + `python -m tools.headend` + a hub link.

The test plays the comms hub with an `MqttWanLink` whose handler answers with registers built
from raw Metering attributes, and drives the head-end only through its control socket
(`tools.headend.client`) and its database file.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from firmware.rig import BrokerKind
from hal.control_socket import ControlError
from hal.real.mqtt_wan import MqttWanLink
from protocol.event_codes import EventCode
from protocol.event_report import EventReport
from protocol.metering_units import metering_registers
from protocol.wan import CommandType, UplinkKind, UplinkMessage, WanCommand, request_id
from tests.hub.wan_hub import WanHub
from tests.ports import reserve_port
from tests.programs import require_program
from tests.waiting import eventually
from tools.broker import BrokerSpec, start_broker, stop_broker
from tools.headend import client

pytestmark = pytest.mark.integration
T = TypeVar("T")
REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
INVENTORY = {
    "devices": {
        "esme": {"hub_id": "hub-1", "eui64": "00:0d:6f:00:00:00:00:01", "kind": "esme"},
        "gsme": {"hub_id": "hub-2", "eui64": "000d6f0000000002", "kind": "gsme"},
    }
}
RAW_ESME = {
    "current_summ_delivered": 1_234_567,
    "instantaneous_demand": 1500,
    "status": 0,
    "unit_of_measure": 0,
    "multiplier": 1,
    "divisor": 1000,
    "summation_formatting": 0x2B,
    "metering_device_type": 0,
}


@dataclass
class Rig:
    port: int
    control: Path
    db: Path
    log: Path

    def rows(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        with sqlite3.connect(self.db) as db:
            return db.execute(sql, params).fetchall()

    async def until(self, sql: str, *params: Any, timeout: float = 5.0) -> list[tuple[Any, ...]]:
        """Poll the head-end's database until `sql` returns rows."""
        return await eventually(
            lambda: self.rows(sql, *params), timeout, f"rows for {sql}", detail=self.log.read_text
        )


def start_rig(tmp_path: Path, kind: BrokerKind) -> Iterator[Rig]:
    require_program("mosquitto_pub")  # the tests' independent publisher, for every broker
    if kind is BrokerKind.MOSQUITTO:
        require_program("mosquitto")
    spec = BrokerSpec(kind, HOST, reserve_port(), tmp_path / "broker")
    broker = start_broker(spec)
    # A Unix socket path must stay under 108 bytes; pytest's tmp_path may not.
    sock_dir = Path(tempfile.mkdtemp(prefix="he-"))
    rig = Rig(
        spec.port, sock_dir / "headend.sock", tmp_path / "headend.db", tmp_path / "headend.log"
    )
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps(INVENTORY))
    with open(rig.log, "wb") as log:
        headend = subprocess.Popen(
            [sys.executable, "-m", "tools.headend", "--broker-host", HOST,
             "--broker-port", str(spec.port), "--control", str(rig.control), "--db", str(rig.db),
             "--inventory", str(inventory)],
            stdout=log, stderr=subprocess.STDOUT, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
        )  # fmt: skip
    try:
        client.wait_ready(rig.control, timeout=10)
        yield rig
    finally:
        headend.terminate()
        try:
            assert headend.wait(5) == 0, rig.log.read_text()
        finally:
            headend.kill()
            stop_broker(broker)
            shutil.rmtree(sock_dir, ignore_errors=True)


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    """Broker (mosquitto unless parametrized) and head-end process, both stopped afterwards."""
    yield from start_rig(tmp_path, getattr(request, "param", BrokerKind.MOSQUITTO))


class MeterHub(WanHub):
    """A hub's journal and outbox in front of a fake HAN: reads give registers computed from
    raw attributes."""

    def __init__(self) -> None:
        super().__init__(self._execute_read)
        self.calls: list[WanCommand] = []
        self.hang = False

    async def _execute_read(self, command: WanCommand) -> dict[str, Any]:
        self.calls.append(command)
        if self.hang:
            await asyncio.sleep(3600)  # a hub that accepts and never answers (a fake peer)
        return metering_registers(RAW_ESME)


#: The `hub1` fixture: hub-1's WAN link and the handler that answers for it.
HubLink = tuple[MqttWanLink, MeterHub]


@pytest.fixture
async def hub1(rig: Rig) -> AsyncIterator[HubLink]:
    meter = MeterHub()
    link = MqttWanLink(HOST, rig.port, "hub-1")
    await meter.start(link)
    yield link, meter
    await link.stop()
    await meter.stop()


async def in_thread(call: Callable[..., T], *args: Any) -> T:
    """Run a blocking client call on a daemon thread, so the hub's handler (on this loop) runs."""
    loop = asyncio.get_running_loop()
    outcome: asyncio.Future[T] = loop.create_future()

    def run() -> None:
        try:
            result = call(*args)
        except BaseException as exc:
            loop.call_soon_threadsafe(outcome.set_exception, exc)
        else:
            loop.call_soon_threadsafe(outcome.set_result, result)

    threading.Thread(target=run, daemon=True).start()
    return await outcome


async def read(control: Path, device: str, timeout: float) -> dict[str, Any]:
    return await in_thread(client.read, control, device, timeout)


async def test_on_demand_read_returns_the_meter_registers(rig: Rig, hub1: HubLink) -> None:
    _, meter = hub1
    started = time.monotonic()
    answer = await read(rig.control, "esme", 10)
    assert time.monotonic() - started < 10  # clause 6.1.11
    assert answer["device"] == "esme" and answer["hub_id"] == "hub-1"
    assert answer["data"] == metering_registers(RAW_ESME)
    assert answer["data"]["registers"]["CurrentSummationDelivered"]["value"] == "1234.567"
    assert 0 < answer["round_trip_s"] < 10
    assert [c.id for c in meter.calls] == [answer["request_id"]]
    # Everything crossed the WAN is in the head-end's own database.
    rid = answer["request_id"]
    assert rig.rows("SELECT hub_id, device, type FROM commands WHERE request_id=?", rid) == [
        ("hub-1", "esme", "read")
    ]
    assert rig.rows("SELECT status FROM acks WHERE request_id=?", rid) == [("accepted",)]
    assert rig.rows("SELECT ok FROM results WHERE request_id=?", rid) == [(1,)]


async def test_unknown_device_lists_the_known_ones(rig: Rig) -> None:
    with pytest.raises(ControlError, match="unknown device 'ihd'; known devices: esme, gsme"):
        await read(rig.control, "ihd", 2)


async def test_silent_hub_gives_a_clear_error_within_the_deadline(rig: Rig) -> None:
    started = time.monotonic()
    with pytest.raises(ControlError) as caught:
        await read(rig.control, "gsme", 1.5)
    assert time.monotonic() - started < 3.0
    assert str(caught.value) == (
        "no answer from hub hub-2 for device gsme within 1.5 s "
        "(no ack; hub has never reported its status)"
    )


@pytest.mark.req("19.1.6")
async def test_a_command_the_hub_never_got_is_sent_again_with_its_request_id(rig: Rig) -> None:
    """The hub is not subscribed yet when the head-end sends (as after a crash of the hub or the
    broker that lost the command): unacknowledged, it goes again (sealed afresh on a sealed
    WAN) with the same request id, and is carried out once."""
    meter = MeterHub()
    reading = asyncio.ensure_future(read(rig.control, "esme", 60))  # a loaded machine
    await eventually(lambda: rig.rows("SELECT request_id FROM commands"), 20, "the first sending")
    link = MqttWanLink(HOST, rig.port, "hub-1", client_id="hub-1-fresh-session")
    await meter.start(link)
    try:
        answer = await reading
    finally:
        await link.stop()
        await meter.stop()
    assert [c.id for c in meter.calls] == [answer["request_id"]]
    assert answer["data"] == metering_registers(RAW_ESME)


async def test_hub_that_acks_but_never_answers(rig: Rig, hub1: HubLink) -> None:
    _, meter = hub1
    meter.hang = True
    with pytest.raises(
        ControlError, match=r"within 1 s \(hub accepted the command but sent no result"
    ):
        await read(rig.control, "esme", 1)


@pytest.mark.req("19.1.6")
async def test_duplicate_delivery_is_acked_twice_executed_once(rig: Rig, hub1: HubLink) -> None:
    _, meter = hub1
    command = WanCommand(
        request_id(secrets.token_bytes(16)), CommandType.READ, "esme", datetime.now(UTC)
    )
    for _ in range(2):  # a head-end retry with the same request id, via mosquitto's client
        subprocess.run(
            [require_program("mosquitto_pub"), "-h", HOST, "-p", str(rig.port), "-t", "smartmeter/v1/hub-1/cmd",
             "-q", "1", "-m", command.to_json().decode()],
            check=True, timeout=5,
        )  # fmt: skip
    await rig.until(
        "SELECT 1 FROM acks WHERE request_id=? GROUP BY request_id HAVING COUNT(*)=2", command.id
    )
    await rig.until("SELECT 1 FROM results WHERE request_id=?", command.id)
    assert len(meter.calls) == 1


@pytest.mark.req("18.11.j", "19.1.6")
async def test_malformed_command_is_rejected_and_recorded(rig: Rig, hub1: HubLink) -> None:
    _, meter = hub1
    bad_id = request_id(secrets.token_bytes(16))
    bad = {
        "v": 1,
        "id": bad_id,
        "type": "explode",
        "device": "esme",
        "args": {},
        "issued_at": "2025-01-01T00:00:00Z",
    }
    subprocess.run(
        [require_program("mosquitto_pub"), "-h", HOST, "-p", str(rig.port), "-t", "smartmeter/v1/hub-1/cmd", "-q", "1", "-m", json.dumps(bad)],
        check=True, timeout=5,
    )  # fmt: skip
    [(status, reason)] = await rig.until(
        "SELECT status, reason FROM acks WHERE request_id=?", bad_id
    )
    assert status == "rejected" and "explode" in reason
    assert meter.calls == []


@pytest.mark.req("18.11.j")
async def test_malformed_uplink_is_kept_aside_and_the_head_end_carries_on(
    rig: Rig, hub1: HubLink
) -> None:
    subprocess.run(
        [require_program("mosquitto_pub"), "-h", HOST, "-p", str(rig.port), "-t", "smartmeter/v1/hub-1/event", "-q", "1", "-m", "{oops"],
        check=True, timeout=5,
    )  # fmt: skip
    [(error,)] = await rig.until(
        "SELECT error FROM rejected WHERE topic='smartmeter/v1/hub-1/event'"
    )
    assert "WAN event" in error
    assert (await read(rig.control, "esme", 5))["hub_id"] == "hub-1"


@pytest.mark.req("19.1.6", "18.6")
async def test_events_are_recorded_once_and_listed(rig: Rig, hub1: HubLink) -> None:
    link, _ = hub1
    opened = EventReport.of(
        EventCode.METER_COVER_REMOVED, seq=1, utc=datetime.now(UTC), source="esme"
    )
    closed = EventReport.of(
        EventCode.METER_COVER_CLOSED, seq=2, utc=datetime.now(UTC), source="esme"
    )
    first, second = (
        UplinkMessage("esme", n, UplinkKind.ALERT, e.utc, e.to_dict())
        for n, e in ((1, opened), (2, closed))
    )
    await link.publish_uplink(first)
    await link.publish_uplink(first)  # sent again (e.g. after a reconnect): recorded once
    await link.publish_uplink(second)
    await rig.until("SELECT 1 FROM events WHERE seq=2")
    listed = await in_thread(client.events, rig.control, 10)
    assert [(e["hub_id"], e["source"], e["seq"], e["ref"]) for e in listed] == [
        ("hub-1", "esme", 1, "B.6.5"),
        ("hub-1", "esme", 2, "B.6.6"),
    ]
    assert (
        EventReport.from_dict(
            {
                k: v
                for k, v in listed[0].items()
                if k not in ("hub_id", "received_at", "kind", "supplier")
            }
        )
        == opened
    )


async def test_status_follows_the_hub(rig: Rig) -> None:
    link = MqttWanLink(HOST, rig.port, "hub-1")
    hub = MeterHub()
    await hub.start(link)
    await rig.until("SELECT 1 FROM hub_status WHERE hub_id='hub-1' AND state='online'")
    hubs = {h["hub_id"]: h for h in (await in_thread(client.status, rig.control))["hubs"]}
    assert hubs["hub-1"]["state"] == "online" and hubs["hub-1"]["devices"] == ["esme"]
    assert hubs["hub-2"]["state"] == "unknown"
    await link.stop()
    await hub.stop()
    await rig.until("SELECT 1 FROM hub_status WHERE hub_id='hub-1' AND state='offline'")


@pytest.mark.parametrize("rig", [BrokerKind.EMBEDDED], indirect=True)
async def test_read_through_the_embedded_broker(rig: Rig, hub1: HubLink) -> None:
    answer = await read(rig.control, "esme", 10)
    assert answer["data"]["registers"]["CurrentSummationDelivered"]["unit"] == "kWh"


def test_bad_inventory_is_refused_naming_the_key(tmp_path: Path) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(
        json.dumps({"devices": {"esme": {"hub_id": "hub/1", "eui64": "00", "kind": "esme"}}})
    )
    done = subprocess.run(
        [sys.executable, "-m", "tools.headend", "--broker-host", HOST, "--broker-port", "1",
         "--control", str(tmp_path / "c.sock"), "--db", str(tmp_path / "h.db"),
         "--inventory", str(inventory)],
        capture_output=True, text=True, timeout=20, cwd=REPO, env=dict(os.environ, PYTHONPATH=str(REPO)),
    )  # fmt: skip
    assert done.returncode == 2
    assert f"{inventory}: devices.esme.hub_id" in done.stderr

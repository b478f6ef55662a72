"""A PublishEvent as the hub's HAN side receives it from zigpy (hub/han/network.py): answered
only when it came APS-encrypted under the meter's link key (the Events cluster is a link-key
cluster, SE 5.4.6); in the clear it is refused unanswered as Unauthenticated message (18.11.j),
once a minute at most; a store that fails leaves it unanswered (the meter publishes again)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
import zigpy.types as t

from firmware.rig import load_rig
from firmware.zcl.frame import ZclFrame, cluster_command_header
from firmware.zcl.server import ZclServer
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hub.han import HUB_ENDPOINT, HanNetwork
from hub.han.event_client import Intake
from protocol.event_codes import EventCode
from protocol.ieee802154 import eui64_to_str
from protocol.meter_events import PublishedEvent
from protocol.se import Events
from protocol.zigbee_ids import SE_PROFILE
from tests.hub.test_meter_events import NOW
from tests.rig_files import demo_rig_copy
from tests.waiting import eventually

ESME_NWK = 0x1234
_PUBLISH = Events.ClientCommandDefs.publish_event


class Device:
    def __init__(self, ieee: str) -> None:
        self.ieee = t.EUI64.convert(ieee)
        self.sent: list[bytes] = []

    async def request(self, *args: Any, **kwargs: Any) -> None:
        self.sent.append(bytes(args[5]))


class App:
    def __init__(self, device: Device) -> None:
        self.device = device

    def get_device(self, nwk: int) -> Device:
        if nwk != ESME_NWK:
            raise KeyError(nwk)
        return self.device


def nwk_address(nwk: int) -> t.AddrModeAddress:
    fields: dict[str, Any] = {"addr_mode": t.AddrMode.NWK, "address": nwk}
    return t.AddrModeAddress(**fields)


def packet(encrypted: bool) -> t.ZigbeePacket:
    event = PublishedEvent(1, int(EventCode.METER_COVER_REMOVED), NOW, "tamper", {}, 7)
    head = cluster_command_header(3, _PUBLISH.id, to_server=False, disable_default_response=False)
    frame = bytes(head.serialize()) + _PUBLISH.schema(**event.fields()).serialize()
    options = t.TransmitOptions.APS_Encryption if encrypted else t.TransmitOptions.NONE
    fields: dict[str, Any] = {  # as bellows hands a received frame to zigpy
        "src": nwk_address(ESME_NWK),
        "src_ep": 1,
        "dst": nwk_address(0x0000),
        "dst_ep": HUB_ENDPOINT,
        "profile_id": SE_PROFILE,
        "cluster_id": Events.cluster_id,
        "data": t.SerializableBytes(frame),
        "tx_options": options,
    }
    return t.ZigbeePacket(**fields)


@pytest.mark.req("18.11.j")
async def test_a_publish_event_in_the_clear_is_refused_and_reported_once(tmp_path: Path) -> None:
    rig = load_rig(demo_rig_copy(tmp_path))
    events: list[tuple[EventCode, dict[str, Any]]] = []
    store = SqliteStore(tmp_path / "hub.sqlite")
    clock = ManualClock(NOW)
    no_ncp: Any = None  # the packet handler never reaches the NCP: zigpy's app stands in
    han = HanNetwork(rig, no_ncp, clock, store, lambda c, d: events.append((c, d)), ZclServer([]))
    taken: list[PublishedEvent] = []

    def sink(meter: str, event: PublishedEvent) -> Intake:
        taken.append(event)
        return Intake.TAKEN

    device = Device(eui64_to_str(rig.devices["esme"].eui64))
    han.app = App(device)  # type: ignore[assignment]
    han.event_sink = sink
    for _ in range(3):
        assert han._published_event(packet(encrypted=False))
    assert taken == [] and [c for c, _ in events] == [EventCode.UNAUTHENTICATED_MESSAGE]
    assert han._published_event(packet(encrypted=True))
    await eventually(lambda: device.sent, 5.0, "the hub's answer")
    assert [e.seq for e in taken] == [1] and len(device.sent) == 1
    reply = ZclFrame.parse(device.sent[0])
    assert reply.tsn == 3 and reply.body[-1] == 0  # Default Response, SUCCESS

    def failing(meter: str, event: PublishedEvent) -> Intake:
        raise sqlite3.OperationalError("disk I/O error")

    han.event_sink = failing
    assert han._published_event(packet(encrypted=True))
    # An answer would have been spawned by now (the handler runs synchronously): none was.
    assert not han._tasks and len(device.sent) == 1, "no answer when the store failed"
    store.close()

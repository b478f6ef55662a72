"""The air hands a unicast to its addressee, not to every node: broadcasts, beacons, unknown
addressees and unreadable headers still reach everyone, monitors still see every frame, and the
radio model still decides what is heard.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import bellows.types as t
import pytest

from hal.emulated.air_channel import AirChannel, AirNode
from hal.emulated.ncp.state import NetworkRole
from hal.radio_model import RadioModel
from protocol.air_link import Receive, Transmit
from protocol.ieee802154 import AddrMode, FrameType, MacFrame
from tests.hal.ncp_harness import Bench
from tests.hal.test_ncp_timing import (
    HA_PROFILE,
    HUB_EUI64,
    IHD_EUI64,
    KEY,
    METER_EUI64,
    ON_OFF,
    aps_frame,
    delivered,
)

PAN = 0x1A62
CHANNEL = 15


def data(seq: int, src: int, dst: int, *, ack: bool = True) -> bytes:
    return MacFrame(
        FrameType.DATA,
        seq,
        dst_addr_mode=AddrMode.SHORT,
        dst_pan=PAN,
        dst_addr=dst,
        src_addr_mode=AddrMode.SHORT,
        src_addr=src,
        pan_id_compression=True,
        ack_request=ack and dst != 0xFFFF,
        payload=b"\x08\x00",
    ).build()


class Air:
    """An in-process channel and what each of its nodes was handed."""

    def __init__(self, model: RadioModel | None = None) -> None:
        self.channel = AirChannel(model)
        self.heard: dict[str, list[bytes]] = {}
        self.monitored: list[bytes] = []
        self.channel.add_monitor(lambda _channel, psdu: self.monitored.append(psdu))

    def node(self, name: str, eui64: int) -> AirNode:
        got = self.heard[name] = []
        return self.channel.attach(eui64, name, lambda m: got.append(m.psdu))

    def send(self, node: AirNode, psdu: bytes) -> None:
        self.channel.transmit(node, Transmit(CHANNEL, psdu))

    def clear(self) -> None:
        for frames in self.heard.values():
            frames.clear()
        self.monitored.clear()


def test_a_unicast_reaches_only_the_node_that_uses_its_destination() -> None:
    air = Air()
    hub, meter, ihd = air.node("hub", 1), air.node("meter", 2), air.node("ihd", 3)
    to_meter = data(1, 0x0000, 0x1234)
    air.send(hub, to_meter)  # nobody has used 0x1234 yet: every MAC must look at it
    assert air.heard == {"hub": [], "meter": [to_meter], "ihd": [to_meter]}

    air.send(meter, data(9, 0x1234, 0x0000, ack=False))  # the meter transmits from 0x1234
    air.send(ihd, data(5, 0x5678, 0xFFFF))  # a broadcast still reaches everyone
    assert air.heard["meter"][-1] == air.heard["hub"][-1] == data(5, 0x5678, 0xFFFF)
    air.clear()

    air.send(hub, to_meter)
    assert air.heard == {"hub": [], "meter": [to_meter], "ihd": []}
    assert air.monitored == [to_meter]  # a capture sees what no node was handed


def test_an_acknowledgement_goes_to_the_node_that_asked_for_it() -> None:
    air = Air()
    hub, meter, _ihd = air.node("hub", 1), air.node("meter", 2), air.node("ihd", 3)
    air.send(meter, data(9, 0x1234, 0x0000, ack=False))
    air.send(hub, data(9, 0x0000, 0x5678, ack=False))
    air.clear()

    air.send(hub, data(42, 0x0000, 0x1234))
    ack = MacFrame(FrameType.ACK, 42).build()
    air.send(meter, ack)
    assert air.heard == {"hub": [ack], "meter": [data(42, 0x0000, 0x1234)], "ihd": []}
    air.clear()
    air.send(meter, ack)  # nobody waits for it any more: every MAC drops it as real ones do
    assert air.heard == {"hub": [ack], "meter": [], "ihd": [ack]}


def test_a_node_that_changes_address_and_two_nodes_in_conflict_are_followed() -> None:
    air = Air()
    hub, meter, ihd = air.node("hub", 1), air.node("meter", 2), air.node("ihd", 3)
    air.send(meter, data(1, 0x1234, 0x0000, ack=False))
    air.send(ihd, data(1, 0x5678, 0x0000, ack=False))
    air.send(meter, data(2, 0x4321, 0x0000, ack=False))  # rejoined with a new address
    air.clear()
    air.send(hub, data(3, 0x0000, 0x4321))
    air.send(hub, data(4, 0x0000, 0x1234))  # the old address: nobody uses it now
    assert air.heard["meter"] == [data(3, 0x0000, 0x4321), data(4, 0x0000, 0x1234)]
    assert air.heard["ihd"] == [data(4, 0x0000, 0x1234)]

    air.send(ihd, data(5, 0x4321, 0x0000, ack=False))  # an address conflict: both hear
    air.clear()
    air.send(hub, data(6, 0x0000, 0x4321))
    assert air.heard["meter"] == air.heard["ihd"] == [data(6, 0x0000, 0x4321)]

    air.channel.detach(ihd)
    air.clear()
    air.send(hub, data(7, 0x0000, 0x4321))
    assert air.heard["meter"] == [data(7, 0x0000, 0x4321)] and air.heard["ihd"] == []


def test_extended_destinations_and_unreadable_headers() -> None:
    air = Air()
    hub, _meter, _ihd = air.node("hub", 1), air.node("meter", 2), air.node("ihd", 3)
    response = MacFrame(
        FrameType.COMMAND,
        1,
        dst_addr_mode=AddrMode.EXTENDED,
        dst_pan=PAN,
        dst_addr=2,
        src_addr_mode=AddrMode.EXTENDED,
        src_addr=1,
        pan_id_compression=True,
        payload=b"\x02\x34\x12\x00",
    ).build()
    air.send(hub, response)  # an association response, to the joiner's EUI-64
    assert air.heard == {"hub": [], "meter": [response], "ihd": []}
    for garbage in (b"\x41", b"\x41\x88\x01\x62"):  # cut short: whoever it was for, all hear it
        air.clear()
        air.send(hub, garbage)
        assert air.heard == {"hub": [], "meter": [garbage], "ihd": [garbage]}


def test_the_radio_model_still_decides_what_the_addressee_hears() -> None:
    air = Air(RadioModel({"hub": (0.0, 0.0), "meter": (500.0, 0.0), "ihd": (3.0, 0.0)}))
    hub, meter, _ihd = air.node("hub", 1), air.node("meter", 2), air.node("ihd", 3)
    air.send(meter, data(1, 0x1234, 0x0000, ack=False))
    air.clear()
    air.send(hub, data(2, 0x0000, 0x1234))
    assert air.heard == {"hub": [], "meter": [], "ihd": []}  # out of range
    assert meter.frames_lost == 1


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    bench = Bench()
    yield bench
    await bench.close()


async def test_on_a_network_unicasts_between_two_nodes_do_not_wake_a_third(bench: Bench) -> None:
    hub = await bench.coordinator(HUB_EUI64)
    hub.stack.permit_joining(60)
    meter = await bench.joined(hub, METER_EUI64, "esme", KEY, NetworkRole.ROUTER)
    ihd = await bench.joined(hub, IHD_EUI64, "ihd", KEY, NetworkRole.ROUTER)
    await bench.run_until(10.0)
    heard_by_ihd: list[Receive] = []
    ihd_node = next(n for n in bench.air.nodes if n.name == "ihd")
    ihd_node.deliver = heard_by_ihd.append
    on_air = len(bench.sent)

    options = t.EmberApsOption.APS_OPTION_RETRY
    for tag in range(5):
        status, _ = hub.stack.send_unicast(
            meter.state.node_id, aps_frame(HA_PROFILE, ON_OFF, options), tag, b"\x01\x00\x01"
        )
        assert status == t.sl_Status.OK
    await bench.run_for(1.0)
    assert len(delivered(meter, ON_OFF)) == 5
    assert len(bench.sent) - on_air >= 20  # data, MAC ack, APS ack, MAC ack: all monitored
    assert heard_by_ihd == []
    assert ihd.state.joined

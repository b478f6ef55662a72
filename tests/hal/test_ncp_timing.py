"""The emulated stack's timing, on a manual timer: every timeout happens exactly when it should,
and a test of a 6-second join timeout takes no time.

Nodes are `ZigbeeStack`s on the in-process air (`tests/hal/ncp_harness.py`); a node "powered
off" is one whose radio link is closed, so the frames sent to it are lost.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import bellows.types as t
import pytest

from hal.emulated.ncp.aps_delivery import APS_ACK_TIMEOUT_S, APS_RETRIES, DUPLICATE_WINDOW_S
from hal.emulated.ncp.aps_security import DISCOVERY_POLL_S, KEY_REQUEST_TIMEOUT_S
from hal.emulated.ncp.joiner import JOIN_TIMEOUT_S, SCAN_TIME_S
from hal.emulated.ncp.state import NetworkRole
from protocol.ieee802154 import BeaconPayload, FrameType
from protocol.zigbee_aps import ApsFrame, ApsFrameType
from tests.hal.ncp_harness import Bench, Node

HUB_EUI64 = 0x000D6F0000000001
METER_EUI64 = 0x000D6F0000001001
IHD_EUI64 = 0x000D6F0000003001
LATE_EUI64 = 0x000D6F0000004001
KEY = bytes.fromhex("66B6900981E1EE3CA4206B6B861C02BB")
HA_PROFILE, ON_OFF = 0x0104, 0x0006  # a cluster our SE policy leaves to NWK security alone
SE_PROFILE, METERING = 0x0109, 0x0702  # one it APS-encrypts with a link key
FAILED = t.sl_Status.ZIGBEE_DELIVERY_FAILED


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    bench = Bench()
    yield bench
    await bench.close()


def aps_frame(profile: int, cluster: int, options: t.EmberApsOption) -> t.EmberApsFrame:
    return t.EmberApsFrame(
        profileId=profile,
        clusterId=cluster,
        sourceEndpoint=1,
        destinationEndpoint=1,
        options=options,
        groupId=0,
        sequence=0,
    )


def sent_reports(node: Node) -> list[tuple[float, t.sl_Status]]:
    return [(at, values["status"]) for at, values in node.called("messageSentHandler")]


def delivered(node: Node, cluster: int) -> list[float]:
    return [
        at
        for at, values in node.called("incomingMessageHandler")
        if values["aps_frame"].clusterId == cluster
    ]


async def test_a_unicast_nobody_acks_is_retried_at_each_ack_timeout_then_reported_failed(
    bench: Bench,
) -> None:
    hub = await bench.coordinator(HUB_EUI64)
    hub.stack.permit_joining(60)
    meter = await bench.joined(hub, METER_EUI64, "esme", KEY, NetworkRole.ROUTER)
    await bench.run_until(10.0)
    await meter.link.close()  # powered off: nothing acks from now on
    before = len(bench.frames_from(hub))

    options = t.EmberApsOption.APS_OPTION_RETRY
    status, _seq = hub.stack.send_unicast(
        meter.state.node_id, aps_frame(HA_PROFILE, ON_OFF, options), 7, b"\x01\x00\x01"
    )
    assert status == t.sl_Status.OK
    await bench.run_until(10.0 + APS_ACK_TIMEOUT_S * (APS_RETRIES + 1) - 0.001)
    assert sent_reports(hub) == []  # still waiting for an ack after the last retry

    await bench.run_until(20.0)
    tries = [s.at for s in bench.frames_from(hub)[before:] if s.mac.dst_addr == meter.state.node_id]
    assert tries == [10.0 + APS_ACK_TIMEOUT_S * n for n in range(APS_RETRIES + 1)]
    assert sent_reports(hub) == [(10.0 + APS_ACK_TIMEOUT_S * (APS_RETRIES + 1), FAILED)]
    retries = hub.stack.counters()[t.EmberCounterType.COUNTER_APS_DATA_TX_UNICAST_RETRY]
    assert retries == APS_RETRIES


async def test_an_acked_unicast_is_reported_at_once_and_never_retried(bench: Bench) -> None:
    hub = await bench.coordinator(HUB_EUI64)
    hub.stack.permit_joining(60)
    meter = await bench.joined(hub, METER_EUI64, "esme", KEY, NetworkRole.ROUTER)
    await bench.run_until(10.0)
    before = len(bench.frames_from(hub))

    options = t.EmberApsOption.APS_OPTION_RETRY
    hub.stack.send_unicast(meter.state.node_id, aps_frame(HA_PROFILE, ON_OFF, options), 7, b"\x01")
    await bench.run_until(20.0)
    assert sent_reports(hub) == [(10.0, t.sl_Status.OK)]
    assert delivered(meter, ON_OFF) == [10.0]
    to_meter = [s for s in bench.frames_from(hub)[before:] if s.mac.dst_addr == meter.state.node_id]
    assert len(to_meter) == 1


async def test_a_retransmission_is_dropped_within_the_duplicate_window_and_taken_after_it(
    bench: Bench,
) -> None:
    hub = await bench.coordinator(HUB_EUI64)
    hub.stack.permit_joining(60)
    meter = await bench.joined(hub, METER_EUI64, "esme", KEY, NetworkRole.ROUTER)
    frame = ApsFrame(
        frame_type=ApsFrameType.DATA,
        counter=meter.stack.next_aps_counter(),
        dst_endpoint=1,
        cluster=ON_OFF,
        profile=HA_PROFILE,
        src_endpoint=1,
        payload=b"\x01\x00\x01",
    )
    first = 10.0
    for at in (first, first + DUPLICATE_WINDOW_S - 0.001, first + DUPLICATE_WINDOW_S):
        await bench.run_until(at)
        meter.stack.send_aps(0x0000, frame)  # the same APS counter each time
    await bench.run_for(1.0)
    assert delivered(hub, ON_OFF) == [first, first + DUPLICATE_WINDOW_S]


async def test_permit_joining_closes_when_its_duration_is_over(bench: Bench) -> None:
    hub = await bench.coordinator(HUB_EUI64)
    hub.stack.permit_joining(10)
    await bench.run_until(9.0)
    meter = await bench.joined(hub, METER_EUI64, "esme", KEY, NetworkRole.ROUTER)
    assert bench.timer.monotonic() < 10.0

    await bench.run_until(10.0)
    late = await bench.joining(hub, LATE_EUI64, "late", KEY, NetworkRole.END_DEVICE)
    await bench.run_for(SCAN_TIME_S)

    beacons = [BeaconPayload.parse(s.mac.payload) for s in bench.frames_from(hub, FrameType.BEACON)]
    assert [b.association_permit for b in beacons] == [True, False]
    assert late.statuses() == [(10.0 + SCAN_TIME_S, t.sl_Status.NOT_JOINED)]
    assert not late.state.joined
    assert meter.state.joined


async def test_a_joiner_whose_trust_centre_never_answers_gives_up_at_the_join_timeout(
    bench: Bench,
) -> None:
    hub = await bench.coordinator(HUB_EUI64)
    hub.stack.permit_joining(60)
    meter = await bench.joined(hub, METER_EUI64, "esme", KEY, NetworkRole.ROUTER)
    meter.stack.permit_joining(60)
    await bench.run_until(10.0)
    await hub.link.close()  # the trust centre is gone: the router's Update-Device goes unheard
    ihd = await bench.joining(hub, IHD_EUI64, "ihd", KEY, NetworkRole.END_DEVICE)
    await bench.run_until(10.0 + JOIN_TIMEOUT_S - 0.001)
    assert ihd.statuses() == []
    assert ihd.state.network_status == t.EmberNetworkStatus.JOINING_NETWORK
    assert ihd.state.parent_id == meter.state.node_id  # associated, but no key came

    await bench.run_until(20.0)
    assert ihd.statuses() == [(10.0 + JOIN_TIMEOUT_S, t.sl_Status.NOT_JOINED)]
    assert ihd.state.network_status == t.EmberNetworkStatus.NO_NETWORK


@pytest.mark.parametrize("partner_known", [True, False], ids=["partner-known", "discovered"])
async def test_frames_waiting_for_an_application_link_key_fail_when_the_wait_runs_out(
    bench: Bench, partner_known: bool
) -> None:
    hub = await bench.coordinator(HUB_EUI64)
    hub.stack.permit_joining(60)
    meter = await bench.joined(hub, METER_EUI64, "esme", KEY, NetworkRole.ROUTER)
    ihd = await bench.joined(hub, IHD_EUI64, "ihd", KEY, NetworkRole.ROUTER)
    if partner_known:
        meter.stack.zdo.announce()  # the IHD hears the meter's EUI-64 in its NWK header
    await bench.run_until(10.0)
    await hub.link.close()  # nobody hands out the IHD-meter key: the Request-Key goes unheard
    # The wait starts once the IHD knows the meter's EUI-64, which the Request-Key names: at
    # once, or from the meter's answer to an IEEE_addr_req, seen at the first poll for it.
    start = 10.0 if partner_known else 10.0 + DISCOVERY_POLL_S

    options = t.EmberApsOption.APS_OPTION_RETRY
    ihd.stack.send_unicast(
        meter.state.node_id, aps_frame(SE_PROFILE, METERING, options), 3, b"\x00"
    )
    await bench.run_until(start + KEY_REQUEST_TIMEOUT_S - 0.001)
    assert sent_reports(ihd) == []

    await bench.run_until(20.0)
    assert sent_reports(ihd) == [(start + KEY_REQUEST_TIMEOUT_S, FAILED)]
    assert delivered(meter, METERING) == []

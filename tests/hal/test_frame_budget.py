"""One unfragmented frame per APS payload: the emulated stack sends the longest payload that fits
the 127-octet PSDU and refuses a longer one with MESSAGE_TOO_LONG, as EmberZNet does, instead of
failing inside its transmit path; and the firmware's ZCL engine never builds a longer one.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import bellows.types as t
import pytest

from firmware.zcl.frame import MAX_ZCL_PAYLOAD
from hal.emulated.ncp.frame_transmitter import max_aps_payload
from hal.emulated.ncp.state import NetworkRole
from protocol.ieee802154 import MAX_PSDU
from tests.hal.ncp_harness import Bench, Node
from tests.hal.test_ncp_timing import (
    HA_PROFILE,
    HUB_EUI64,
    KEY,
    METER_EUI64,
    METERING,
    ON_OFF,
    SE_PROFILE,
    aps_frame,
    delivered,
)


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    bench = Bench()
    yield bench
    await bench.close()


async def hub_and_meter(bench: Bench) -> tuple[Node, Node]:
    hub = await bench.coordinator(HUB_EUI64)
    hub.stack.permit_joining(60)
    meter = await bench.joined(hub, METER_EUI64, "esme", KEY, NetworkRole.ROUTER)
    await bench.run_until(10.0)
    return hub, meter


@pytest.mark.parametrize(
    ("profile", "cluster", "secured"),
    [(SE_PROFILE, METERING, True), (HA_PROFILE, ON_OFF, False)],
    ids=["aps-secured", "network-key-only"],
)
async def test_the_longest_payload_that_fits_goes_and_one_octet_more_is_refused(
    bench: Bench, profile: int, cluster: int, secured: bool
) -> None:
    hub, meter = await hub_and_meter(bench)
    longest = max_aps_payload(aps_secured=secured)
    options = t.EmberApsOption.APS_OPTION_RETRY

    before = len(bench.frames_from(hub))
    status, _ = hub.stack.send_unicast(
        meter.state.node_id, aps_frame(profile, cluster, options), 1, bytes(longest + 1)
    )
    await bench.run_for(1.0)
    assert status == t.sl_Status.MESSAGE_TOO_LONG
    assert bench.frames_from(hub)[before:] == []

    status, _ = hub.stack.send_unicast(
        meter.state.node_id, aps_frame(profile, cluster, options), 2, bytes(longest)
    )
    await bench.run_for(1.0)
    assert status == t.sl_Status.OK
    assert len(delivered(meter, cluster)) == 1
    carried = [s.mac for s in bench.frames_from(hub)[before:] if len(s.mac.payload) > 60]
    # Exactly full: the budget wastes no octet of the PSDU (MAC header, payload, 2-octet FCS).
    assert [len(mac.build()) for mac in carried] == [MAX_PSDU]


async def test_a_broadcast_too_long_for_one_frame_is_refused(bench: Bench) -> None:
    hub, _meter = await hub_and_meter(bench)
    before = len(bench.frames_from(hub))
    frame = aps_frame(HA_PROFILE, ON_OFF, t.EmberApsOption(0))
    status, _ = hub.stack.send_broadcast(
        0xFFFD, frame, 0, 1, bytes(max_aps_payload(aps_secured=False) + 1)
    )
    assert status == t.sl_Status.MESSAGE_TOO_LONG
    await bench.run_for(1.0)
    assert bench.frames_from(hub)[before:] == []


def test_the_zcl_engine_never_builds_a_payload_the_stack_would_refuse() -> None:
    assert max_aps_payload(aps_secured=True) == MAX_ZCL_PAYLOAD

"""Replayed frames and frames failing their MIC are dropped and counted, never delivered twice,
and legitimate traffic carries on (clauses 17.2.12, 18.11.j)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from firmware.counter_watch import CounterWatch
from hal.emulated.air_channel import AirChannel
from protocol.air_link import Transmit
from protocol.ieee802154 import MacFrame
from protocol.zigbee_nwk import Leave, LeaveOptions, NwkFrame, NwkFrameType
from tests.hal.test_ncp_persistence import KEY_A, KEY_B, nwk_counters_from
from tests.han_fixtures import coordinator, joining_radio, permit
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)
EUI_A = 0x000D6F000000A101
EUI_B = 0x000D6F000000B101
#: Counter rises at B for the replay, the forged MIC plus the unsecured Leave, and the
#: truncated frame.
DROPS = {
    "NWK_FRAME_COUNTER_FAILURE": 1,
    "NWK_DECRYPTION_FAILURE": 2,
    "PACKET_VALIDATE_LIBRARY_DROPPED_COUNT": 1,
}


def last_payload(inbox: list[Any]) -> bytes | None:
    return inbox[-1].payload if inbox else None


@pytest.mark.req("17.2.12", "18.11.j")
async def test_replayed_and_forged_frames_are_dropped_counted_and_traffic_goes_on() -> None:
    air = AirChannel()
    frames_a: list[bytes] = []
    async with coordinator(air) as (app, _hub_ncp):
        await permit(app, EUI_A, KEY_A)
        await permit(app, EUI_B, KEY_B)
        async with (
            joining_radio(air, EUI_A, "esme") as (radio_a, _ncp_a, _),
            joining_radio(air, EUI_B, "ihd") as (radio_b, _ncp_b, received_b),
        ):
            await radio_a.join(link_key=KEY_A, channel=15)
            node_b = await radio_b.join(link_key=KEY_B, channel=15)
            watch = CounterWatch()
            watch.rises(await radio_b.counters())
            air.add_monitor(lambda channel, psdu: frames_a.append(psdu))
            await radio_a.send(node_b, 0x0702, 1, b"\x00\x01\x00")
            await eventually(lambda: last_payload(received_b) == b"\x00\x01\x00", 5, "B hears A")
            delivered = len(received_b)
            # A's Metering frame to B (before it, A asked the hub for a link key with B).
            legit = next(
                p
                for p in frames_a
                if nwk_counters_from([p], EUI_A) and MacFrame.parse(p).dst_addr == node_b
            )

            baseline = await radio_b.counters()
            attacker = air.attach(0x000D6F000000EEEE, "attacker", lambda message: None)
            air.transmit(attacker, Transmit(15, legit))  # a replay, byte for byte
            mac = MacFrame.parse(legit)
            tampered = mac.payload[:-1] + bytes([mac.payload[-1] ^ 0x01])  # MIC no longer matches
            forged = dataclasses.replace(mac, payload=tampered).build()
            air.transmit(attacker, Transmit(15, forged))
            air.transmit(attacker, Transmit(15, legit[:12]))  # a truncated (malformed) frame
            # An unsecured NWK Leave request to B: without the check, B would leave the network.
            leave = NwkFrame(NwkFrameType.COMMAND, dst=node_b, src=0x0000, radius=1, seq=7)
            unsecured = leave.with_payload(Leave(LeaveOptions.REQUEST).build()).build()
            air.transmit(
                attacker, Transmit(15, dataclasses.replace(mac, payload=unsecured).build())
            )

            async def all_four_dropped() -> bool:
                now = await radio_b.counters()
                rise = {name: now[name] - baseline[name] for name in DROPS}
                return all(rise[name] >= count for name, count in DROPS.items())

            # The drops are the signal that B has handled every attack frame: only then can
            # "nothing delivered twice" be told apart from "not delivered yet".
            await eventually(all_four_dropped, 5, "B dropping the four attack frames")
            assert len(received_b) == delivered  # nothing delivered twice
            assert radio_b.joined

            rises = watch.rises(await radio_b.counters())
            assert rises.get("NWK_FRAME_COUNTER_FAILURE") == 1
            assert (
                rises.get("NWK_DECRYPTION_FAILURE") == 2
            )  # the forged MIC and the unsecured Leave
            assert rises.get("PACKET_VALIDATE_LIBRARY_DROPPED_COUNT", 0) >= 1

            await radio_a.send(node_b, 0x0702, 1, b"\x00\x02\x00")  # legitimate traffic goes on
            await eventually(lambda: last_payload(received_b) == b"\x00\x02\x00", 5, "B hears A")
            assert watch.rises(await radio_b.counters()) == {}
            air.detach(attacker)


def test_counter_watch_reports_rises_and_survives_a_clear() -> None:
    watch = CounterWatch()
    assert watch.rises({"NWK_DECRYPTION_FAILURE": 0, "MAC_RX_UNICAST": 9}) == {}
    assert watch.rises({"NWK_DECRYPTION_FAILURE": 2}) == {"NWK_DECRYPTION_FAILURE": 2}
    assert watch.rises({"NWK_DECRYPTION_FAILURE": 2}) == {}
    # cleared by readAndClearCounters, then one more drop
    assert watch.rises({"NWK_DECRYPTION_FAILURE": 1}) == {"NWK_DECRYPTION_FAILURE": 1}

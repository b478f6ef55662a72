"""The HAN heals: a device whose radio lost its state (a factory reset: its frame counters start
again) and that is commissioned again is heard by the trust centre, whose admission resets the
counters of the old key material; a replay from a node that did not re-join is still refused
(issue 7; clause 17.2.12)."""

from __future__ import annotations

from typing import Any

import pytest
import zigpy.types as zt

from firmware.counter_watch import CounterWatch
from hal.emulated.air_channel import AirChannel
from protocol.air_link import Transmit
from protocol.ieee802154 import MacFrame
from tests.hal.test_ncp_persistence import KEY_A, KEY_B, nwk_counters_from
from tests.han_fixtures import coordinator, joining_radio, permit
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)
METER = 0x000D6F000000C101
IHD = 0x000D6F000000C201
METERING = 0x0702


@pytest.mark.req("17.2.12")
async def test_a_reset_device_is_heard_again_and_a_replay_still_is_not() -> None:
    air = AirChannel()
    async with coordinator(air) as (app, _hub_ncp):
        heard: list[tuple[int, bytes]] = []
        original = app.packet_received

        def packet_received(packet: zt.ZigbeePacket) -> None:
            source: Any = packet.src  # a NWK address: the coordinator hears unicasts
            if packet.cluster_id == METERING:
                heard.append((int(source.address), packet.data.serialize()))
            original(packet)

        app.packet_received = packet_received  # type: ignore[method-assign]
        await permit(app, METER, KEY_A)
        await permit(app, IHD, KEY_B)
        frames: list[bytes] = []
        air.add_monitor(lambda channel, psdu: frames.append(psdu))
        async with joining_radio(air, IHD, "ihd", router=False) as (ihd, _ihd_ncp, _):
            ihd_node = await ihd.join(link_key=KEY_B, channel=15)
            await ihd.send(0x0000, METERING, 1, b"\x00\x01\x00\x00\x00")  # APS-encrypted (SE)
            await eventually(
                lambda: (ihd_node, b"\x00\x01\x00\x00\x00") in heard, 15, "hub hears IHD"
            )
            ihd_frame = next(  # its Metering frame to the hub, as an eavesdropper keeps it
                p for p in frames if nwk_counters_from([p], IHD) and MacFrame.parse(p).dst_addr == 0
            )

            async with joining_radio(air, METER, "esme") as (meter, _ncp, _):
                await meter.join(link_key=KEY_A, channel=15)
                for n in range(20):  # counters well above where a reset device starts again
                    await meter.send(0x0000, METERING, 1, bytes([0x00, n, 0x00, 0x00, 0x00]))
            # The meter's radio is factory reset: a new NCP, same EUI-64, counters from zero.
            await permit(app, METER, KEY_A)  # commissioned again
            async with joining_radio(air, METER, "esme") as (meter, _ncp, _):
                node = await meter.join(link_key=KEY_A, channel=15)
                watch = CounterWatch()
                watch.rises(await app.read_ncp_counters())
                await meter.send(0x0000, METERING, 1, b"\x00\x99\x00\x00\x00")
                # a deadline for a loaded machine: the frame is APS-acked, so it is on its way
                await eventually(
                    lambda: (node, b"\x00\x99\x00\x00\x00") in heard, 15, "hub hears it"
                )
                assert watch.rises(await app.read_ncp_counters()) == {}

                # A replay of the IHD, which did not re-join: still refused.
                attacker = air.attach(0x000D6F000000EEEE, "attacker", lambda message: None)
                before = len(heard)
                air.transmit(attacker, Transmit(15, ihd_frame))

                async def replay_dropped() -> bool:
                    rises = watch.rises(await app.read_ncp_counters())
                    return rises.get("NWK_FRAME_COUNTER_FAILURE", 0) == 1

                await eventually(replay_dropped, 15, "the hub dropping the replay")
                assert len(heard) == before

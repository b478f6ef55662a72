"""A device out of the hub's direct range joins and talks through a router (the ESME).

Real bellows and zigpy on the hub, real EZSP radios on the devices, emulated NCPs exchanging
802.15.4/NWK/APS frames on an in-process air whose radio model puts a wall between the hub and
the far device: only the ESME hears both.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import zigpy.types as zt

from hal.emulated.air_channel import AirChannel
from hal.radio_model import SENSITIVITY_DBM, RadioModel
from protocol.errors import TransientLinkError
from protocol.zigbee_security import link_key_from_install_code
from tests.han_fixtures import coordinator, joining_radio, permit
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)

ESME_EUI64 = 0x000D6F0000001001
FAR_EUI64 = 0x000D6F0000003001
ESME_KEY = link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))
FAR_KEY = link_key_from_install_code(bytes.fromhex("1D7A4E2C9B0F33816A5C2D4E8F901B2CCA62"))


def mesh_air() -> AirChannel:
    model = RadioModel(
        {"hub": (0.0, 0.0), "esme": (10.0, 0.0), "far": (20.0, 0.0)},
        attenuation_db={frozenset(("hub", "far")): 40.0},
    )
    hub_far, esme_far, hub_esme = (
        model.rssi("hub", "far"),
        model.rssi("esme", "far"),
        model.rssi("hub", "esme"),
    )
    assert hub_far is not None and hub_far < SENSITIVITY_DBM
    assert esme_far is not None and esme_far > SENSITIVITY_DBM + 20
    assert hub_esme is not None and hub_esme > SENSITIVITY_DBM + 20
    return AirChannel(model)


def device_of(app: Any, eui64: int) -> Any:
    return app.devices.get(zt.EUI64(eui64.to_bytes(8, "little")))


@pytest.mark.req("19.1.5")
async def test_far_device_joins_through_the_esme_and_talks_both_ways() -> None:
    air = mesh_air()
    joins: list[tuple[int, int]] = []
    async with coordinator(air) as (app, _hub_ncp):
        original = app.handle_join

        def record(nwk: int, ieee: Any, parent_nwk: int, *args: Any, **kw: Any) -> None:
            joins.append((int(nwk), int(parent_nwk)))
            original(nwk, ieee, parent_nwk, *args, **kw)

        app.handle_join = record
        await permit(app, ESME_EUI64, ESME_KEY)
        async with joining_radio(air, ESME_EUI64, "esme") as (esme, _esme_ncp, _):
            esme_nwk = await esme.join(link_key=ESME_KEY, channel=15)
            await permit(app, FAR_EUI64, FAR_KEY)
            async with joining_radio(air, FAR_EUI64, "far", router=False) as (far, far_ncp, inbox):
                far_nwk = await far.join(link_key=FAR_KEY, channel=15)
                assert far_ncp.state.parent_id == esme_nwk
                assert (far_nwk, esme_nwk) in joins

                def interviewed() -> Any:
                    device = device_of(app, FAR_EUI64)
                    return device if device is not None and device.is_initialized else None

                # zigpy interviews it through the ESME (ZDO requests and answers relayed)
                device = await eventually(interviewed, 10, "zigpy interviewing the far device")
                assert device.nwk == far_nwk
                assert 0x0702 in device.endpoints[1].in_clusters
                # an APS-acked unicast from the far device reaches the hub...
                received: list[Any] = []

                def keep(packet: zt.ZigbeePacket) -> bool:
                    received.append(packet)
                    return True  # handled here: the hub's own handling stays out of it

                app.se_packet_hook = keep
                await far.send(0x0000, 0x0702, 1, b"\x00\x07\x00\x00\x00")
                assert any(p.cluster_id == 0x0702 and p.src.address == far_nwk for p in received)
                # ...and one from the hub reaches the far device, acked
                await app.request(
                    device,
                    profile=0x0109,
                    cluster=0x0702,
                    src_ep=1,
                    dst_ep=1,
                    sequence=app.get_sequence(),
                    data=b"\x00\x08\x00\x00\x00",
                    expect_reply=False,
                )
                assert any(m.sender == 0x0000 and m.payload[1] == 0x08 for m in inbox)
                # ...and the hub can remove it through the ESME (17.2.6): ZDO Mgmt_Leave_req
                # relayed to it, then the trust centre's routed Leave and key erasure
                down = asyncio.Event()
                far._on_down = down.set
                await app.remove(device.ieee)
                await app._ezsp.removeDevice(
                    destShort=far_nwk, destLong=device.ieee, targetLong=device.ieee
                )
                await asyncio.wait_for(down.wait(), 5)
                assert far_ncp.state.network_key is None
                assert FAR_EUI64 not in _hub_ncp.state.transient_keys


async def test_far_device_with_a_wrong_install_code_is_refused_through_the_esme() -> None:
    air = mesh_air()
    refused: list[tuple[int, str]] = []
    async with coordinator(air) as (app, hub_ncp):
        app.denied_join_hook = lambda nwk, eui: refused.append((nwk, eui))
        await permit(app, ESME_EUI64, ESME_KEY)
        async with joining_radio(air, ESME_EUI64, "esme") as (esme, esme_ncp, _):
            await esme.join(link_key=ESME_KEY, channel=15)
            await permit(app, FAR_EUI64, FAR_KEY)
            wrong = link_key_from_install_code(
                bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
            )
            async with joining_radio(air, FAR_EUI64, "far") as (far, far_ncp, _):
                with pytest.raises(TransientLinkError, match="join failed"):
                    await far.join(link_key=wrong, channel=15)
                assert far_ncp.state.network_key is None
            # an unknown device behind the ESME: refused, the hub hears of it, the ESME drops it
            async with joining_radio(air, 0x000D6F00DEADBEEF, "far") as (rogue, rogue_ncp, _):
                with pytest.raises(TransientLinkError, match="join failed"):
                    await rogue.join(link_key=ESME_KEY, channel=15)
                assert rogue_ncp.state.network_key is None
            assert refused and refused[-1][1] == "00:0d:6f:00:de:ad:be:ef"
            assert 0x000D6F00DEADBEEF not in esme_ncp.state.children
        assert hub_ncp.state.network_key is not None

"""The trust centre admits only the devices whose EUI-64 and install code the hub was given.

Real bellows drives both ends (a zigpy coordinator and a device joining with raw EZSP), over
emulated NCPs that exchange real 802.15.4/NWK/APS frames on an in-process air.
"""

from __future__ import annotations

from typing import Any

import pytest

from hal.emulated.air_channel import AirChannel
from protocol.errors import TransientLinkError
from protocol.zigbee_security import link_key_from_install_code
from tests.han_fixtures import coordinator, joining_radio, permit
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)

ESME_EUI64 = 0x000D6F0000001001
ESME_KEY = link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))
ROGUE_EUI64 = 0x000D6F00DEADBEEF


async def test_device_with_its_install_code_joins_and_is_interviewed() -> None:
    air = AirChannel()
    async with coordinator(air) as (app, _hub_ncp):
        await permit(app, ESME_EUI64, ESME_KEY)
        async with joining_radio(air, ESME_EUI64, "esme", version=18) as (radio, ncp, _):
            nwk = await radio.join(link_key=ESME_KEY, channel=15)

            def interviewed() -> Any:
                devices = {
                    int.from_bytes(bytes(d.ieee.serialize()), "little"): d
                    for d in app.devices.values()
                }
                device = devices.get(ESME_EUI64)
                return device if device is not None and device.is_initialized else None

            device = await eventually(interviewed, 5, "zigpy interviewing the ESME")
            assert device.nwk == nwk
            # zigpy learnt the SE endpoint from the ZDO answers of the device's NCP
            assert device.endpoints[1].profile_id == 0x0109
            assert 0x0702 in device.endpoints[1].in_clusters
            assert ncp.state.network_key is not None
            assert not ncp.unimplemented


@pytest.mark.req("17.2.13")
async def test_unknown_device_is_refused_and_the_hub_hears_of_it() -> None:
    air = AirChannel()
    refused: list[tuple[int, str]] = []
    async with coordinator(air) as (app, _hub_ncp):
        app.denied_join_hook = lambda nwk, eui: refused.append((nwk, eui))
        await permit(app, ESME_EUI64, ESME_KEY)
        async with joining_radio(air, ROGUE_EUI64, "rogue") as (radio, ncp, _):
            with pytest.raises(TransientLinkError, match="join failed"):
                await radio.join(link_key=ESME_KEY, channel=15)
            assert ncp.state.network_key is None
        assert refused and refused[0][1] == "00:0d:6f:00:de:ad:be:ef"
        assert all(
            not d.is_initialized for d in app.devices.values() if str(d.ieee).endswith("be:ef")
        )


@pytest.mark.req("17.2.13", "17.2.15", "17.2.20")
async def test_wrong_install_code_cannot_decrypt_the_network_key() -> None:
    air = AirChannel()
    wrong_key = link_key_from_install_code(bytes.fromhex("1D7A4E2C9B0F33816A5C2D4E8F901B2CCA62"))
    seen: list[bytes] = []
    air.add_monitor(lambda _channel, psdu: seen.append(psdu))
    async with coordinator(air) as (app, hub_ncp):
        await permit(app, ESME_EUI64, ESME_KEY)
        async with joining_radio(air, ESME_EUI64, "esme") as (radio, ncp, _):
            with pytest.raises(TransientLinkError, match="join failed"):
                await radio.join(link_key=wrong_key, channel=15)
            assert ncp.state.network_key is None
        network_key = hub_ncp.state.network_key
        assert network_key is not None
        # the key went over the air only encrypted (clause 17.2.20)
        assert seen and all(network_key not in frame for frame in seen)

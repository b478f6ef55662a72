"""The hub removes a device from the HAN, and it stays out until commissioned again (17.2.6).

Real bellows and zigpy on both ends, over emulated NCPs on an in-process air: the hub's
`HanNetwork.remove` asks the device to leave (ZDO Mgmt_Leave_req) and has its trust centre
remove it (EZSP removeDevice: NWK Leave request, key erased); the device's radio reports the
network down, and a join with its old install-code key is refused until `commission`.
"""

from __future__ import annotations

import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from firmware.rig import AdmitPolicy
from firmware.zcl.server import ZclServer
from hal.emulated.air_channel import AirChannel
from hal.real.clock import SystemClock
from hal.real.sqlite_store import SqliteStore
from hub.han import DeviceUnavailable, HanNetwork
from hub.han.se_controller import SmartEnergyController
from hub.time_server import time_server
from protocol.errors import TransientLinkError
from protocol.event_codes import EventCode
from protocol.zigbee_security import link_key_from_install_code
from tests.han_fixtures import coordinator, joining_radio
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(120)

GSME_EUI64 = 0x000D6F0000002002
GSME_KEY = link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))


def _han(app: SmartEnergyController, store: SqliteStore, events: list[Any]) -> Any:
    """A HanNetwork bound to a running coordinator, for a one-device rig."""
    config = SimpleNamespace(name="gsme", eui64=GSME_EUI64, link_key=GSME_KEY)
    rig = SimpleNamespace(devices={"gsme": config}, hub=SimpleNamespace(admit=AdmitPolicy.RIG))
    clock = SystemClock()
    han = HanNetwork(
        rig,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]  # the coordinator is already running on its NCP
        clock,
        store,
        lambda code, detail: events.append((code, detail)),
        ZclServer([time_server(clock)]),
    )
    han.app = app
    return han, config


async def _until(condition: Any, timeout: float = 10.0) -> None:
    await eventually(condition, timeout, "the HAN change")


@pytest.mark.req("17.2.6", "17.2.13")
async def test_removed_device_leaves_and_cannot_rejoin_until_commissioned(tmp_path: Path) -> None:
    air = AirChannel()
    store = SqliteStore(tmp_path / "hub.sqlite")
    events: list[Any] = []
    async with coordinator(air) as (app, hub_ncp):
        han, gsme = _han(app, store, events)
        await han.commission(gsme)
        async with joining_radio(air, GSME_EUI64, "gsme", router=False) as (radio, ncp, _):
            await radio.join(link_key=GSME_KEY, channel=15)
            await _until(lambda: han.joined()["gsme"])

            started = time.monotonic()
            result = await han.remove(gsme)
            await _until(lambda: not radio.joined, 5.0)
            off_han_s = time.monotonic() - started

            assert result["answered_leave"] is True
            assert off_han_s < 5.0
            # The device: off the network, its network key gone, and so in its tokens.
            assert not ncp.state.joined
            assert ncp.state.network_key is None
            # The trust centre: the child and both of its keys are forgotten.
            tc = hub_ncp.state
            assert GSME_EUI64 not in tc.children
            assert GSME_EUI64 not in tc.transient_keys
            assert all(entry.eui64 != GSME_EUI64 for entry in tc.key_table)
            # The hub: not joined, reads refused, a DEVICE_LEFT event, and the removal is
            # remembered by a hub started on the same store.
            assert han.joined() == {"gsme": False}
            with pytest.raises(DeviceUnavailable, match="removed from the HAN"):
                await han.read_metering(gsme)
            left = [detail for code, detail in events if code is EventCode.DEVICE_LEFT]
            assert left and left[-1]["reason"] == "removed by the hub"
            restarted, _ = _han(app, store, [])
            assert restarted.decommissioned(gsme)

            # Joining again with the old install-code key is refused by the trust centre.
            with pytest.raises(TransientLinkError, match="join failed"):
                await radio.join(link_key=GSME_KEY, channel=15)
            assert ncp.state.network_key is None
            assert all(entry.eui64 != GSME_EUI64 for entry in tc.key_table)

            # Commissioned again, the same device joins with the same key.
            await han.commission(gsme)
            await radio.join(link_key=GSME_KEY, channel=15)
            await _until(lambda: han.joined()["gsme"])
            assert not _han(app, store, [])[0].decommissioned(gsme)
            assert not ncp.unimplemented and not hub_ncp.unimplemented
    store.close()


@pytest.mark.req("17.2.6")
async def test_trust_centre_forgets_the_key_of_a_device_not_on_the_network(
    tmp_path: Path,
) -> None:
    air = AirChannel()
    store = SqliteStore(tmp_path / "hub.sqlite")
    async with coordinator(air) as (app, hub_ncp):
        han, gsme = _han(app, store, [])
        await han.commission(gsme)
        assert GSME_EUI64 in hub_ncp.state.transient_keys
        result = await han.remove(gsme)
        assert result["answered_leave"] is False
        assert GSME_EUI64 not in hub_ncp.state.transient_keys
        assert "removeDevice" in hub_ncp.commands_seen
    store.close()

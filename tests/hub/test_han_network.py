"""The hub's HAN side (`hub.han.HanNetwork`) with its real NCP on a real air service: a device
with the right EUI-64 but the wrong install code gets the network key it cannot decrypt, and the
hub records the failed connection attempt when the device never comes up (issue 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hub.han.network as han_module
from firmware.rig import Rig, load_rig
from firmware.zcl.server import ZclServer
from hal.emulated.air_channel import AirChannel, InProcessRadioLink
from hal.emulated.ncp.dongle import EmulatedDongle
from hal.real.clock import SystemClock
from hal.real.sqlite_store import SqliteStore
from hub.han import HanNetwork
from hub.time_server import time_server
from protocol.errors import TransientLinkError
from protocol.event_codes import EventCode
from protocol.zigbee_security import link_key_from_install_code
from tests.han_fixtures import joining_radio
from tests.rig_files import demo_rig_copy
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)


def hub_han(
    rig: Rig, channel: AirChannel, folder: Path, events: list[tuple[EventCode, dict[str, Any]]]
) -> tuple[HanNetwork, EmulatedDongle, SqliteStore]:
    """The hub's HAN on an emulated NCP on `channel`, recording its events in `events`."""
    hub = rig.hub
    link = InProcessRadioLink(channel, hub.eui64, hub.name)
    dongle = EmulatedDongle(hub.eui64, link, hub.radio.ezsp_version, hub.name)
    store = SqliteStore(folder / "hub.sqlite")
    clock = SystemClock()
    han = HanNetwork(
        rig,
        dongle,
        clock,
        store,
        lambda code, detail: events.append((code, detail)),
        ZclServer([time_server(clock)]),
    )
    return han, dongle, store


async def commissioned(dongle: EmulatedDongle, eui64: int) -> None:
    """Wait for the hub's commissioning window: its trust centre holds the device's key."""
    await eventually(
        lambda: eui64 in dongle.ncp.state.transient_keys, 5, "the hub commissioning the rig"
    )


WRONG_KEY = link_key_from_install_code(bytes.fromhex("5A1B2C3D4E5F60718293A4B5C6D7E8F93DB6"))


@pytest.mark.req("17.2.13", "17.2.15", "18.11.m")
async def test_a_wrong_install_code_is_recorded_as_a_failed_connection_attempt(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(han_module, "JOIN_CONFIRM_S", 1.5)
    rig = load_rig(demo_rig_copy(tmp_path))
    channel = AirChannel()
    events: list[tuple[EventCode, dict[str, Any]]] = []
    han, dongle, store = hub_han(rig, channel, tmp_path, events)
    try:
        await han.start()
        esme = rig.devices["esme"]
        await commissioned(dongle, esme.eui64)
        async with joining_radio(channel, esme.eui64, "esme") as (radio, ncp, _):
            with pytest.raises(TransientLinkError):
                await radio.join(link_key=WRONG_KEY, channel=rig.hub.channel)
            assert ncp.state.network_key is None
            # the hub decides once the device has not come up within JOIN_CONFIRM_S
            failed = await eventually(
                lambda: [d for code, d in events if code == EventCode.FAILED_CONNECTION_ATTEMPT],
                10,
                "the hub recording a failed connection attempt",
            )
        assert failed[0]["eui64"] == "00:0d:6f:00:00:00:10:01"
        assert "install code" in failed[0]["reason"]
        assert han.joined()["esme"] is False
    finally:
        await han.stop()
        store.close()


@pytest.mark.req("18.9.h")
async def test_the_hub_reconnects_after_its_ncp_reboots(tmp_path: Path) -> None:
    """A watchdog reset of the hub's NCP (an unprompted RSTACK): bellows reports the radio lost,
    the hub starts its controller again from the NCP's tokens, and the meter is reachable again
    without joining again."""
    rig = load_rig(demo_rig_copy(tmp_path))
    channel = AirChannel()
    events: list[tuple[EventCode, dict[str, Any]]] = []
    han, dongle, store = hub_han(rig, channel, tmp_path, events)
    try:
        await han.start()
        esme = rig.devices["esme"]
        await commissioned(dongle, esme.eui64)
        async with joining_radio(channel, esme.eui64, "esme") as (radio, _ncp, inbox):
            nwk = await radio.join(link_key=esme.link_key, channel=rig.hub.channel)
            await eventually(lambda: han.joined()["esme"], 5, "the hub seeing the ESME joined")
            first_app = han.app
            dongle.ncp.reboot()
            await eventually(  # the hub records the HAN back once it has re-permitted the rig
                lambda: EventCode.COMMUNICATION_OK_HAN in [code for code, _ in events],
                10,
                "the hub recording its HAN radio back",
            )
            await eventually(
                lambda: han.app is not None and han.app is not first_app and han.joined()["esme"],
                10,
                "the hub back on a new controller with the ESME",
            )
            codes = [code for code, _ in events]
            assert (
                EventCode.COMMUNICATION_ERROR_HAN in codes
                and EventCode.COMMUNICATION_OK_HAN in codes
            )
            # the meter never left: same address, and the hub reaches it again
            assert radio.node_id == nwk
            app = han.app
            assert app is not None, "the hub runs a controller again (awaited above)"
            device = app.get_device(nwk=nwk)
            await app.request(
                device,
                0x0109,
                0x000A,
                9,
                1,
                app.get_sequence(),
                b"\x00\x01\x00\x00\x00",
                expect_reply=False,
            )
            # The APS ack can come back before the meter's host has passed the frame up.
            await eventually(
                lambda: any(m.sender == 0x0000 and m.cluster_id == 0x000A for m in inbox),
                5,
                "the meter hearing the hub again",
            )
    finally:
        await han.stop()
        store.close()
        store.close()

"""The hub's view of who is joined follows reality: a device whose radio goes off the air is
shown as not answering, with when it was last heard, and as joined again when it comes back
(issue 7). The hub logs the HAN communication error and its end for that device."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import hub.han.presence as presence_module
from firmware.rig import load_rig
from hal.emulated.air_channel import AirChannel
from protocol.event_codes import EventCode
from tests.han_fixtures import joining_radio
from tests.hub.test_han_network import commissioned, hub_han
from tests.rig_files import demo_rig_copy
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)


@pytest.mark.req("18.9.h")
async def test_a_silent_device_is_shown_gone_and_back_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(presence_module, "QUIET_S", 0.5)
    monkeypatch.setattr(presence_module, "AWAY_PROBE_S", 0.2)
    monkeypatch.setattr(presence_module, "PROBE_TIMEOUT_S", 1.0)
    rig = load_rig(demo_rig_copy(tmp_path))
    channel = AirChannel()
    events: list[tuple[EventCode, dict[str, Any]]] = []
    han, dongle, store = hub_han(rig, channel, tmp_path, events)
    esme = rig.devices["esme"]
    try:
        await han.start()
        await commissioned(dongle, esme.eui64)
        async with joining_radio(channel, esme.eui64, "esme") as (radio, ncp, _inbox):
            await radio.join(link_key=esme.link_key, channel=rig.hub.channel)
            await eventually(lambda: han.joined()["esme"], 10, "the hub sees the ESME joined")
            await eventually(lambda: han.presence_of(esme)["last_heard"] is not None, 5, "heard it")
            heard = han.presence_of(esme)["last_heard"]
            await ncp.stop()  # the meter's radio goes off the air
            await eventually(lambda: not han.joined()["esme"], 15, "the hub sees it gone")
            assert han.presence_of(esme) == {"answering": False, "last_heard": heard}
            away = [d for code, d in events if code == EventCode.COMMUNICATION_ERROR_HAN]
            assert away and away[-1]["device"] == "esme" and away[-1]["last_heard"] == heard
            await ncp.start()  # back on: the same network, from its tokens
            await eventually(lambda: han.joined()["esme"], 15, "the hub sees it back")
            back = [d for code, d in events if code == EventCode.COMMUNICATION_OK_HAN]
            assert back and back[-1]["device"] == "esme"
            assert han.presence_of(esme)["last_heard"] > heard
    finally:
        await han.stop()
        store.close()

"""The emulated NCP as bellows sees it: every command bellows issues in our flows is implemented,
anything else is refused with invalidCommand, and both supported EZSP versions work."""

from __future__ import annotations

import asyncio

import bellows.types as t
import pytest
import zigpy.config as zc
from bellows.exception import InvalidCommandError
from bellows.ezsp import EZSP

from hal.emulated.air_channel import AirChannel
from hal.emulated.ncp.ezsp_handlers import IMPLEMENTED
from hal.emulated.ncp.runner import HostLink
from protocol.zigbee_security import link_key_from_install_code
from tests.han_fixtures import coordinator, joined_pair, joining_radio, permit, start_ncp

pytestmark = pytest.mark.timeout(90)
KEY = link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))


@pytest.mark.parametrize(
    ("hub_version", "device_version", "host_link"),
    [
        (13, 18, HostLink.TCP),
        (18, 13, HostLink.TCP),
        (13, 18, HostLink.PTY),
        (18, 13, HostLink.PTY),
    ],
)
async def test_commands_bellows_issues_forming_and_joining_are_all_implemented(
    hub_version: int, device_version: int, host_link: HostLink
) -> None:
    """Over TCP (socket://, RSTACK on connect) and a pseudo-terminal (RST from bellows)."""
    air = AirChannel()
    async with coordinator(air, hub_version, host_link) as (app, hub_ncp):
        await permit(app, 0x000D6F0000001001, KEY)
        async with joining_radio(
            air, 0x000D6F0000001001, "esme", device_version, host_link=host_link
        ) as (radio, ncp, _):
            await radio.join(link_key=KEY, channel=15)
            device_commands = ncp.commands_seen
    assert hub_ncp.unimplemented == set(), f"bellows needed {hub_ncp.unimplemented}"
    assert ncp.unimplemented == set()
    # the flows really exercised the stack, not just the handshake
    assert {
        "formNetwork",
        "permitJoining",
        "importTransientKey",
        "sendUnicast",
        "networkInit",
    } <= hub_ncp.commands_seen
    assert {"setInitialSecurityState", "addEndpoint", "joinNetwork"} <= device_commands
    assert hub_ncp.commands_seen | device_commands <= set(IMPLEMENTED)


@pytest.mark.parametrize("version", [13, 18])
async def test_a_command_we_do_not_implement_is_refused_not_faked(version: int) -> None:
    ncp = await start_ncp(AirChannel(), 0x000D6F0000009999, "probe", version)
    ezsp = EZSP(zc.SCHEMA_DEVICE({zc.CONF_DEVICE_PATH: ncp.url}))
    try:
        await ezsp.connect(use_thread=False)
        assert ezsp.ezsp_version == version
        with pytest.raises(InvalidCommandError):
            await ezsp.getSourceRouteTableEntry(index=0)
        assert "getSourceRouteTableEntry" in ncp.unimplemented
        (eui64,) = await ezsp.getEui64()
        assert str(eui64) == "00:0d:6f:00:00:00:99:99"
        # what the host configures is kept and read back, not acknowledged and forgotten
        group = t.EmberMulticastTableEntry(multicastId=0x1234, endpoint=1, networkIndex=0)
        (status,) = await ezsp.setMulticastTableEntry(index=3, value=group)
        assert t.sl_Status.from_ember_status(status) == t.sl_Status.OK
        status, entry = await ezsp.getMulticastTableEntry(index=3)
        assert entry.multicastId == 0x1234 and entry.endpoint == 1
        (status,) = await ezsp.setMulticastTableEntry(index=200, value=group)
        assert t.sl_Status.from_ember_status(status) != t.sl_Status.OK
    finally:
        await ezsp.disconnect()
        await ncp.stop()


def test_every_implemented_command_exists_in_both_supported_versions() -> None:
    for version in (13, 18):
        table = EZSP._BY_VERSION[version].COMMANDS
        missing = {name for name in IMPLEMENTED if name not in table}
        # a few commands exist only in one dialect: address-table info replaced the remote-*
        # pair in v14, and the Green Power proxy table command is new in v14 too
        assert missing <= {
            "getAddressTableInfo",
            "setAddressTableInfo",
            "getAddressTableRemoteEui64",
            "getAddressTableRemoteNodeId",
            "gpClearProxyTable",
        }


async def test_frames_keep_arriving_after_the_aps_counter_wraps() -> None:
    """Duplicate rejection is by time window: the 8-bit APS counter of a sender repeats every 256
    frames, so a receiver that heard counter N from it long ago must still take a new frame N."""
    async with joined_pair(AirChannel(), KEY) as pair:
        meter, ihd, ihd_ncp = pair.meter, pair.ihd, pair.ihd_ncp
        assert meter.node_id is not None
        await ihd.send(meter.node_id, 0x0702, 1, b"\x00\x01\x00\x00\x00")
        counter = ihd_ncp.stack.transmitter.aps_counter
        # the rest of the counter's cycle goes to the hub, at a realistic pace (~70 frames/s)
        while (ihd_ncp.stack.transmitter.aps_counter + 1) & 0xFF != counter:
            await ihd.send(0x0000, 0x0702, 9, b"\x00\x02\x00\x00\x00")
            await asyncio.sleep(0.012)  # the sender's pace: real time must pass, no wait
        await ihd.send(meter.node_id, 0x0702, 1, b"\x00\x03\x00\x00\x00")
        payloads = [m.payload[1] for m in pair.meter_inbox if m.cluster_id == 0x0702]
        assert payloads == [1, 3]


async def test_a_fast_burst_past_the_counter_wrap_is_all_delivered() -> None:
    """The emulated channel is faster than 250 kbit/s: 300 frames wrap the APS counter well
    within the duplicate-rejection window, and none of them may be taken for a retry."""
    async with joined_pair(AirChannel(), KEY) as pair:
        assert pair.meter.node_id is not None
        for index in range(300):
            await pair.ihd.send(pair.meter.node_id, 0x000A, 1, bytes([0x00, index & 0xFF, 0x00]))
        payloads = [m.payload[1] for m in pair.meter_inbox if m.cluster_id == 0x000A]
        assert payloads == [index & 0xFF for index in range(300)]

"""The emulated NCP as bellows sees it: every command bellows issues in our flows is implemented,
anything else is refused with invalidCommand, and both supported EZSP versions work."""

from __future__ import annotations

import pytest
import zigpy.config as zc
from bellows.exception import InvalidCommandError
from bellows.ezsp import EZSP

from hal.emulated.air import AirChannel
from hal.emulated.ncp.ezsp_handlers import IMPLEMENTED
from protocol.zigbee_security import link_key_from_install_code
from tests.han_fixtures import coordinator, joining_radio, permit, start_ncp

pytestmark = pytest.mark.timeout(90)
KEY = link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))


@pytest.mark.parametrize(("hub_version", "device_version"), [(13, 18), (18, 13)])
async def test_commands_bellows_issues_forming_and_joining_are_all_implemented(
    hub_version: int, device_version: int
) -> None:
    air = AirChannel()
    async with coordinator(air, hub_version) as (app, hub_ncp):
        await permit(app, 0x000D6F0000001001, KEY)
        async with joining_radio(air, 0x000D6F0000001001, "esme", device_version) as (
            radio,
            ncp,
            _,
        ):
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

"""The emulated NCP as a dongle for hosts other than our hub, byte for byte on the wire.

Each host session finds a freshly booted dongle; a host that sends its own RST after connecting
(zigbee-herdsman's ember adapter) and one that waits for the NCP's RSTACK (bellows) both start;
values, extended values and status codes are the ones EmberZNet sends for each EZSP version; a
frame the NCP cannot read is answered, never met with silence.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import bellows.types as t
import pytest
from bellows.ezsp import EZSP

from hal.emulated.air_channel import DEFAULT_RSSI, AirChannel, InProcessRadioLink
from hal.emulated.ncp.channel_energy import NOISE_FLOOR_DBM
from hal.emulated.ncp.network_management import scan_dwell_s
from hal.emulated.ncp.runner import EmulatedNcp
from protocol.ash import ResetCode, RstAckFrame
from tests.hal.raw_ezsp_host import RawEzspHost
from tests.han_fixtures import start_ncp

pytestmark = pytest.mark.timeout(60)
VERSIONS = (13, 18)
EUI64 = 0x000D6F00000D0001
NETWORK_KEY = bytes(range(16))
JOINED, NO_NETWORK = 0x02, 0x00


def frame_id(version: int, name: str) -> int:
    frame: int = EZSP._BY_VERSION[version].COMMANDS[name][0]
    return frame


def params(version: int, name: str, **values: Any) -> bytes:
    """A command's parameters serialised with bellows' own schema for `version`."""
    schema = EZSP._BY_VERSION[version].COMMANDS[name][1]
    return b"".join(bytes(kind(values[key]).serialize()) for key, kind in schema.items())


async def call(host: RawEzspHost, version: int, name: str, **values: Any) -> bytes:
    return await host.command(frame_id(version, name), params(version, name, **values))


def status_of(version: int, response: bytes) -> int:
    """The status at the start of a response: one byte up to v13, a 4-byte sl_Status after."""
    return response[0] if version < 14 else int.from_bytes(response[:4], "little")


async def start_session(host: RawEzspHost, version: int) -> None:
    """What bellows does first: wait for the connect-time RSTACK, negotiate the version."""
    assert isinstance(await host.next_frame(), RstAckFrame)
    assert (await host.version(version))[0] == version


@pytest.fixture(params=VERSIONS)
async def ncp(request: pytest.FixtureRequest) -> AsyncIterator[EmulatedNcp]:
    started = await start_ncp(AirChannel(), EUI64, "dongle", request.param)
    try:
        yield started
    finally:
        await started.stop()


def security_state() -> t.EmberInitialSecurityState:
    bitmask = (
        t.EmberInitialSecurityBitmask.HAVE_PRECONFIGURED_KEY
        | t.EmberInitialSecurityBitmask.HAVE_NETWORK_KEY
        | t.EmberInitialSecurityBitmask.TRUST_CENTER_GLOBAL_LINK_KEY
    )
    return t.EmberInitialSecurityState(
        bitmask=bitmask,
        preconfiguredKey=t.KeyData(b"ZigBeeAlliance09"),
        networkKey=t.KeyData(NETWORK_KEY),
        networkKeySequenceNumber=0,
        preconfiguredTrustCenterEui64=t.EUI64(bytes(8)),
    )


def network_parameters() -> t.EmberNetworkParameters:
    return t.EmberNetworkParameters(
        extendedPanId=t.ExtendedPanId(bytes(range(8))),
        panId=0x1A62,
        radioTxPower=8,
        radioChannel=15,
        joinMethod=t.EmberJoinMethod.USE_MAC_ASSOCIATION,
        nwkManagerId=0x0000,
        nwkUpdateId=0,
        channels=t.Channels.from_channel_list([15]),
    )


async def add_endpoint(host: RawEzspHost, version: int) -> int:
    response = await call(
        host,
        version,
        "addEndpoint",
        endpoint=1,
        profileId=0x0104,
        deviceId=0x0005,
        deviceVersion=0,
        inputClusterCount=0,
        outputClusterCount=0,
        inputClusterList=t.List[t.uint16_t]([]),
        outputClusterList=t.List[t.uint16_t]([]),
    )
    return status_of(version, response)


async def network_state(host: RawEzspHost, version: int) -> int:
    return (await call(host, version, "networkState"))[0]


async def test_every_host_session_finds_a_freshly_booted_dongle(ncp: EmulatedNcp) -> None:
    """RAM state (endpoints, configuration, network up) goes with the host; tokens stay."""
    version = ncp.version
    async with RawEzspHost(ncp.port) as host:
        await start_session(host, version)
        assert await add_endpoint(host, version) == 0
        max_hops = t.EzspConfigId.CONFIG_MAX_HOPS
        response = await call(host, version, "setConfigurationValue", configId=max_hops, value=7)
        assert status_of(version, response) == 0
        response = await call(host, version, "setInitialSecurityState", state=security_state())
        assert status_of(version, response) == 0
        response = await call(host, version, "formNetwork", parameters=network_parameters())
        assert status_of(version, response) == 0
        assert await network_state(host, version) == JOINED
    async with RawEzspHost(ncp.port) as host:
        await start_session(host, version)
        assert await network_state(host, version) == NO_NETWORK  # until networkInit
        response = await call(host, version, "getConfigurationValue", configId=max_hops)
        assert response[-2:] == (30).to_bytes(2, "little")  # the default again
        assert await add_endpoint(host, version) == 0  # endpoint 1 is free again
        bitmask = t.EmberNetworkInitBitmask.NETWORK_INIT_NO_OPTIONS
        response = await call(host, version, "networkInit", networkInitBitmask=bitmask)
        assert status_of(version, response) == 0  # the network came back from the tokens
        assert await network_state(host, version) == JOINED
    assert ncp.state.pan_id == 0x1A62 and ncp.state.network_key == NETWORK_KEY


async def test_a_host_that_sends_rst_first_is_answered_after_a_fresh_reset(
    ncp: EmulatedNcp,
) -> None:
    """zigbee-herdsman ignores an RSTACK whose reason is not RESET_SOFTWARE until it has sent
    RST itself, then takes the RSTACK that answers it: the NCP's connect-time RSTACK says
    power-on, the answer to RST says software reset, and the session starts afresh."""
    version = ncp.version
    async with RawEzspHost(ncp.port) as host:
        assert await host.next_frame() == RstAckFrame(ResetCode.RESET_POWER_ON)
        assert await host.reset() == ResetCode.RESET_SOFTWARE
        assert (await host.version(version))[0] == version
        assert await add_endpoint(host, version) == 0
        # a RST in the middle of a session reboots the NCP again: endpoint 1 is free again
        assert await host.reset() == ResetCode.RESET_SOFTWARE
        assert (await host.version(version))[0] == version
        assert await add_endpoint(host, version) == 0


async def test_endpoint_flags_are_read_with_get_extended_value(ncp: EmulatedNcp) -> None:
    """Two value bytes always come back, with an error status for an unknown endpoint."""
    version = ncp.version
    flags = t.EzspExtendedValueId.EXTENDED_VALUE_ENDPOINT_FLAGS
    async with RawEzspHost(ncp.port) as host:
        await start_session(host, version)
        assert await add_endpoint(host, version) == 0
        response = await call(host, version, "getExtendedValue", valueId=flags, characteristics=1)
        status_len = 1 if version < 14 else 4
        assert status_of(version, response) == 0
        assert response[status_len:] == b"\x02\x01\x00"  # length 2, EZSP_ENDPOINT_ENABLED
        set_flags = t.EzspValueId.VALUE_ENDPOINT_FLAGS
        response = await call(host, version, "setValue", valueId=set_flags, value=b"\x01\x00\x00")
        assert status_of(version, response) == 0
        response = await call(host, version, "getExtendedValue", valueId=flags, characteristics=1)
        assert response[status_len:] == b"\x02\x00\x00"  # disabled now
        response = await call(host, version, "getExtendedValue", valueId=flags, characteristics=9)
        assert status_of(version, response) != 0
        assert response[status_len:] == b"\x02\x00\x00"


@pytest.mark.parametrize(
    ("value_id", "value"),
    [
        (t.EzspValueId.VALUE_EXTENDED_SECURITY_BITMASK, b"\x10\x01"),
        (t.EzspValueId.VALUE_TRANSIENT_DEVICE_TIMEOUT, (10_000).to_bytes(2, "little")),
        (t.EzspValueId.VALUE_STACK_TOKEN_WRITING, b"\x00"),
    ],
)
async def test_values_hosts_set_at_start_up_are_taken_and_read_back(
    ncp: EmulatedNcp, value_id: t.EzspValueId, value: bytes
) -> None:
    version = ncp.version
    async with RawEzspHost(ncp.port) as host:
        await start_session(host, version)
        response = await call(host, version, "setValue", valueId=value_id, value=value)
        assert status_of(version, response) == 0
        response = await call(host, version, "getValue", valueId=value_id)
        assert status_of(version, response) == 0
        assert response[-len(value) - 1 :] == bytes([len(value)]) + value
        # the wrong length is refused, not stored
        response = await call(host, version, "setValue", valueId=value_id, value=value + b"\x00")
        assert status_of(version, response) != 0


@pytest.mark.parametrize(
    ("version", "expected"),
    [(13, bytes([0x93])), (18, t.sl_Status.NOT_JOINED.to_bytes(4, "little"))],
)
async def test_network_init_on_a_blank_ncp_answers_not_joined(
    version: int, expected: bytes
) -> None:
    """On v13 the status is EmberStatus NOT_JOINED (0x93), not another code bellows happens to
    map to the same sl_Status (CANNOT_JOIN_AS_ROUTER, 0x98)."""
    ncp = await start_ncp(AirChannel(), EUI64, "dongle", version)
    try:
        async with RawEzspHost(ncp.port) as host:
            await start_session(host, version)
            bitmask = t.EmberNetworkInitBitmask.NETWORK_INIT_NO_OPTIONS
            response = await call(host, version, "networkInit", networkInitBitmask=bitmask)
            assert response == expected
    finally:
        await ncp.stop()


KEY = bytes(range(0x40, 0x50))
JOINER = bytes.fromhex("0110203040506070")  # EUI-64 as sent: little-endian


async def test_import_transient_key_takes_the_layout_of_each_version(ncp: EmulatedNcp) -> None:
    """EZSP 14 dropped the flags byte (zigbee-herdsman sends it only below 14); bellows still
    sends it on v18, and the firmware ignores the byte after the last parameter. Up to v13 the
    flags byte belongs to the command: without it the frame is answered with invalidCommand
    (EZSP_ERROR_TRUNCATED), as any frame the NCP cannot read."""
    version = ncp.version
    command = frame_id(version, "importTransientKey")
    joiner = int.from_bytes(JOINER, "little")
    async with RawEzspHost(ncp.port) as host:
        await start_session(host, version)
        with_flags = await host.command(command, JOINER + KEY + b"\x00")
        assert with_flags == t.sl_Status.OK.to_bytes(4, "little")
        assert ncp.state.transient_keys[joiner].key == KEY
        ncp.state.transient_keys.clear()
        without_flags = await host.command_raw(host._header(command, True) + JOINER + KEY)
        if version >= 14:
            assert without_flags[3:5] == command.to_bytes(2, "little")
            assert without_flags[5:] == t.sl_Status.OK.to_bytes(4, "little")
            assert ncp.state.transient_keys[joiner].key == KEY
        else:
            invalid = frame_id(version, "invalidCommand")
            assert without_flags[3:5] == invalid.to_bytes(2, "little")
            assert without_flags[5] == t.EzspStatus.ERROR_TRUNCATED
            assert joiner not in ncp.state.transient_keys


async def test_a_frame_too_short_to_read_is_answered_not_ignored(ncp: EmulatedNcp) -> None:
    version = ncp.version
    invalid = frame_id(version, "invalidCommand").to_bytes(2, "little")
    async with RawEzspHost(ncp.port) as host:
        await start_session(host, version)
        # setValue with its value id and nothing else
        response = await host.command_raw(
            host._header(frame_id(version, "setValue"), True) + b"\x0a"
        )
        assert response[3:5] == invalid and response[5] == t.EzspStatus.ERROR_TRUNCATED
        # and the link is still fine
        assert await network_state(host, version) == NO_NETWORK


@pytest.mark.parametrize(
    ("name", "values", "code"),
    [
        ("getChildData", {"index": 5}, 0x03),  # NOT_FOUND, not TABLE_ENTRY_ERASED (0xB6)
        (
            "setMulticastTableEntry",
            {"index": 200, "value": t.EmberMulticastTableEntry(0x1234, 1, 0)},
            0xB1,  # INDEX_OUT_OF_RANGE, not INVALID_BINDING_INDEX (0x6C)
        ),
        (
            "formNetwork",  # no network key set: SECURITY_CONFIGURATION_INVALID, not 0xBD
            {"parameters": network_parameters()},
            0xB7,
        ),
        (
            "startScan",  # no channel: BAD_ARGUMENT, not SERIAL_INVALID_PORT (0x21)
            {"scanType": t.EzspNetworkScanType.ENERGY_SCAN, "channelMask": 0, "duration": 1},
            0x02,
        ),
    ],
)
async def test_v13_sends_the_ember_status_codes_of_emberznet(
    name: str, values: dict[str, Any], code: int
) -> None:
    ncp = await start_ncp(AirChannel(), EUI64, "dongle", 13)
    try:
        async with RawEzspHost(ncp.port) as host:
            await start_session(host, 13)
            assert (await call(host, 13, name, **values))[0] == code
    finally:
        await ncp.stop()


@pytest.mark.parametrize("version", VERSIONS)
async def test_an_energy_scan_reports_what_the_air_carries_after_its_dwell(version: int) -> None:
    """Through ASH and EZSP: a neighbour's traffic on channel 20 shows; channel 19 is quiet."""
    air = AirChannel()
    ncp = await start_ncp(air, EUI64, "dongle", version)
    neighbour = InProcessRadioLink(air, 0x000D6F0000000777, "neighbour")
    await neighbour.open(lambda _message: None)
    scan = frame_id(version, "energyScanResultHandler").to_bytes(2, "little")
    try:
        async with RawEzspHost(ncp.port) as host:
            await start_session(host, version)
            neighbour.transmit(20, bytes(10))
            mask = t.Channels.from_channel_list([19, 20])
            energy = t.EzspNetworkScanType.ENERGY_SCAN
            started = time.monotonic()
            response = await call(
                host, version, "startScan", scanType=energy, channelMask=mask, duration=3
            )
            assert status_of(version, response) == 0
            results = [await host.callback() for _ in range(2)]
            took = time.monotonic() - started
            assert [r[3:5] for r in results] == [scan, scan]
            heard = [(r[5], int.from_bytes(r[6:7], "little", signed=True)) for r in results]
            assert heard == [(19, NOISE_FLOOR_DBM), (20, DEFAULT_RSSI)]
            assert took >= 2 * scan_dwell_s(3)  # each channel takes its dwell: 2 x 138 ms
            done = await host.callback()
            assert done[3:5] == frame_id(version, "scanCompleteHandler").to_bytes(2, "little")
    finally:
        await neighbour.close()
        await ncp.stop()

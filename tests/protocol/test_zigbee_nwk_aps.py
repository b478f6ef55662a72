"""ZigBee NWK and APS codecs: hand-built byte vectors, round trips, malformed input.

tshark's view of the same frames (with and without security) is in test_zigbee_security.py.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError, LocalProtocolError
from protocol.ieee802154 import Capability
from protocol.zigbee_aps import (
    ApsCommand,
    ApsFrame,
    ApsFrameType,
    DeliveryMode,
    ExtendedHeader,
    Fragmentation,
    RemoveDevice,
    RequestKey,
    RequestKeyType,
    SwitchKey,
    TransportAppLinkKey,
    TransportNetworkKey,
    TransportTcLinkKey,
    UpdateDevice,
    UpdateDeviceStatus,
    parse_aps_command,
)
from protocol.zigbee_nwk import (
    DiscoverRoute,
    Leave,
    LeaveOptions,
    NetworkStatus,
    NwkCommand,
    NwkFrame,
    NwkFrameType,
    RejoinRequest,
    RejoinResponse,
    SourceRoute,
    parse_nwk_command,
)
from tests.protocol.test_ieee802154 import near, u8, u16, u64

EUI_TC = 0x00124B0001020304
EUI_DEV = 0x00124B00AABBCCDD
EUI_TC_WIRE = "04030201004b1200"
EUI_DEV_WIRE = "ddccbbaa004b1200"
KEY = bytes(range(16))

# --- NWK ---------------------------------------------------------------------------------------

nwk_frames = st.builds(
    NwkFrame,
    frame_type=st.sampled_from(NwkFrameType),
    dst=u16,
    src=u16,
    radius=u8,
    seq=u8,
    discover_route=st.sampled_from(DiscoverRoute),
    security=st.booleans(),
    end_device_initiator=st.booleans(),
    dst64=st.none() | u64,
    src64=st.none() | u64,
    multicast_control=st.none() | u8,
    source_route=st.none() | st.builds(SourceRoute, u8, st.lists(u16, max_size=6).map(tuple)),
    payload=st.binary(max_size=60),
)

nwk_commands = st.one_of(
    st.builds(NetworkStatus, u8, u16),
    st.builds(Leave, st.sampled_from([0, 0x20, 0x40, 0x60, 0x80, 0xE0]).map(LeaveOptions)),
    st.builds(RejoinRequest, u8.map(Capability)),
    st.builds(RejoinResponse, u16, u8),
)

NWK_VECTORS = [
    # Unsecured data frame, route discovery suppressed: header is 8 octets.
    ("0800000034121e05aabb", NwkFrame(NwkFrameType.DATA, 0, 0x1234, 30, 5, payload=b"\xaa\xbb")),
    # Secured command with both IEEE addresses (FC 0x1A09): the payload stays raw.
    (
        "091a34120000010b" + EUI_TC_WIRE + EUI_DEV_WIRE + "28",
        NwkFrame(
            NwkFrameType.COMMAND,
            0x1234,
            0,
            1,
            11,
            security=True,
            dst64=EUI_TC,
            src64=EUI_DEV,
            payload=b"\x28",
        ),
    ),
    # Discover route enabled, multicast with its control octet (FC 0x0148).
    (
        "480101003412050612",
        NwkFrame(NwkFrameType.DATA, 1, 0x1234, 5, 6, DiscoverRoute.ENABLE, multicast_control=0x12),
    ),
    # Source route: relay count 2, relay index 1, relays 0x0010 and 0x0020 (FC 0x0408).
    (
        "0804341200001e07020110002000",
        NwkFrame(NwkFrameType.DATA, 0x1234, 0, 30, 7, source_route=SourceRoute(1, (0x10, 0x20))),
    ),
    # End device initiator (FC 0x2008).
    ("0820000034120108", NwkFrame(NwkFrameType.DATA, 0, 0x1234, 1, 8, end_device_initiator=True)),
]


@pytest.mark.parametrize(("wire", "frame"), NWK_VECTORS)
def test_nwk_vectors(wire: str, frame: NwkFrame) -> None:
    data = bytes.fromhex(wire)
    assert NwkFrame.parse(data) == frame
    assert frame.build() == data
    assert data.startswith(frame.header_bytes())
    assert data[len(frame.header_bytes()) :] == frame.payload


@given(nwk_frames)
def test_nwk_round_trip(frame: NwkFrame) -> None:
    assert NwkFrame.parse(frame.build()) == frame
    assert frame.with_payload(b"").build() == frame.header_bytes()


@given(near(nwk_frames.map(NwkFrame.build)))
def test_nwk_parse_is_canonical_or_refuses(data: bytes) -> None:
    try:
        frame = NwkFrame.parse(data)
    except DecodeError:
        return
    assert frame.build() == data


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        ("0400000000000000", "protocol version 1 (ZigBee 2004)"),
        ("0a00000000000000", "frame type 2 is reserved"),
        ("8800000000000000", "discover route 2 is reserved"),
        ("0840000000000000", "reserved bit 14"),
        ("0808000000000000", "destination IEEE address announced but missing"),
        ("08000000000000", "truncated header"),
    ],
)
def test_nwk_refuses_malformed(wire: str, why: str) -> None:
    with pytest.raises(DecodeError):
        NwkFrame.parse(bytes.fromhex(wire))


@pytest.mark.parametrize(
    ("wire", "command"),
    [
        ("0301feff", NetworkStatus(0x01, 0xFFFE)),
        ("0400", Leave()),
        ("0460", Leave(LeaveOptions.REJOIN | LeaveOptions.REQUEST)),
        ("0480", Leave(LeaveOptions.REMOVE_CHILDREN)),
        ("068e", RejoinRequest(Capability(0x8E))),
        ("07341200", RejoinResponse(0x1234, 0)),
    ],
)
def test_nwk_command_vectors(wire: str, command: NwkCommand) -> None:
    assert parse_nwk_command(bytes.fromhex(wire)) == command
    assert command.build() == bytes.fromhex(wire)


@given(nwk_commands)
def test_nwk_command_round_trip(command: NwkCommand) -> None:
    assert parse_nwk_command(command.build()) == command


@given(near(nwk_commands.map(lambda cmd: cmd.build()), max_size=6))
def test_nwk_command_parse_is_canonical_or_refuses(data: bytes) -> None:
    try:
        command = parse_nwk_command(data)
    except DecodeError:
        return
    assert command.build() == data


@pytest.mark.parametrize("wire", ["", "01", "0401", "0460ff", "06", "073412"])
def test_nwk_command_refuses_malformed(wire: str) -> None:
    with pytest.raises(DecodeError):
        parse_nwk_command(bytes.fromhex(wire))


# --- APS ---------------------------------------------------------------------------------------


@st.composite
def aps_frames(draw: st.DrawFn) -> ApsFrame:
    frame_type = draw(st.sampled_from(ApsFrameType))
    acked = frame_type == ApsFrameType.ACK
    delivery = DeliveryMode.UNICAST if acked else draw(st.sampled_from(DeliveryMode))
    ack_format = frame_type == ApsFrameType.ACK and draw(st.booleans())
    endpoints = frame_type == ApsFrameType.DATA or (
        frame_type == ApsFrameType.ACK and not ack_format
    )
    group = frame_type == ApsFrameType.DATA and delivery == DeliveryMode.GROUP
    extended = None
    if draw(st.booleans()):
        fragmentation = draw(st.sampled_from(Fragmentation))
        fragmented = fragmentation != Fragmentation.NONE
        extended = ExtendedHeader(
            fragmentation,
            draw(u8) if fragmented else None,
            draw(u8) if fragmented and frame_type == ApsFrameType.ACK else None,
        )
    return ApsFrame(
        frame_type=frame_type,
        counter=draw(u8),
        delivery_mode=delivery,
        dst_endpoint=draw(u8) if endpoints and not group else None,
        group=draw(u16) if group else None,
        cluster=draw(u16) if endpoints else None,
        profile=draw(u16) if endpoints else None,
        src_endpoint=draw(u8) if endpoints else None,
        ack_format=ack_format,
        security=draw(st.booleans()),
        ack_request=draw(st.booleans()),
        extended_header=extended,
        payload=draw(st.binary(max_size=60)),
    )


keys = st.binary(min_size=16, max_size=16)
aps_commands = st.one_of(
    st.builds(TransportNetworkKey, keys, u8, u64, u64),
    st.builds(TransportTcLinkKey, keys, u64, u64),
    st.builds(TransportAppLinkKey, keys, u64, st.booleans()),
    st.builds(UpdateDevice, u64, u16, st.sampled_from(UpdateDeviceStatus)),
    st.builds(RemoveDevice, u64),
    st.builds(RequestKey, st.just(RequestKeyType.APPLICATION_LINK_KEY), u64),
    st.builds(RequestKey, st.just(RequestKeyType.TRUST_CENTER_LINK_KEY)),
    st.builds(SwitchKey, u8),
)

SE_READ = bytes.fromhex("0001000000")  # ZCL Read Attributes of CurrentSummationDelivered

APS_VECTORS = [
    # Unicast data: dst endpoint 1, cluster 0x0702 (Metering), profile 0x0109 (SE), src ep 1.
    (
        "0001020709010107" + SE_READ.hex(),
        ApsFrame(
            ApsFrameType.DATA,
            7,
            dst_endpoint=1,
            cluster=0x0702,
            profile=0x0109,
            src_endpoint=1,
            payload=SE_READ,
        ),
    ),
    # Group data with ack request (FC 0x4C): the group address replaces the endpoint.
    (
        "4c3412060004010108",
        ApsFrame(
            ApsFrameType.DATA,
            8,
            DeliveryMode.GROUP,
            group=0x1234,
            cluster=6,
            profile=0x0104,
            src_endpoint=1,
            ack_request=True,
        ),
    ),
    # Broadcast data (FC 0x08).
    (
        "08ff0a0009010109",
        ApsFrame(
            ApsFrameType.DATA,
            9,
            DeliveryMode.BROADCAST,
            dst_endpoint=0xFF,
            cluster=0x0A,
            profile=0x0109,
            src_endpoint=1,
        ),
    ),
    # Ack of a data frame: endpoints, cluster and profile echoed (FC 0x02).
    (
        "0201020709010107",
        ApsFrame(
            ApsFrameType.ACK, 7, dst_endpoint=1, cluster=0x0702, profile=0x0109, src_endpoint=1
        ),
    ),
    # Ack of a command (ack format set, FC 0x12): counter only.
    ("1203", ApsFrame(ApsFrameType.ACK, 3, ack_format=True)),
    # Secured command (FC 0x21): counter, then aux header + encrypted command id and body.
    ("210430", ApsFrame(ApsFrameType.COMMAND, 4, security=True, payload=b"\x30")),
    # Extended header, first fragment of block 0 (FC 0x80, ext FC 0x01).
    (
        "800102070901010a0100",
        ApsFrame(
            ApsFrameType.DATA,
            10,
            dst_endpoint=1,
            cluster=0x0702,
            profile=0x0109,
            src_endpoint=1,
            extended_header=ExtendedHeader(Fragmentation.FIRST, 0),
        ),
    ),
]


@pytest.mark.parametrize(("wire", "frame"), APS_VECTORS)
def test_aps_vectors(wire: str, frame: ApsFrame) -> None:
    data = bytes.fromhex(wire)
    assert ApsFrame.parse(data) == frame
    assert frame.build() == data
    assert data == frame.header_bytes() + frame.payload


@given(aps_frames())
def test_aps_round_trip(frame: ApsFrame) -> None:
    assert ApsFrame.parse(frame.build()) == frame


@given(near(aps_frames().map(ApsFrame.build)))
def test_aps_parse_is_canonical_or_refuses(data: bytes) -> None:
    try:
        frame = ApsFrame.parse(data)
    except DecodeError:
        return
    assert frame.build() == data


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        ("04010000000000", "delivery mode 1 (indirect) is retired"),
        ("03000000000000", "inter-PAN frames are not APS frames here"),
        ("0a0102070901010a", "a broadcast acknowledgement"),
        ("810004", "reserved extended frame control bits"),
        ("000102070901", "truncated before the counter"),
        ("", "empty"),
    ],
)
def test_aps_refuses_malformed(wire: str, why: str) -> None:
    with pytest.raises(DecodeError):
        ApsFrame.parse(bytes.fromhex(wire))


def test_aps_refuses_inconsistent_fields() -> None:
    with pytest.raises(LocalProtocolError, match="needs dst_endpoint"):
        ApsFrame(ApsFrameType.DATA, 1, cluster=6, profile=0x104, src_endpoint=1)
    with pytest.raises(LocalProtocolError, match="has no dst_endpoint"):
        ApsFrame(ApsFrameType.COMMAND, 1, dst_endpoint=1)
    with pytest.raises(LocalProtocolError):
        ApsFrame(
            ApsFrameType.DATA,
            1,
            DeliveryMode.GROUP,
            dst_endpoint=1,
            cluster=6,
            profile=0x104,
            src_endpoint=1,
        )
    with pytest.raises(LocalProtocolError):
        ApsFrame(ApsFrameType.COMMAND, 1, extended_header=ExtendedHeader(Fragmentation.FIRST))


APS_COMMAND_VECTORS = [
    (
        "0501" + KEY.hex() + "00" + EUI_DEV_WIRE + EUI_TC_WIRE,
        TransportNetworkKey(KEY, 0, EUI_DEV, EUI_TC),
    ),
    ("0504" + KEY.hex() + EUI_DEV_WIRE + EUI_TC_WIRE, TransportTcLinkKey(KEY, EUI_DEV, EUI_TC)),
    ("0503" + KEY.hex() + EUI_DEV_WIRE + "01", TransportAppLinkKey(KEY, EUI_DEV, True)),
    (
        "06" + EUI_DEV_WIRE + "341201",
        UpdateDevice(EUI_DEV, 0x1234, UpdateDeviceStatus.UNSECURED_JOIN),
    ),
    ("07" + EUI_DEV_WIRE, RemoveDevice(EUI_DEV)),
    ("0804", RequestKey(RequestKeyType.TRUST_CENTER_LINK_KEY)),
    ("0802" + EUI_DEV_WIRE, RequestKey(RequestKeyType.APPLICATION_LINK_KEY, EUI_DEV)),
    ("0905", SwitchKey(5)),
]


@pytest.mark.parametrize(("wire", "command"), APS_COMMAND_VECTORS)
def test_aps_command_vectors(wire: str, command: ApsCommand) -> None:
    assert parse_aps_command(bytes.fromhex(wire)) == command
    assert command.build() == bytes.fromhex(wire)


@given(aps_commands)
def test_aps_command_round_trip(command: ApsCommand) -> None:
    assert parse_aps_command(command.build()) == command


@given(near(aps_commands.map(lambda cmd: cmd.build()), max_size=40))
def test_aps_command_parse_is_canonical_or_refuses(data: bytes) -> None:
    try:
        command = parse_aps_command(data)
    except DecodeError:
        return
    assert command.build() == data


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        ("0502" + KEY.hex(), "key type 2 (application master key) is retired"),
        ("0501" + KEY.hex(), "truncated network key descriptor"),
        ("05030000000000000000000000000000000000000000000000000002", "initiator flag 2"),
        ("060000000000000000000004", "update-device status 4"),
        ("0803", "request-key type 3"),
        ("0a", "unknown command 0x0a"),
        ("090506", "trailing octet"),
    ],
)
def test_aps_command_refuses_malformed(wire: str, why: str) -> None:
    with pytest.raises(DecodeError):
        parse_aps_command(bytes.fromhex(wire))


def test_aps_command_refuses_bad_fields() -> None:
    with pytest.raises(LocalProtocolError):
        TransportNetworkKey(KEY[:15], 0, 1, 2).build()
    with pytest.raises(LocalProtocolError):
        RequestKey(RequestKeyType.TRUST_CENTER_LINK_KEY, EUI_DEV)

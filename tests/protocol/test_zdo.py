"""ZDO payload codecs: byte vectors, round trips, zigpy's ZDO schema as a second implementation,
and tshark's ZDP dissector on the same payloads inside secured NWK frames."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import zigpy.types as zigpy_t
import zigpy.zdo.types as zdo_t
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError, LocalProtocolError
from protocol.ieee802154 import AddrMode, Capability, FrameType, MacFrame, eui64_to_str
from protocol.zdo import (
    ZDO_MESSAGES,
    ActiveEpReq,
    ActiveEpRsp,
    AddrRequestType,
    DeviceAnnce,
    IeeeAddrReq,
    IeeeAddrRsp,
    MatchDescReq,
    MatchDescRsp,
    MgmtLeaveOptions,
    MgmtLeaveReq,
    MgmtLeaveRsp,
    MgmtPermitJoiningReq,
    MgmtPermitJoiningRsp,
    NodeDescReq,
    NodeDescRsp,
    NwkAddrReq,
    NwkAddrRsp,
    SimpleDescReq,
    SimpleDescRsp,
    Status,
    ZdoMessage,
    parse_zdo,
)
from protocol.zigbee_aps import ApsFrame, ApsFrameType
from protocol.zigbee_nwk import NwkFrame, NwkFrameType
from protocol.zigbee_security import secure_nwk_frame
from tests.protocol.test_ieee802154 import near, tshark_fields, u8, u16, u64

EUI_DEV = 0x00124B00AABBCCDD
EUI_DEV_WIRE = "ddccbbaa004b1200"
NETWORK_KEY = bytes.fromhex("01030507090b0d0f00020406080a0c0d")

NODE_DESCRIPTOR = zdo_t.NodeDescriptor(  # type: ignore[no-untyped-call]  # zigpy's Struct
    logical_type=zdo_t.LogicalType.Router,
    complex_descriptor_available=0,
    user_descriptor_available=0,
    reserved=0,
    aps_flags=0,
    frequency_band=zdo_t.NodeDescriptor.FrequencyBand.Freq2400MHz,
    mac_capability_flags=zdo_t.NodeDescriptor.MACCapabilityFlags(0x8E),  # type: ignore[no-untyped-call]
    manufacturer_code=0x1234,
    maximum_buffer_size=82,
    maximum_incoming_transfer_size=82,
    server_mask=0x2C00,
    maximum_outgoing_transfer_size=82,
    descriptor_capability_field=zdo_t.NodeDescriptor.DescriptorCapability.NONE,
)
SIMPLE_DESCRIPTOR = zdo_t.SimpleDescriptor(
    endpoint=1,
    profile=0x0109,
    device_type=0x0501,
    device_version=0,
    input_clusters=[0x0000, 0x0702],
    output_clusters=[0x000A],
)

VECTORS: list[tuple[str, ZdoMessage]] = [
    ("01" + EUI_DEV_WIRE + "0000", NwkAddrReq(1, EUI_DEV)),
    ("0234120100", IeeeAddrReq(2, 0x1234, AddrRequestType.Extended)),
    ("0300" + EUI_DEV_WIRE + "3412", NwkAddrRsp(3, Status.SUCCESS, EUI_DEV, 0x1234)),
    ("0400" + EUI_DEV_WIRE + "341200", IeeeAddrRsp(4, Status.SUCCESS, EUI_DEV, 0x1234, ())),
    (
        "0500" + EUI_DEV_WIRE + "3412020155556666",
        IeeeAddrRsp(5, Status.SUCCESS, EUI_DEV, 0x1234, (0x5555, 0x6666), 1),
    ),
    ("060000", NodeDescReq(6, 0)),
    # Router, 2.4 GHz, capability 0x8E, manufacturer 0x1234, buffer 82, server mask 0x2C00.
    ("0700000001408e3412525200002c520000", NodeDescRsp(7, Status.SUCCESS, 0, NODE_DESCRIPTOR)),
    ("08813412", NodeDescRsp(8, Status.DEVICE_NOT_FOUND, 0x1234)),
    ("09341201", SimpleDescReq(9, 0x1234, 1)),
    (
        "0a0000000e0109010105000200000207010a00",
        SimpleDescRsp(10, Status.SUCCESS, 0, SIMPLE_DESCRIPTOR),
    ),
    ("0b83000000", SimpleDescRsp(11, Status.NOT_ACTIVE, 0)),
    ("0c0000", ActiveEpReq(12, 0)),
    ("0d000000020102", ActiveEpRsp(13, Status.SUCCESS, 0, (1, 2))),
    (
        "0efdff0901010207010a00",
        MatchDescReq(14, 0xFFFD, 0x0109, (0x0702,), (0x000A,)),
    ),
    ("0f0034120101", MatchDescRsp(15, Status.SUCCESS, 0x1234, (1,))),
    ("103412" + EUI_DEV_WIRE + "8e", DeviceAnnce(16, 0x1234, EUI_DEV, Capability(0x8E))),
    ("11" + EUI_DEV_WIRE + "80", MgmtLeaveReq(17, EUI_DEV, MgmtLeaveOptions.REJOIN)),
    ("1200", MgmtLeaveRsp(18, Status.SUCCESS)),
    ("133c01", MgmtPermitJoiningReq(19, 60, True)),
    ("1400", MgmtPermitJoiningRsp(20, Status.SUCCESS)),
]


@pytest.mark.parametrize(("wire", "message"), VECTORS)
def test_zdo_vectors(wire: str, message: ZdoMessage) -> None:
    data = bytes.fromhex(wire)
    assert parse_zdo(message.CLUSTER_ID, data) == message
    assert message.build() == data


def test_every_message_has_a_vector() -> None:
    assert {m.CLUSTER_ID for _, m in VECTORS} == set(ZDO_MESSAGES)


statuses = u8.map(Status)
clusters = st.lists(u16, max_size=8).map(tuple)
node_descriptors = st.builds(
    zdo_t.NodeDescriptor,
    logical_type=st.sampled_from(zdo_t.LogicalType),
    complex_descriptor_available=st.integers(0, 1),
    user_descriptor_available=st.integers(0, 1),
    reserved=st.integers(0, 7),
    aps_flags=st.integers(0, 7),
    frequency_band=st.integers(0, 31).map(zdo_t.NodeDescriptor.FrequencyBand),
    mac_capability_flags=u8.map(zdo_t.NodeDescriptor.MACCapabilityFlags),
    manufacturer_code=u16,
    maximum_buffer_size=u8,
    maximum_incoming_transfer_size=u16,
    server_mask=u16,
    maximum_outgoing_transfer_size=u16,
    descriptor_capability_field=u8.map(zdo_t.NodeDescriptor.DescriptorCapability),
)
simple_descriptors = st.builds(
    zdo_t.SimpleDescriptor,
    endpoint=u8,
    profile=u16,
    device_type=u16,
    device_version=u8,
    input_clusters=st.lists(u16, max_size=8),
    output_clusters=st.lists(u16, max_size=8),
)


@st.composite
def addr_rsps(draw: st.DrawFn, kind: type[NwkAddrRsp]) -> NwkAddrRsp:
    associated = draw(st.none() | st.lists(u16, max_size=6).map(tuple))
    start = draw(u8) if associated else 0
    return kind(draw(u8), draw(statuses), draw(u64), draw(u16), associated, start)


@st.composite
def descriptor_rsps(
    draw: st.DrawFn, kind: type[NodeDescRsp | SimpleDescRsp], descriptors: Any
) -> NodeDescRsp | SimpleDescRsp:
    status = draw(statuses)
    descriptor = draw(descriptors) if status == Status.SUCCESS else None
    return kind(draw(u8), status, draw(u16), descriptor)


messages = st.one_of(
    st.builds(NwkAddrReq, u8, u64, st.sampled_from(AddrRequestType), u8),
    st.builds(IeeeAddrReq, u8, u16, st.sampled_from(AddrRequestType), u8),
    addr_rsps(NwkAddrRsp),
    addr_rsps(IeeeAddrRsp),
    st.builds(NodeDescReq, u8, u16),
    descriptor_rsps(NodeDescRsp, node_descriptors),
    st.builds(SimpleDescReq, u8, u16, u8),
    descriptor_rsps(SimpleDescRsp, simple_descriptors),
    st.builds(ActiveEpReq, u8, u16),
    st.builds(ActiveEpRsp, u8, statuses, u16, st.lists(u8, max_size=8).map(tuple)),
    st.builds(MatchDescReq, u8, u16, u16, clusters, clusters),
    st.builds(MatchDescRsp, u8, statuses, u16, st.lists(u8, max_size=8).map(tuple)),
    st.builds(DeviceAnnce, u8, u16, u64, u8.map(Capability)),
    st.builds(MgmtLeaveReq, u8, u64, st.sampled_from([0, 0x40, 0x80, 0xC0]).map(MgmtLeaveOptions)),
    st.builds(MgmtLeaveRsp, u8, statuses),
    st.builds(MgmtPermitJoiningReq, u8, u8, st.booleans()),
    st.builds(MgmtPermitJoiningRsp, u8, statuses),
)


@given(messages)
def test_zdo_round_trip(message: ZdoMessage) -> None:
    assert parse_zdo(message.CLUSTER_ID, message.build()) == message


@given(st.sampled_from(sorted(ZDO_MESSAGES)), near(messages.map(ZdoMessage.build)))
def test_zdo_parse_is_canonical_or_refuses(cluster: int, data: bytes) -> None:
    try:
        message = parse_zdo(cluster, data)
    except DecodeError:
        return
    assert message.build() == data


def _as_zigpy(value: Any) -> Any:
    """Our field value in the form zigpy's deserializer gives it."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, zdo_t.SimpleDescriptor):
        return zdo_t.SizePrefixedSimpleDescriptor(**value.as_dict())
    return value


def _zigpy_schema(message: ZdoMessage) -> tuple[Any, ...]:
    """zigpy's parameter types for the message (`CLUSTERS` is keyed by its `ZDOCmd` enum)."""
    command = zdo_t.ZDOCmd(message.CLUSTER_ID)  # type: ignore[no-untyped-call]  # zigpy enum16
    _, types = zdo_t.CLUSTERS[command]
    return types


def _zigpy_values(message: ZdoMessage) -> list[Any]:
    """What zigpy's ZDO schema (`zigpy.zdo.types.CLUSTERS`) makes of our payload."""
    data = message.build()
    types = _zigpy_schema(message)
    values: list[Any]
    rest: bytes
    values, rest = zigpy_t.deserialize(data[1:], types)  # type: ignore[no-untyped-call]
    assert rest == b""
    return values


@given(messages)
def test_zigpy_reads_what_we_build(message: ZdoMessage) -> None:
    values = _zigpy_values(message)
    if isinstance(message, NwkAddrRsp):  # zigpy names: status, ieee, nwk, count, index, list
        status, ieee, nwk, count, start, associated = values
        assert (status, nwk) == (message.status, message.nwk)
        assert ieee == zigpy_t.EUI64(message.ieee.to_bytes(8, "little"))
        expected = message.associated
        assert count == (None if expected is None else len(expected))
        assert start == (message.start_index if expected else None)
        assert associated == list(expected or [])
        return
    ours = [getattr(message, name) for name in message._body()]
    if isinstance(message, NodeDescRsp | SimpleDescRsp) and message.status != Status.SUCCESS:
        ours = [*ours[:2], None]
    for zigpy_value, our_value in zip(values, ours, strict=True):
        if isinstance(zigpy_value, zigpy_t.EUI64):
            our_value = zigpy_t.EUI64(our_value.to_bytes(8, "little"))
        assert zigpy_value == _as_zigpy(our_value)


@given(messages)
def test_we_read_what_zigpy_builds(message: ZdoMessage) -> None:
    types = _zigpy_schema(message)
    # zigpy cannot serialise an Optional field that is None: it leaves them out when it sends.
    pairs = [
        (value, kind)
        for value, kind in zip(_zigpy_values(message), types, strict=True)
        if not (value is None and getattr(kind, "optional", False))
    ]
    built = bytes([message.tsn]) + b"".join(kind(value).serialize() for value, kind in pairs)
    if isinstance(message, SimpleDescRsp) and message.simple_descriptor is None:
        # zigpy leaves out the Length octet (0) that 2.4.4.2.5 requires after an error status;
        # zigpy never sends this response itself, and we keep to the specification.
        assert built + b"\x00" == message.build()
        return
    assert parse_zdo(message.CLUSTER_ID, built) == message


def test_zdo_refuses_malformed_and_unknown() -> None:
    with pytest.raises(DecodeError, match="0x0038"):
        parse_zdo(0x0038, b"\x01")
    with pytest.raises(DecodeError):
        parse_zdo(0x8002, bytes.fromhex("0700000001408e"))  # truncated descriptor
    with pytest.raises(DecodeError):
        parse_zdo(0x8002, bytes.fromhex("0881341200"))  # octets after an error status
    with pytest.raises(DecodeError):
        parse_zdo(0x0036, bytes.fromhex("133c02"))  # TC significance is a boolean
    with pytest.raises(DecodeError):
        parse_zdo(0x0000, b"")


def test_zdo_refuses_inconsistent_fields() -> None:
    with pytest.raises(LocalProtocolError):
        NodeDescRsp(1, Status.SUCCESS, 0).build()
    with pytest.raises(LocalProtocolError):
        NwkAddrRsp(1, Status.SUCCESS, EUI_DEV, 0, (), start_index=3)


def test_tshark_dissects_zdo(tmp_path: Path) -> None:
    def frame(seq: int, message: ZdoMessage) -> bytes:
        aps = ApsFrame(
            ApsFrameType.DATA,
            seq,
            dst_endpoint=0,
            cluster=message.CLUSTER_ID,
            profile=0,
            src_endpoint=0,
            payload=message.build(),
        )
        header = NwkFrame(NwkFrameType.DATA, 0, 0x1234, 30, seq, security=True).header_bytes()
        nwk = secure_nwk_frame(header, aps.build(), NETWORK_KEY, seq, EUI_DEV, 0)
        return MacFrame(
            FrameType.DATA,
            seq,
            AddrMode.SHORT,
            0x1A62,
            0,
            AddrMode.SHORT,
            None,
            0x1234,
            ack_request=True,
            pan_id_compression=True,
            payload=nwk,
        ).build()

    messages = [m for _, m in VECTORS]
    fields = [
        "zbee_aps.zdp_cluster",
        "zbee_zdp.seqno",
        "zbee_zdp.status",
        "zbee_zdp.ext_addr",
        "zbee_zdp.nwk_addr",
        "zbee_zdp.endpoint",
        "zbee_zdp.profile",
    ]
    rows = tshark_fields(
        tmp_path, [frame(i, m) for i, m in enumerate(messages)], fields, keys=[NETWORK_KEY]
    )
    for row, message in zip(rows, messages, strict=True):
        assert row["_ws.malformed"] == "" and row["_ws.expert.message"] == "", (message, row)
        assert int(row["zbee_aps.zdp_cluster"], 16) == message.CLUSTER_ID
        assert int(row["zbee_zdp.seqno"]) == message.tsn
        status = getattr(message, "status", None)
        if status is not None:
            assert int(row["zbee_zdp.status"]) == status
    by_type = {type(m): row for m, row in zip(messages, rows, strict=True)}
    assert by_type[DeviceAnnce]["zbee_zdp.ext_addr"] == eui64_to_str(EUI_DEV)
    assert by_type[DeviceAnnce]["zbee_zdp.nwk_addr"] == "0x1234"
    assert by_type[ActiveEpRsp]["zbee_zdp.endpoint"] == "1,2"
    assert by_type[MatchDescReq]["zbee_zdp.profile"] == "0x0109"

"""IEEE 802.15.4 MAC codec: byte vectors, round trips, and tshark as an independent judge.

`tshark_fields` is shared with the NWK/APS, security and ZDO tests: it writes frames to a pcap
(link type 195, FCS included) and returns the fields tshark dissected from each.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest
import zigpy.types as zigpy_t
from hypothesis import given
from hypothesis import strategies as st

from protocol import pcap
from protocol.errors import DecodeError, LocalProtocolError
from protocol.ieee802154 import (
    AddrMode,
    AssociationRequest,
    AssociationResponse,
    AssociationStatus,
    BeaconPayload,
    BeaconRequest,
    Capability,
    DataRequest,
    FrameType,
    MacCommand,
    MacFrame,
    eui64_from_str,
    eui64_to_str,
    fcs16,
    parse_mac_command,
    peek_addressing,
)
from tests.programs import require_program

PAN = 0x1A62
EUI_TC = 0x00124B0001020304
EUI_DEV = 0x00124B00AABBCCDD


def tshark_fields(
    tmp_path: Path, frames: Sequence[bytes], fields: Sequence[str], keys: Sequence[bytes] = ()
) -> list[dict[str, str]]:
    """Dissect `frames` (MAC frames with FCS) with tshark; one dict of field -> text per frame.

    `keys` go into the `zigbee_pc_keys` UAT (pre-configured network or link keys, "Normal"
    byte order). Each dict also has `_ws.malformed` and `_ws.expert.message`, which a clean
    dissection leaves empty. A private config dir keeps the user's Wireshark profile out.
    """
    tshark = require_program("tshark")
    capture = tmp_path / "air.pcap"
    capture.write_bytes(pcap.capture((i * 1000, frame) for i, frame in enumerate(frames)))
    wanted = [*fields, "_ws.malformed", "_ws.expert.message"]
    args = [tshark, "-n", "-r", str(capture), "-T", "fields", "-E", "separator=/t"]
    for key in keys:
        args += ["-o", f'uat:zigbee_pc_keys:"{key.hex()}","Normal","test key"']
    for field in wanted:
        args += ["-e", field]
    env = {**os.environ, "WIRESHARK_CONFIG_DIR": str(tmp_path / "wireshark")}
    done = subprocess.run(args, capture_output=True, text=True, env=env, timeout=60, check=True)
    rows = [dict(zip(wanted, line.split("\t"), strict=True)) for line in done.stdout.splitlines()]
    assert len(rows) == len(frames), done.stderr
    return rows


@st.composite
def _mutated(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    data = bytearray(draw(valid))
    if data and draw(st.booleans()):
        data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 0xFF))
    return bytes(data[: draw(st.integers(0, len(data)))]) if draw(st.booleans()) else bytes(data)


def near(valid: st.SearchStrategy[bytes], max_size: int = 40) -> st.SearchStrategy[bytes]:
    """Random octets, and valid encodings with one octet changed or cut short: the inputs for
    "parse either refuses or is canonical" properties, which random octets alone rarely pass."""
    return st.one_of(st.binary(max_size=max_size), _mutated(valid))


u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)
u64 = st.integers(0, 2**64 - 1)


@st.composite
def mac_frames(draw: st.DrawFn) -> MacFrame:
    dst_mode = draw(st.sampled_from(AddrMode))
    src_mode = draw(st.sampled_from(AddrMode))

    def address(mode: AddrMode) -> int | None:
        return None if mode == AddrMode.NONE else draw(u16 if mode == AddrMode.SHORT else u64)

    compress = dst_mode != AddrMode.NONE and src_mode != AddrMode.NONE and draw(st.booleans())
    return MacFrame(
        frame_type=draw(st.sampled_from(FrameType)),
        seq=draw(u8),
        dst_addr_mode=dst_mode,
        dst_pan=None if dst_mode == AddrMode.NONE else draw(u16),
        dst_addr=address(dst_mode),
        src_addr_mode=src_mode,
        src_pan=None if src_mode == AddrMode.NONE or compress else draw(u16),
        src_addr=address(src_mode),
        ack_request=draw(st.booleans()),
        pan_id_compression=compress,
        frame_pending=draw(st.booleans()),
        security_enabled=draw(st.booleans()),
        frame_version=draw(st.sampled_from([0, 1])),
        payload=draw(st.binary(max_size=100)),
    )


mac_commands = st.one_of(
    st.builds(AssociationRequest, st.integers(0, 0xFF).map(Capability)),
    st.builds(AssociationResponse, u16, st.sampled_from(AssociationStatus)),
    st.just(DataRequest()),
    st.just(BeaconRequest()),
)

beacons = st.builds(
    BeaconPayload,
    extended_pan_id=u64,
    association_permit=st.booleans(),
    pan_coordinator=st.booleans(),
    router_capacity=st.booleans(),
    end_device_capacity=st.booleans(),
    device_depth=st.integers(0, 15),
    update_id=u8,
    beacon_order=st.integers(0, 15),
    superframe_order=st.integers(0, 15),
    final_cap_slot=st.integers(0, 15),
    battery_life_extension=st.booleans(),
    gts_permit=st.booleans(),
    stack_profile=st.integers(0, 15),
    protocol_version=st.integers(0, 15),
    tx_offset=st.integers(0, 0xFFFFFF),
)


def test_fcs_matches_crc16_kermit_and_the_standards_example() -> None:
    assert fcs16(b"123456789") == 0x2189  # CRC-16/KERMIT check value
    # 802.15.4-2006 7.2.1.9: an acknowledgment frame with sequence number 0x6A (b0 first
    # "0101 0110") has FCS "0010 0111 1001 1110", i.e. octets E4 79.
    assert MacFrame(FrameType.ACK, 0x6A).build() == bytes.fromhex("02006ae479")


MAC_VECTORS = [
    # Data, ack request, PAN ID compression, short -> short: the usual ZigBee unicast.
    (
        "6188051a6200003412aabb",
        MacFrame(
            FrameType.DATA,
            5,
            AddrMode.SHORT,
            0x621A,
            0x0000,
            AddrMode.SHORT,
            None,
            0x1234,
            ack_request=True,
            pan_id_compression=True,
            payload=b"\xaa\xbb",
        ),
    ),
    # Beacon request: command, broadcast destination, no source.
    (
        "030801ffffffff07",
        MacFrame(FrameType.COMMAND, 1, AddrMode.SHORT, 0xFFFF, 0xFFFF, payload=b"\x07"),
    ),
    # Association request: short destination, extended source with source PAN 0xFFFF.
    (
        "23c8036a1a0000ffffddccbbaa004b12000180",
        MacFrame(
            FrameType.COMMAND,
            3,
            AddrMode.SHORT,
            0x1A6A,
            0x0000,
            AddrMode.EXTENDED,
            0xFFFF,
            EUI_DEV,
            ack_request=True,
            payload=b"\x01\x80",
        ),
    ),
    # Beacon: no destination, short source with its PAN, 2006 frame version.
    (
        "009002621a0000ff",
        MacFrame(
            FrameType.BEACON,
            2,
            src_addr_mode=AddrMode.SHORT,
            src_pan=0x1A62,
            src_addr=0,
            frame_version=1,
            payload=b"\xff",
        ),
    ),
    ("020007", MacFrame(FrameType.ACK, 7)),
    ("120007", MacFrame(FrameType.ACK, 7, frame_pending=True)),
]


@pytest.mark.parametrize(("wire", "frame"), MAC_VECTORS)
def test_mac_vectors(wire: str, frame: MacFrame) -> None:
    data = bytes.fromhex(wire)
    assert MacFrame.parse(data, has_fcs=False) == frame
    assert frame.build(include_fcs=False) == data
    assert MacFrame.parse(data + fcs16(data).to_bytes(2, "little")) == frame


@given(st.binary(max_size=130))
def test_the_fcs_table_computes_the_bitwise_crc(data: bytes) -> None:
    crc = 0
    for byte in data:  # the CRC as 802.15.4-2006 7.2.1.9 defines it, one bit at a time
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    assert fcs16(data) == crc


@given(mac_frames())
def test_peeked_addressing_agrees_with_the_full_decode(frame: MacFrame) -> None:
    peeked = peek_addressing(frame.build())
    assert peeked is not None
    assert (peeked.frame_type, peeked.seq, peeked.ack_request) == (
        frame.frame_type,
        frame.seq,
        frame.ack_request,
    )
    assert peeked.dst == frame.dst_addr
    assert peeked.dst_extended == (frame.dst_addr_mode == AddrMode.EXTENDED)
    short = frame.src_addr if frame.src_addr_mode == AddrMode.SHORT else None
    assert peeked.src_short == short


@given(st.binary(max_size=30))
def test_peeking_any_octets_gives_addressing_or_none(data: bytes) -> None:
    peeked = peek_addressing(data)
    if peeked is not None:  # only what the header holds, never read past its end
        assert 0 <= peeked.frame_type < 8 and 0 <= peeked.seq < 256


def test_source_pan_is_filled_in_under_compression() -> None:
    frame = MacFrame.parse(bytes.fromhex("6188051a6200003412"), has_fcs=False)
    assert frame.src_pan is None
    assert frame.source_pan == 0x621A


@given(mac_frames())
def test_mac_round_trip(frame: MacFrame) -> None:
    assert MacFrame.parse(frame.build()) == frame
    assert MacFrame.parse(frame.build(include_fcs=False), has_fcs=False) == frame


@given(near(mac_frames().map(lambda f: f.build(include_fcs=False))))
def test_mac_parse_is_canonical_or_refuses(data: bytes) -> None:
    with_fcs = data + fcs16(data).to_bytes(2, "little")
    try:
        frame = MacFrame.parse(with_fcs)
    except DecodeError:
        return
    assert frame.build() == with_fcs


@pytest.mark.parametrize(
    ("wire", "why"),
    [
        ("0104", "destination mode 1 is reserved"),
        ("810001", "reserved bit 7 set"),
        ("41000100", "PAN ID compression without a destination"),
        ("01300100", "frame version 3"),
        ("01", "truncated frame control"),
        ("01880162", "truncated destination PAN"),
    ],
)
def test_mac_refuses_malformed(wire: str, why: str) -> None:
    with pytest.raises(DecodeError):
        MacFrame.parse(bytes.fromhex(wire), has_fcs=False)


def test_mac_frames_fit_a_phy_packet() -> None:
    biggest = MacFrame(FrameType.DATA, 1, AddrMode.SHORT, PAN, 0, payload=bytes(118))
    assert len(biggest.build()) == 127
    with pytest.raises(LocalProtocolError):
        MacFrame(FrameType.DATA, 1, AddrMode.SHORT, PAN, 0, payload=bytes(119)).build()
    with pytest.raises(DecodeError):
        MacFrame.parse(biggest.build(include_fcs=False) + b"\x00", has_fcs=False)


def test_mac_refuses_bad_fcs() -> None:
    good = MacFrame(FrameType.ACK, 9).build()
    with pytest.raises(DecodeError, match="FCS"):
        MacFrame.parse(good[:-1] + bytes([good[-1] ^ 1]))


def test_mac_refuses_inconsistent_fields() -> None:
    with pytest.raises(LocalProtocolError):
        MacFrame(FrameType.DATA, 1, AddrMode.SHORT, PAN, None)
    with pytest.raises(LocalProtocolError):
        MacFrame(FrameType.DATA, 1, AddrMode.SHORT, PAN, 1, pan_id_compression=True)
    with pytest.raises(LocalProtocolError):
        MacFrame(FrameType.DATA, 256).build()


@pytest.mark.parametrize(
    ("wire", "command"),
    [
        ("018e", AssociationRequest(Capability(0x8E))),
        ("02341200", AssociationResponse(0x1234, AssociationStatus.SUCCESS)),
        ("02feff02", AssociationResponse(0xFFFE, AssociationStatus.PAN_ACCESS_DENIED)),
        ("04", DataRequest()),
        ("07", BeaconRequest()),
    ],
)
def test_mac_command_vectors(wire: str, command: MacCommand) -> None:
    assert parse_mac_command(bytes.fromhex(wire)) == command
    assert command.build() == bytes.fromhex(wire)


@given(mac_commands)
def test_mac_command_round_trip(command: AssociationRequest) -> None:
    assert parse_mac_command(command.build()) == command


@given(near(mac_commands.map(lambda c: c.build()), max_size=6))
def test_mac_command_parse_is_canonical_or_refuses(data: bytes) -> None:
    try:
        command = parse_mac_command(data)
    except DecodeError:
        return
    assert command.build() == data


def test_beacon_vector() -> None:
    # Superframe 0xCFFF (BO=SO=15, final CAP slot 15, PAN coordinator, association permit),
    # no GTS, no pending addresses, then protocol 0, profile 2 / version 2, router and end
    # device capacity at depth 0, the extended PAN ID, tx offset 0xFFFFFF, update id 3.
    wire = bytes.fromhex("ffcf000000228404030201004b1200ffffff03")
    beacon = BeaconPayload(EUI_TC, association_permit=True, pan_coordinator=True, update_id=3)
    assert beacon.build() == wire
    assert BeaconPayload.parse(wire) == beacon


@given(beacons)
def test_beacon_round_trip(beacon: BeaconPayload) -> None:
    assert BeaconPayload.parse(beacon.build()) == beacon


@given(near(beacons.map(BeaconPayload.build), max_size=20))
def test_beacon_parse_is_canonical_or_refuses(data: bytes) -> None:
    try:
        beacon = BeaconPayload.parse(data)
    except DecodeError:
        return
    assert beacon.build() == data


def test_beacon_refuses_other_protocols_and_gts() -> None:
    good = BeaconPayload(EUI_TC).build()
    for index, value in ((2, 0x01), (3, 0x01), (4, 0x01)):  # GTS count, pending, protocol id
        with pytest.raises(DecodeError):
            BeaconPayload.parse(good[:index] + bytes([value]) + good[index + 1 :])
    with pytest.raises(DecodeError):
        BeaconPayload.parse(good[:-1])


@given(u64)
def test_eui64_text_matches_zigpy(value: int) -> None:
    zigpy_eui, _ = zigpy_t.EUI64.deserialize(value.to_bytes(8, "little"))
    assert eui64_to_str(value) == str(zigpy_eui)
    assert eui64_from_str(eui64_to_str(value)) == value


def test_tshark_dissects_mac_frames(tmp_path: Path) -> None:
    frames = [
        MacFrame(FrameType.COMMAND, 1, AddrMode.SHORT, 0xFFFF, 0xFFFF, payload=b"\x07"),
        MacFrame(
            FrameType.BEACON,
            2,
            src_addr_mode=AddrMode.SHORT,
            src_pan=PAN,
            src_addr=0,
            payload=BeaconPayload(
                EUI_TC, association_permit=True, pan_coordinator=True, update_id=3
            ).build(),
        ),
        MacFrame(
            FrameType.COMMAND,
            3,
            AddrMode.SHORT,
            PAN,
            0,
            AddrMode.EXTENDED,
            0xFFFF,
            EUI_DEV,
            ack_request=True,
            payload=AssociationRequest(Capability(0x8E)).build(),
        ),
        MacFrame(
            FrameType.COMMAND,
            4,
            AddrMode.EXTENDED,
            PAN,
            EUI_DEV,
            AddrMode.EXTENDED,
            None,
            EUI_TC,
            ack_request=True,
            pan_id_compression=True,
            payload=AssociationResponse(0x1234).build(),
        ),
        MacFrame(
            FrameType.COMMAND,
            5,
            AddrMode.SHORT,
            PAN,
            0,
            AddrMode.EXTENDED,
            None,
            EUI_DEV,
            ack_request=True,
            pan_id_compression=True,
            payload=DataRequest().build(),
        ),
        MacFrame(FrameType.ACK, 5),
    ]
    fields = [
        "wpan.fcs_ok",
        "wpan.frame_type",
        "wpan.seq_no",
        "wpan.cmd",
        "wpan.dst16",
        "wpan.src64",
        "wpan.dst64",
        "wpan.cinfo.alloc_addr",
        "wpan.asoc.addr",
        "wpan.assoc_permit",
        "wpan.bcn_coord",
        "zbee_beacon.ext_panid",
        "zbee_beacon.update_id",
        "zbee_beacon.tx_offset",
        "zbee_beacon.profile",
    ]
    rows = tshark_fields(tmp_path, [f.build() for f in frames], fields)
    for row, frame in zip(rows, frames, strict=True):
        assert row["wpan.fcs_ok"] == "1"
        assert int(row["wpan.frame_type"], 16) == frame.frame_type
        assert row["wpan.seq_no"] == str(frame.seq)
        assert row["_ws.malformed"] == row["_ws.expert.message"] == ""
    beacon_request, beacon, assoc_req, assoc_rsp, data_req, _ = rows
    assert (beacon_request["wpan.cmd"], beacon_request["wpan.dst16"]) == ("0x07", "0xffff")
    assert beacon["zbee_beacon.ext_panid"] == eui64_to_str(EUI_TC)
    assert (beacon["wpan.assoc_permit"], beacon["wpan.bcn_coord"]) == ("1", "1")
    assert (beacon["zbee_beacon.update_id"], beacon["zbee_beacon.tx_offset"]) == ("3", "16777215")
    assert int(beacon["zbee_beacon.profile"], 16) == 2  # ZigBee PRO stack profile
    assert assoc_req["wpan.cmd"] == "0x01" and assoc_req["wpan.cinfo.alloc_addr"] == "1"
    assert assoc_req["wpan.src64"] == eui64_to_str(EUI_DEV)
    assert (assoc_rsp["wpan.asoc.addr"], assoc_rsp["wpan.dst64"]) == (
        "0x1234",
        eui64_to_str(EUI_DEV),
    )
    assert data_req["wpan.cmd"] == "0x04"

"""ZigBee security: published vectors, zigpy as a second implementation, tshark as the judge.

tshark decrypting our frames with only the key in its `zigbee_pc_keys` table proves the CCM*
nonce, a_data and key derivations match Wireshark's independent implementation; the same
capture with a wrong key must not decode.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import zigpy.util
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError, LocalProtocolError, RemoteProtocolError
from protocol.ieee802154 import AddrMode, Capability, FrameType, MacFrame, eui64_to_str
from protocol.zigbee_aps import (
    ApsFrame,
    ApsFrameType,
    TransportNetworkKey,
    TransportTcLinkKey,
    parse_aps_command,
)
from protocol.zigbee_nwk import Leave, NwkFrame, NwkFrameType, RejoinRequest, parse_nwk_command
from protocol.zigbee_security import (
    AuthenticationError,
    AuxSecurityHeader,
    KeyId,
    ccm_nonce,
    decrypt,
    encrypt,
    hmac_mmo,
    install_code_crc,
    key_load_key,
    key_transport_key,
    link_key_from_install_code,
    mmo_hash,
    secure_aps_frame,
    secure_nwk_frame,
    unsecure_aps_frame,
    unsecure_nwk_frame,
)
from tests.protocol.test_ieee802154 import near, tshark_fields, u8, u64

NETWORK_KEY = bytes.fromhex("01030507090b0d0f00020406080a0c0d")
LINK_KEY = bytes.fromhex("66b6900981e1ee3ca4206b6b861c02bb")  # from the install code below
INSTALL_CODE = bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5")
PAN = 0x1A62
EUI_TC = 0x00124B0001020304
EUI_DEV = 0x00124B00AABBCCDD
EUI_DEV_WIRE = "ddccbbaa004b1200"
SE_READ = bytes.fromhex("0001000000")  # ZCL Read Attributes, attribute 0x0000

keys = st.binary(min_size=16, max_size=16)
u32 = st.integers(0, 2**32 - 1)


def _nwk_header(seq: int = 6, frame_type: NwkFrameType = NwkFrameType.DATA) -> bytes:
    return NwkFrame(frame_type, 0x0000, 0x1234, 30, seq, security=True).header_bytes()


def _aps_data() -> ApsFrame:
    return ApsFrame(
        ApsFrameType.DATA,
        7,
        dst_endpoint=1,
        cluster=0x0702,
        profile=0x0109,
        src_endpoint=1,
        payload=SE_READ,
    )


# --- Auxiliary header and nonce -----------------------------------------------------------------

aux_headers = st.one_of(
    st.builds(
        AuxSecurityHeader, st.just(KeyId.NETWORK), u32, st.none() | u64, u8, st.integers(0, 7)
    ),
    st.builds(
        AuxSecurityHeader,
        st.sampled_from([KeyId.DATA, KeyId.KEY_TRANSPORT, KeyId.KEY_LOAD]),
        u32,
        st.none() | u64,
        st.none(),
        st.integers(0, 7),
    ),
)


@pytest.mark.parametrize(
    ("wire", "header"),
    [
        ("2810000000" + EUI_DEV_WIRE + "00", AuxSecurityHeader(KeyId.NETWORK, 16, EUI_DEV, 0)),
        (
            "2d01000000" + EUI_DEV_WIRE + "03",
            AuxSecurityHeader(KeyId.NETWORK, 1, EUI_DEV, 3, level=5),
        ),
        ("3000000000" + EUI_DEV_WIRE, AuxSecurityHeader(KeyId.KEY_TRANSPORT, 0, EUI_DEV)),
        ("18ffffffff", AuxSecurityHeader(KeyId.KEY_LOAD, 2**32 - 1)),
        ("0004030201", AuxSecurityHeader(KeyId.DATA, 0x01020304)),
    ],
)
def test_aux_header_vectors(wire: str, header: AuxSecurityHeader) -> None:
    assert AuxSecurityHeader.parse(bytes.fromhex(wire)) == header
    assert header.build() == bytes.fromhex(wire)


@given(aux_headers, st.binary(max_size=8))
def test_aux_header_round_trip(header: AuxSecurityHeader, rest: bytes) -> None:
    assert AuxSecurityHeader.parse(header.build()) == header
    assert AuxSecurityHeader.parse_prefix(header.build() + rest) == (header, rest)


@given(near(aux_headers.map(AuxSecurityHeader.build), max_size=16))
def test_aux_header_parse_is_canonical_or_refuses(data: bytes) -> None:
    try:
        header = AuxSecurityHeader.parse(data)
    except DecodeError:
        return
    assert header.build() == data


@pytest.mark.parametrize("wire", ["", "28", "2801000000", "c000000000", "0800000000"])
def test_aux_header_refuses_malformed(wire: str) -> None:
    with pytest.raises(DecodeError):
        AuxSecurityHeader.parse(bytes.fromhex(wire))


def test_nonce_layout() -> None:
    # Source (LE) || frame counter (LE) || security control with level 5, whatever was sent.
    expected = bytes.fromhex(EUI_DEV_WIRE + "04030201" + "2d")
    assert ccm_nonce(EUI_DEV, 0x01020304, 0x28) == expected
    assert ccm_nonce(EUI_DEV, 0x01020304, 0x2D) == expected


# --- CCM* ---------------------------------------------------------------------------------------


def test_ccm_matches_rfc3610_packet_vector_1() -> None:
    # 13-octet nonce, 8-octet MIC: CCM* with M=8 is CCM (RFC 3610 section 8, packet vector #1).
    key = bytes(range(0xC0, 0xD0))
    nonce = bytes.fromhex("00000003020100a0a1a2a3a4a5")
    sealed = encrypt(key, nonce, bytes(range(8)), bytes(range(8, 0x1F)), mic_len=8)
    assert sealed.hex() == "588c979a61c663d2f066d0c2c0f989806d5f6b61dac38417e8d12cfdf926e0"
    assert decrypt(key, nonce, bytes(range(8)), sealed, mic_len=8) == bytes(range(8, 0x1F))


@given(
    keys,
    st.binary(min_size=13, max_size=13),
    st.binary(max_size=30),
    st.binary(max_size=60),
    st.data(),
)
def test_ccm_round_trip_and_tamper(
    key: bytes, nonce: bytes, a_data: bytes, m: bytes, data: st.DataObject
) -> None:
    sealed = encrypt(key, nonce, a_data, m)
    assert len(sealed) == len(m) + 4
    assert decrypt(key, nonce, a_data, sealed) == m
    index = data.draw(st.integers(0, len(a_data) + len(sealed) - 1))
    flip = data.draw(st.integers(1, 255))
    blob = bytearray(a_data + sealed)
    blob[index] ^= flip
    with pytest.raises(AuthenticationError):
        decrypt(key, nonce, bytes(blob[: len(a_data)]), bytes(blob[len(a_data) :]))


def test_ccm_refuses_bad_arguments() -> None:
    with pytest.raises(LocalProtocolError):
        encrypt(bytes(15), bytes(13), b"", b"")
    with pytest.raises(LocalProtocolError):
        encrypt(bytes(16), bytes(12), b"", b"")
    with pytest.raises(DecodeError):
        decrypt(bytes(16), bytes(13), b"", b"abc")


# --- Hashes, key derivation, install codes ------------------------------------------------------


@pytest.mark.parametrize(
    ("message", "digest"),
    [  # ZigBee spec 05-3474-21 C.5.1 to C.5.6; the long ones take the 32-bit length padding.
        (b"\xc0", "ae3a102a28d43ee0d4a09e22788b206c"),
        (bytes(range(0xC0, 0xD0)), "a7977e88bc0b61e8210827109a228f2d"),
        (bytes(i & 0xFF for i in range(8191)), "24ec2fe75bbffcb34789bc0610e7f165"),
        (bytes(i & 0xFF for i in range(8192)), "dc6b0687f09f8607131c170b3bd31591"),
        (bytes(i & 0xFF for i in range(8201)), "72c9b15e178aa843e4a16c58e33643a3"),
        (bytes(i & 0xFF for i in range(8202)), "bc9828d59b2aa323daf20be5f2e66511"),
    ],
)
def test_mmo_hash_spec_vectors(message: bytes, digest: str) -> None:
    assert mmo_hash(message).hex() == digest


@given(st.binary(max_size=200))
def test_mmo_hash_matches_zigpy(message: bytes) -> None:
    assert mmo_hash(message) == bytes(zigpy.util.aes_mmo_hash(message))


@pytest.mark.parametrize(
    ("key", "message", "mac"),
    [  # ZigBee spec C.6.1 (16-octet key) and C.6.2 (32-octet key, hashed first)
        (bytes(range(0x40, 0x50)), b"\xc0", "4512807bf94cb3400f0e2c25fb76e999"),
        (bytes(range(0x40, 0x60)), bytes(range(0xC0, 0xD0)), "a3b0079984bf1557f74a0d6387e0a11a"),
    ],
)
def test_hmac_mmo_spec_vectors(key: bytes, message: bytes, mac: str) -> None:
    assert hmac_mmo(key, message).hex() == mac


def test_derived_keys_are_keyed_hashes_of_one_octet() -> None:
    assert key_transport_key(LINK_KEY) == hmac_mmo(LINK_KEY, b"\x00")
    assert key_load_key(LINK_KEY) == hmac_mmo(LINK_KEY, b"\x02")
    assert key_transport_key(LINK_KEY) != key_load_key(LINK_KEY)


def test_install_code_vector() -> None:
    assert install_code_crc(INSTALL_CODE[:-2]).to_bytes(2, "little") == INSTALL_CODE[-2:]
    assert link_key_from_install_code(INSTALL_CODE) == LINK_KEY
    assert bytes(zigpy.util.convert_install_code(INSTALL_CODE)) == LINK_KEY


@given(st.sampled_from([6, 8, 12, 16]).flatmap(lambda n: st.binary(min_size=n, max_size=n)))
def test_install_code_matches_zigpy(code: bytes) -> None:
    full = code + install_code_crc(code).to_bytes(2, "little")
    assert link_key_from_install_code(full) == bytes(zigpy.util.convert_install_code(full))


def test_install_code_with_wrong_crc_or_length_is_refused() -> None:
    with pytest.raises(DecodeError, match=r"CRC-16/X-25 C3B5"):
        link_key_from_install_code(INSTALL_CODE[:-1] + b"\x00")
    with pytest.raises(DecodeError, match="6, 8, 12 or 16 octets"):
        link_key_from_install_code(INSTALL_CODE[:-3])


# --- Whole frames -------------------------------------------------------------------------------


@given(keys, u32, u64, u8, st.binary(max_size=80))
def test_nwk_security_round_trip(
    key: bytes, counter: int, source: int, key_seq: int, payload: bytes
) -> None:
    header = _nwk_header()
    wire = secure_nwk_frame(header, payload, key, counter, source, key_seq)
    frame = NwkFrame.parse(wire)
    assert frame.security and frame.header_bytes() == header
    aux, plain = unsecure_nwk_frame(frame.header_bytes(), frame.payload, key)
    assert plain == payload
    assert aux == AuxSecurityHeader(KeyId.NETWORK, counter, source, key_seq, level=0)


def test_nwk_security_authenticates_header_aux_and_payload() -> None:
    header = _nwk_header()
    wire = secure_nwk_frame(header, SE_READ, NETWORK_KEY, 16, EUI_DEV, 0)
    assert wire[len(header)] == 0x28  # level 0 over the air, network key, extended nonce
    assert SE_READ not in wire
    for index in range(len(wire)):
        tampered = bytearray(wire)
        tampered[index] ^= 0x01
        # Frame control and security control changes may already break the layout
        # (DecodeError); every other octet is covered by the nonce, a_data or the MIC.
        layout = index in (0, 1, len(header))
        with pytest.raises(RemoteProtocolError if layout else AuthenticationError):
            frame = NwkFrame.parse(bytes(tampered))
            unsecure_nwk_frame(frame.header_bytes(), frame.payload, NETWORK_KEY)
    frame = NwkFrame.parse(wire)
    with pytest.raises(AuthenticationError):
        unsecure_nwk_frame(frame.header_bytes(), frame.payload, LINK_KEY)


def test_nwk_security_accepts_level_5_over_the_air() -> None:
    header = _nwk_header()
    wire = bytearray(secure_nwk_frame(header, SE_READ, NETWORK_KEY, 16, EUI_DEV, 0))
    wire[len(header)] |= 0x05  # some stacks leave the real level in the sent frame
    frame = NwkFrame.parse(bytes(wire))
    aux, plain = unsecure_nwk_frame(frame.header_bytes(), frame.payload, NETWORK_KEY)
    assert (aux.level, plain) == (5, SE_READ)
    wire[len(header)] = 0x2E  # level 6 would need an 8-octet MIC
    with pytest.raises(DecodeError):
        unsecure_nwk_frame(header, bytes(wire[len(header) :]), NETWORK_KEY)


def test_secure_refuses_headers_without_security_bit() -> None:
    plain_nwk = NwkFrame(NwkFrameType.DATA, 0, 1, 30, 1).header_bytes()
    with pytest.raises(LocalProtocolError):
        secure_nwk_frame(plain_nwk, b"", NETWORK_KEY, 0, EUI_DEV, 0)
    with pytest.raises(LocalProtocolError):
        secure_aps_frame(_aps_data().header_bytes(), b"", LINK_KEY, 0, EUI_DEV)


@given(
    keys,
    u32,
    u64,
    st.sampled_from([KeyId.DATA, KeyId.KEY_TRANSPORT, KeyId.KEY_LOAD]),
    st.booleans(),
    st.binary(max_size=60),
)
def test_aps_security_round_trip(
    key: bytes, counter: int, source: int, key_id: KeyId, extended: bool, payload: bytes
) -> None:
    header = ApsFrame(ApsFrameType.COMMAND, 3, security=True).header_bytes()
    wire = secure_aps_frame(header, payload, key, counter, source, key_id, extended)
    frame = ApsFrame.parse(wire)
    aux, plain = unsecure_aps_frame(frame.header_bytes(), frame.payload, key, source)
    assert plain == payload
    assert aux == AuxSecurityHeader(key_id, counter, source if extended else None)
    if not extended:  # the receiver must know the source: it is in the nonce
        with pytest.raises(LocalProtocolError):
            unsecure_aps_frame(frame.header_bytes(), frame.payload, key)
        with pytest.raises(AuthenticationError):
            unsecure_aps_frame(frame.header_bytes(), frame.payload, key, source ^ 1)


def test_transport_key_uses_the_key_transport_key() -> None:
    header = ApsFrame(ApsFrameType.COMMAND, 3, security=True).header_bytes()
    command = TransportNetworkKey(NETWORK_KEY, 0, EUI_DEV, EUI_TC).build()
    wire = secure_aps_frame(header, command, LINK_KEY, 0, EUI_TC, KeyId.KEY_TRANSPORT)
    assert NETWORK_KEY not in wire  # the network key never crosses the air in clear
    frame = ApsFrame.parse(wire)
    aux, plain = unsecure_aps_frame(frame.header_bytes(), frame.payload, LINK_KEY)
    assert aux.key_id == KeyId.KEY_TRANSPORT
    assert parse_aps_command(plain) == TransportNetworkKey(NETWORK_KEY, 0, EUI_DEV, EUI_TC)
    nonce = ccm_nonce(EUI_TC, 0, aux.security_control())
    with pytest.raises(AuthenticationError):  # the unhashed link key does not open it
        decrypt(LINK_KEY, nonce, header + aux.build(level=5), frame.payload[13:])


# --- tshark as the judge ------------------------------------------------------------------------


def _mac(seq: int, nwk: bytes, dst: int = 0x0000, src: int = 0x1234) -> bytes:
    return MacFrame(
        FrameType.DATA,
        seq,
        AddrMode.SHORT,
        PAN,
        dst,
        AddrMode.SHORT,
        None,
        src,
        ack_request=dst != 0xFFFF,
        pan_id_compression=True,
        payload=nwk,
    ).build()


def _air_frames() -> list[bytes]:
    aps = _aps_data().build()
    plain = NwkFrame(NwkFrameType.DATA, 0x0000, 0x1234, 30, 5, payload=aps).build()
    secured = secure_nwk_frame(_nwk_header(6), aps, NETWORK_KEY, 16, EUI_DEV, 0)
    # Joining: the trust centre sends the network key in an unsecured NWK frame, APS-secured
    # with the key-transport key; later a TC link key with the key-load key.
    tc_aps = ApsFrame(ApsFrameType.COMMAND, 3, security=True).header_bytes()
    nwk_key_cmd = TransportNetworkKey(NETWORK_KEY, 0, EUI_DEV, EUI_TC).build()
    transport = secure_aps_frame(tc_aps, nwk_key_cmd, LINK_KEY, 0, EUI_TC, KeyId.KEY_TRANSPORT)
    to_dev = NwkFrame(NwkFrameType.DATA, 0x1234, 0x0000, 1, 9)
    tc_key_cmd = TransportTcLinkKey(bytes(range(16)), EUI_DEV, EUI_TC).build()
    load = secure_aps_frame(tc_aps, tc_key_cmd, LINK_KEY, 1, EUI_TC, KeyId.KEY_LOAD)
    cmd = NwkFrame(NwkFrameType.COMMAND, 0xFFFD, 0x1234, 1, 10, security=True, src64=EUI_DEV)
    leave = secure_nwk_frame(cmd.header_bytes(), Leave().build(), NETWORK_KEY, 17, EUI_DEV, 0)
    rejoin_cmd = RejoinRequest(Capability(0x8E)).build()
    rejoin_header = _nwk_header(11, NwkFrameType.COMMAND)
    rejoin = secure_nwk_frame(rejoin_header, rejoin_cmd, NETWORK_KEY, 18, EUI_DEV, 0)
    return [
        _mac(1, plain),
        _mac(2, secured),
        _mac(3, to_dev.with_payload(transport).build(), dst=0x1234, src=0),
        _mac(4, to_dev.with_payload(load).build(), dst=0x1234, src=0),
        _mac(5, leave, dst=0xFFFF),
        _mac(6, rejoin),
    ]


FIELDS = [
    "wpan.fcs_ok",
    "wpan.dst16",
    "zbee_nwk.src",
    "zbee_nwk.seqno",
    "zbee.sec.counter",
    "zbee.sec.src64",
    "zbee_aps.cluster",
    "zbee_aps.profile",
    "zbee_zcl.cmd.id",
    "zbee_aps.cmd.id",
    "zbee_aps.cmd.key_type",
    "zbee_aps.cmd.key",
    "zbee_nwk.cmd.id",
]


def test_tshark_decodes_our_secured_frames(tmp_path: Path) -> None:
    frames = _air_frames()
    assert parse_nwk_command(b"\x04\x00") == Leave()  # what frame 5 carries
    rows = tshark_fields(tmp_path, frames, FIELDS, keys=[NETWORK_KEY, LINK_KEY])
    for row in rows:
        assert row["wpan.fcs_ok"] == "1"
        assert row["_ws.malformed"] == "" and row["_ws.expert.message"] == "", row
    plain, secured, transport, load, leave, rejoin = rows
    for row in (plain, secured):  # profile SE, cluster Metering, ZCL Read Attributes
        assert (row["wpan.dst16"], row["zbee_nwk.src"]) == ("0x0000", "0x1234")
        assert (row["zbee_aps.cluster"], row["zbee_aps.profile"]) == ("0x0702", "0x0109")
        assert row["zbee_zcl.cmd.id"] == "0x00"
    assert (secured["zbee.sec.counter"], secured["zbee.sec.src64"]) == ("16", eui64_to_str(EUI_DEV))
    assert (transport["zbee_aps.cmd.id"], transport["zbee_aps.cmd.key"]) == (
        "0x05",
        NETWORK_KEY.hex(),
    )
    assert int(transport["zbee_aps.cmd.key_type"], 16) == 1
    assert (load["zbee_aps.cmd.key"], int(load["zbee_aps.cmd.key_type"], 16)) == (
        bytes(range(16)).hex(),
        4,
    )
    assert (leave["zbee_nwk.cmd.id"], rejoin["zbee_nwk.cmd.id"]) == ("0x04", "0x06")


def test_tshark_cannot_decode_with_a_wrong_key(tmp_path: Path) -> None:
    wrong = bytes(b ^ 0x01 for b in NETWORK_KEY)
    rows = tshark_fields(tmp_path, _air_frames(), FIELDS, keys=[wrong])
    assert rows[0]["zbee_aps.cluster"] == "0x0702"  # the unsecured frame still decodes
    for row in rows[1:]:
        assert row["zbee_aps.cluster"] == row["zbee_aps.cmd.id"] == row["zbee_nwk.cmd.id"] == ""

"""ZigBee security primitives (ZigBee spec 05-3474 chapter 4, annexes A and B).

- The auxiliary security header (4.5.1) and the CCM* nonce (4.5.2.2).
- CCM* encryption and authentication at security level 5, ENC-MIC-32 (annex A), on top of
  AES-CCM from `cryptography`: CCM* with a 4-octet MIC and a 13-octet nonce is plain CCM.
- The Matyas-Meyer-Oseas hash AES-MMO (B.6), the keyed hash HMAC-MMO (B.1.4) and the keys the
  trust centre derives from a link key with it (4.5.3): key-transport key and key-load key.
- Link keys from install codes (CRC-16/X-25 check, then AES-MMO of code and CRC).
- Whole-frame helpers that secure and unsecure NWK and APS frames.

What is authenticated (4.3.1.1, 4.4.1.1): the CCM* a_data is the NWK (or APS) header exactly as
sent, security bit set, followed by the auxiliary security header whose security level subfield
is the real level (5). The payload after the auxiliary header is m: it is encrypted, and the
MIC over a_data and m follows it. On the air ZigBee PRO then overwrites the level subfield with
0; a receiver puts nwkSecurityLevel (5) back before checking. Frames that were sent with the
level left at 5 check out the same way, since 5 is what goes back in.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import construct as c
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.ciphers.aead import AESCCM

from protocol.construct_errors import parse_struct

from .errors import DecodeError, LocalProtocolError, RemoteProtocolError

KEY_LENGTH = 16
NONCE_LENGTH = 13
_BLOCK = 16


class SecurityLevel(IntEnum):
    """Security level subfield (ZigBee spec 4.5.1.1)."""

    NONE = 0
    MIC_32 = 1
    MIC_64 = 2
    MIC_128 = 3
    ENC = 4
    ENC_MIC_32 = 5
    ENC_MIC_64 = 6
    ENC_MIC_128 = 7


class KeyId(IntEnum):
    """Key identifier subfield (ZigBee spec 4.5.1.1)."""

    DATA = 0  # a link key
    NETWORK = 1
    KEY_TRANSPORT = 2
    KEY_LOAD = 3


NWK_SECURITY_LEVEL = SecurityLevel.ENC_MIC_32  # nwkSecurityLevel, fixed at 5 in ZigBee PRO
MIC_LENGTH = 4  # for ENC-MIC-32


class AuthenticationError(RemoteProtocolError):
    """A secured frame failed its MIC check: wrong key, wrong nonce, or tampered bytes."""


_SECURITY_CONTROL = c.BitStruct(
    "reserved" / c.Const(0, c.BitsInteger(2)),
    "extended_nonce" / c.Flag,
    "key_id" / c.BitsInteger(2),
    "level" / c.BitsInteger(3),
)

_AUX_HEADER = c.Struct(
    "control" / _SECURITY_CONTROL,
    "frame_counter" / c.Int32ul,
    "source" / c.If(c.this.control.extended_nonce, c.Int64ul),
    "key_seq" / c.If(c.this.control.key_id == KeyId.NETWORK, c.Int8ul),
)

_AUX_PREFIX = c.Struct("header" / _AUX_HEADER, "rest" / c.GreedyBytes)


@dataclass(frozen=True)
class AuxSecurityHeader:
    """Auxiliary frame header (ZigBee spec 4.5.1).

    `source` (the extended nonce) is None when the frame leaves it out; `key_seq` is present
    exactly for the network key. `level` is the level subfield as sent: 0 in ZigBee PRO.
    """

    key_id: KeyId
    frame_counter: int
    source: int | None = None
    key_seq: int | None = None
    level: int = 0

    def __post_init__(self) -> None:
        if (self.key_seq is not None) != (self.key_id == KeyId.NETWORK):
            raise LocalProtocolError("the key sequence number goes with the network key only")

    def security_control(self, level: int | None = None) -> int:
        """The security control octet, with `level` in place of the sent level if given."""
        level = self.level if level is None else level
        return (self.source is not None) << 5 | self.key_id << 3 | level

    def build(self, level: int | None = None) -> bytes:
        """Serialise; pass `level` to get the form that goes into the nonce and a_data."""
        try:
            return bytes(
                _AUX_HEADER.build(
                    {
                        "control": {
                            "extended_nonce": self.source is not None,
                            "key_id": self.key_id,
                            "level": self.level if level is None else level,
                        },
                        "frame_counter": self.frame_counter,
                        "source": self.source,
                        "key_seq": self.key_seq,
                    }
                )
            )
        except (c.ConstructError, ValueError, TypeError) as exc:
            raise LocalProtocolError(f"cannot build auxiliary security header: {exc}") from exc

    @classmethod
    def parse_prefix(cls, data: bytes) -> tuple[AuxSecurityHeader, bytes]:
        """Split the auxiliary header off the front of `data`; returns it and the rest."""
        raw = parse_struct(_AUX_PREFIX, bytes(data), "auxiliary security header", "ZigBee 4.5.1")
        hdr = raw.header
        return (
            cls(
                key_id=KeyId(hdr.control.key_id),
                frame_counter=hdr.frame_counter,
                source=hdr.source,
                key_seq=hdr.key_seq,
                level=hdr.control.level,
            ),
            raw.rest,
        )

    @classmethod
    def parse(cls, data: bytes) -> AuxSecurityHeader:
        """Decode an auxiliary header that fills `data` exactly."""
        header, rest = cls.parse_prefix(data)
        if rest:
            raise DecodeError("auxiliary security header", "no trailing octets", bytes(data))
        return header


def ccm_nonce(
    source: int, frame_counter: int, security_control: int, level: int = NWK_SECURITY_LEVEL
) -> bytes:
    """CCM* nonce (ZigBee spec 4.5.2.2): source address (8 octets, LE) ||
    frame counter (4 octets, LE) || security control, whose level subfield is set to `level`
    whatever was sent (0 over the air in ZigBee PRO).
    """
    control = (security_control & ~0x07) | level
    return source.to_bytes(8, "little") + frame_counter.to_bytes(4, "little") + bytes([control])


def _aead(key: bytes, nonce: bytes, mic_len: int) -> AESCCM:
    if len(key) != KEY_LENGTH or len(nonce) != NONCE_LENGTH or mic_len not in (4, 8, 16):
        raise LocalProtocolError(
            f"CCM* needs a 16-octet key, a 13-octet nonce and a 4/8/16-octet MIC; got "
            f"{len(key)}, {len(nonce)}, {mic_len}"
        )
    return AESCCM(key, tag_length=mic_len)


def encrypt(key: bytes, nonce: bytes, a_data: bytes, plaintext: bytes, mic_len: int = 4) -> bytes:
    """CCM* forward transformation (annex A.2): returns the encrypted m followed by the MIC."""
    return _aead(key, nonce, mic_len).encrypt(nonce, plaintext, a_data)


def decrypt(key: bytes, nonce: bytes, a_data: bytes, ciphertext: bytes, mic_len: int = 4) -> bytes:
    """CCM* inverse transformation (annex A.3): `ciphertext` ends with the MIC.

    Raises `AuthenticationError` when the MIC does not verify.
    """
    aead = _aead(key, nonce, mic_len)
    if len(ciphertext) < mic_len:
        raise DecodeError("secured payload", f"at least the {mic_len}-octet MIC", ciphertext)
    try:
        return aead.decrypt(nonce, ciphertext, a_data)
    except InvalidTag as exc:
        raise AuthenticationError("MIC check failed: wrong key, nonce or altered frame") from exc


# --- Hashes and key derivation (annex B) -------------------------------------------------------


def _aes_block(key: bytes, block: bytes) -> bytes:
    encryptor = Cipher(algorithms.AES(key), modes.ECB()).encryptor()
    return encryptor.update(block) + encryptor.finalize()


def mmo_hash(data: bytes) -> bytes:
    """AES-MMO: Matyas-Meyer-Oseas hash over AES-128 (ZigBee spec B.6).

    Padding: a 1 bit, zeros, then the bit length of the message, as 16 bits for messages under
    2^16 bits and as 32 bits plus 16 zero bits for longer ones, to a multiple of 128 bits.
    Each block M_j gives H_j = E(H_{j-1}, M_j) xor M_j, starting from H_0 = 0.
    """
    bits = len(data) * 8
    if bits < 1 << 16:
        tail_len, length_field = 2, bits.to_bytes(2, "big")
    elif bits < 1 << 32:
        tail_len, length_field = 6, bits.to_bytes(4, "big") + b"\x00\x00"
    else:
        raise LocalProtocolError("AES-MMO hashes messages shorter than 2^32 bits")
    zeros = (-(len(data) + 1 + tail_len)) % _BLOCK
    padded = bytes(data) + b"\x80" + bytes(zeros) + length_field
    digest = bytes(_BLOCK)
    for i in range(0, len(padded), _BLOCK):
        block = padded[i : i + _BLOCK]
        digest = bytes(a ^ b for a, b in zip(_aes_block(digest, block), block, strict=True))
    return digest


def hmac_mmo(key: bytes, message: bytes) -> bytes:
    """Keyed hash HMAC over AES-MMO (ZigBee spec B.1.4, FIPS 198 with a 16-octet block)."""
    if len(key) > _BLOCK:
        key = mmo_hash(key)
    key = key.ljust(_BLOCK, b"\x00")
    inner = mmo_hash(bytes(k ^ 0x36 for k in key) + message)
    return mmo_hash(bytes(k ^ 0x5C for k in key) + inner)


def key_transport_key(link_key: bytes) -> bytes:
    """Key-transport key (ZigBee spec 4.5.3): HMAC-MMO of the octet 0x00 under the link key."""
    return hmac_mmo(link_key, b"\x00")


def key_load_key(link_key: bytes) -> bytes:
    """Key-load key (ZigBee spec 4.5.3): HMAC-MMO of the octet 0x02 under the link key."""
    return hmac_mmo(link_key, b"\x02")


def install_code_crc(code: bytes) -> int:
    """CRC-16/X-25 (reflected 0x1021, init and xorout 0xFFFF) that ends an install code."""
    crc = 0xFFFF
    for byte in code:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x8408 if crc & 1 else crc >> 1
    return crc ^ 0xFFFF


def link_key_from_install_code(code: bytes) -> bytes:
    """The preconfigured trust centre link key of an install code (ZigBee Base Device Behavior spec, install codes).

    `code` is the 6, 8, 12 or 16 octet install code followed by its CRC (least significant
    octet first). The key is the AES-MMO hash of all of it, CRC included.
    """
    code = bytes(code)
    if len(code) not in (8, 10, 14, 18):
        raise DecodeError("install code", "6, 8, 12 or 16 octets plus a 2-octet CRC", code)
    expected = install_code_crc(code[:-2]).to_bytes(2, "little")
    if code[-2:] != expected:
        raise DecodeError(
            "install code",
            f"CRC-16/X-25 {expected.hex().upper()} in its last two octets (mistyped code?)",
            code,
        )
    return mmo_hash(code)


# --- Securing whole NWK and APS frames (4.3.1, 4.4.1) -----------------------------------------


def _secure(
    header: bytes, aux: AuxSecurityHeader, source: int, key: bytes, payload: bytes
) -> bytes:
    a_data = header + aux.build(level=NWK_SECURITY_LEVEL)
    nonce = ccm_nonce(source, aux.frame_counter, aux.security_control(), NWK_SECURITY_LEVEL)
    sealed = encrypt(key, nonce, a_data, payload, MIC_LENGTH)
    # 4.3.1.1: the level subfield goes out as 0, the receiver knows nwkSecurityLevel.
    return header + aux.build(level=SecurityLevel.NONE) + sealed


def _unsecure(header: bytes, aux: AuxSecurityHeader, source: int, key: bytes, rest: bytes) -> bytes:
    # A received level of 0 means "nwkSecurityLevel" (4.3.1.2); anything else but 5
    # would need another MIC length or no encryption, which ZigBee PRO never sends.
    if aux.level not in (SecurityLevel.NONE, NWK_SECURITY_LEVEL):
        raise DecodeError("secured frame", "security level 0 or 5", f"level {aux.level}")
    a_data = header + aux.build(level=NWK_SECURITY_LEVEL)
    nonce = ccm_nonce(source, aux.frame_counter, aux.security_control(), NWK_SECURITY_LEVEL)
    return decrypt(key, nonce, a_data, rest, MIC_LENGTH)


def secure_nwk_frame(
    nwk_header: bytes,
    payload: bytes,
    network_key: bytes,
    frame_counter: int,
    src_eui64: int,
    key_seq: int,
) -> bytes:
    """NWK outgoing frame security (ZigBee spec 4.3.1.1).

    `nwk_header` is the NWK header with its security bit set (`NwkFrame.header_bytes()`).
    Returns the whole NWK frame: header || auxiliary header (key id network, extended nonce,
    level 0 as sent) || encrypted payload || 4-octet MIC.
    """
    if len(nwk_header) < 8 or not nwk_header[1] & 0x02:
        raise LocalProtocolError("secure a NWK header whose security subfield is set")
    aux = AuxSecurityHeader(KeyId.NETWORK, frame_counter, src_eui64, key_seq)
    return _secure(bytes(nwk_header), aux, src_eui64, network_key, bytes(payload))


def unsecure_nwk_frame(
    nwk_header: bytes, secured: bytes, network_key: bytes
) -> tuple[AuxSecurityHeader, bytes]:
    """NWK incoming frame security (ZigBee spec 4.3.1.2).

    `nwk_header` and `secured` are `NwkFrame.header_bytes()` and `NwkFrame.payload` of a
    received frame. Returns the auxiliary header (for the frame counter and key sequence checks
    the caller owns) and the plaintext NWK payload.
    """
    aux, rest = AuxSecurityHeader.parse_prefix(secured)
    if aux.key_id != KeyId.NETWORK or aux.source is None:
        raise DecodeError("NWK auxiliary header", "network key with extended nonce", secured)
    return aux, _unsecure(bytes(nwk_header), aux, aux.source, network_key, rest)


def _aps_key(link_key: bytes, key_id: KeyId) -> bytes:
    if key_id == KeyId.KEY_TRANSPORT:
        return key_transport_key(link_key)
    if key_id == KeyId.KEY_LOAD:
        return key_load_key(link_key)
    return link_key


def secure_aps_frame(
    aps_header: bytes,
    payload: bytes,
    link_key: bytes,
    frame_counter: int,
    src_eui64: int,
    key_id: KeyId = KeyId.DATA,
    extended_nonce: bool = True,
) -> bytes:
    """APS outgoing frame security (ZigBee spec 4.4.1.1).

    `link_key` is the unhashed link key; for `KeyId.KEY_TRANSPORT` (a Transport-Key of the
    network key) or `KeyId.KEY_LOAD` the key actually used is derived from it. Without
    `extended_nonce` the source address is left out of the auxiliary header (the receiver then
    takes it from the NWK header or its address map) but still goes into the nonce.
    Returns APS header || auxiliary header || encrypted payload || MIC.
    """
    if key_id == KeyId.NETWORK:
        raise LocalProtocolError("APS frames are secured with a link key or a key derived from it")
    if not aps_header or not aps_header[0] & 0x20:
        raise LocalProtocolError("secure an APS header whose security subfield is set")
    aux = AuxSecurityHeader(key_id, frame_counter, src_eui64 if extended_nonce else None)
    key = _aps_key(link_key, key_id)
    return _secure(bytes(aps_header), aux, src_eui64, key, bytes(payload))


def unsecure_aps_frame(
    aps_header: bytes, secured: bytes, link_key: bytes, src_eui64: int | None = None
) -> tuple[AuxSecurityHeader, bytes]:
    """APS incoming frame security (ZigBee spec 4.4.1.2).

    `src_eui64` is the sender's address for frames sent without the extended nonce.
    Returns the auxiliary header and the plaintext APS payload.
    """
    aux, rest = AuxSecurityHeader.parse_prefix(secured)
    if aux.key_id == KeyId.NETWORK:
        raise DecodeError("APS auxiliary header", "a link key identifier (0, 2, 3)", secured)
    source = aux.source if aux.source is not None else src_eui64
    if source is None:
        raise LocalProtocolError("no extended nonce in the frame: pass the sender's EUI-64")
    return aux, _unsecure(bytes(aps_header), aux, source, _aps_key(link_key, aux.key_id), rest)

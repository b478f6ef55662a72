"""ASH frames: the framing layer of EZSP-UART (Silicon Labs UG101, "UART-EZSP Gateway Protocol").

What: the codec shared by both ends of an ASH link ("Asynchronous Serial Host") -- frame types,
control-byte layouts, CRC, byte stuffing, data-field randomisation -- and a `Deframer` that cuts a
raw byte stream into frames. No state beyond one partial frame, no I/O, no clock.

Why: we emulate an EZSP network co-processor (NCP) that the unmodified `bellows` host must accept
as a real dongle, so every byte here follows UG101:

- A frame on the wire is Control Byte, Data Field, CRC (CRC-CCITT, initial value 0xFFFF,
  polynomial 0x1021, sent high byte first), then a Flag Byte (0x7E) that ends it (UG101,
  "Frame Format").
- Byte stuffing (UG101, "Reserved Bytes and Byte Stuffing"): the reserved bytes Flag 0x7E,
  Escape 0x7D, XON 0x11, XOFF 0x13, Substitute 0x18 and Cancel 0x1A never appear inside a frame;
  each is sent as Escape followed by the byte with bit 5 flipped.
- Data randomisation (UG101, "Data Randomization"): the Data Field of DATA frames is XORed with a
  pseudo-random sequence from an 8-bit LFSR (seed 0x42; shift right, XOR 0xB8 when the bit
  shifted out is 1), so EZSP frames full of zeros or reserved bytes need little stuffing. The XOR
  is its own inverse.
- Frame types and their Control Bytes (UG101, "Frame Formats"):
  DATA ``0 frmNum(3) reTx ackNum(3)``, ACK ``1 0 0 res nRdy ackNum(3)``,
  NAK ``1 0 1 res nRdy ackNum(3)``, RST ``0xC0``, RSTACK ``0xC1`` and ERROR ``0xC2`` (the last two
  carry the ASH version, 2, and a reset or error code).

`build_frame`/`parse_frame` work on the unstuffed frame with its CRC and without the Flag Byte, the
same cut as bellows' ``AshFrame.to_bytes``/``from_bytes``; `encode_frame` gives wire bytes.
"""

from __future__ import annotations

import binascii
import enum
from dataclasses import dataclass

from construct import BitsInteger, BitStruct, Const, ConstructError, Flag, Int8ub, Struct

from protocol.errors import DecodeError, LocalProtocolError

ASH_VERSION = 2
"""The ASH protocol version carried by RSTACK and ERROR frames (UG101, "Frame Formats")."""

MIN_DATA_FIELD_LEN = 3
"""ASH_MIN_DATA_FIELD_LEN: an EZSP frame is at least sequence, frame control and frame ID."""

MAX_DATA_FIELD_LEN = 220
"""ASH_MAX_DATA_FIELD_LEN: EZSP_MAX_FRAME_LENGTH of EZSP v9+ (200 + extended header + MIC)."""

_CRC_LEN = 2
# Longest frame before stuffing: control + data + CRC. Stuffed, it can be twice as long.
MAX_FRAME_LEN = 1 + MAX_DATA_FIELD_LEN + _CRC_LEN


class Reserved(enum.IntEnum):
    """Reserved bytes that have a meaning of their own on the wire (UG101, "Byte Stuffing")."""

    FLAG = 0x7E  # ends a frame
    ESCAPE = 0x7D  # the next byte is a reserved byte with bit 5 flipped
    XON = 0x11  # software flow control: resume
    XOFF = 0x13  # software flow control: stop
    SUBSTITUTE = 0x18  # stands for a byte lost to a low-level (UART) error
    CANCEL = 0x1A  # ends a frame in progress, which is ignored


RESERVED_BYTES = frozenset(int(byte) for byte in Reserved)
_FLIP = 0x20


class ResetCode(enum.IntEnum):
    """Reset and error codes in RSTACK and ERROR frames (EZSP ``EzspResetCode``/NcpResetCode)."""

    RESET_UNKNOWN_REASON = 0x00
    RESET_EXTERNAL = 0x01
    RESET_POWER_ON = 0x02
    RESET_WATCHDOG = 0x03
    RESET_ASSERT = 0x06
    RESET_BOOTLOADER = 0x09
    RESET_SOFTWARE = 0x0B
    ERROR_EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT = 0x51
    ERROR_UNKNOWN_EM3XX_ERROR = 0x80


def crc_ccitt(data: bytes) -> int:
    """CRC-CCITT as ASH uses it: polynomial 0x1021, initial value 0xFFFF, no final XOR."""
    return binascii.crc_hqx(data, 0xFFFF)


def stuff(data: bytes) -> bytes:
    """Escape every reserved byte (UG101, "Byte Stuffing")."""
    out = bytearray()
    for byte in data:
        if byte in RESERVED_BYTES:
            out += bytes((Reserved.ESCAPE, byte ^ _FLIP))
        else:
            out.append(byte)
    return bytes(out)


def unstuff(data: bytes) -> bytes:
    """Undo `stuff`; an Escape must be followed by a reserved byte with bit 5 flipped."""
    out = bytearray()
    escaped = False
    for byte in data:
        if escaped:
            if byte ^ _FLIP not in RESERVED_BYTES:
                raise DecodeError("ASH escape sequence", "an escaped reserved byte", data)
            out.append(byte ^ _FLIP)
            escaped = False
        elif byte == Reserved.ESCAPE:
            escaped = True
        else:
            out.append(byte)
    if escaped:
        raise DecodeError("ASH escape sequence", "a byte after the Escape byte", data)
    return bytes(out)


def _pseudo_random_sequence(length: int) -> bytes:
    """The UG101 "Data Randomization" LFSR: seed 0x42; shift right, XOR 0xB8 if a 1 fell out."""
    out = bytearray()
    value = 0x42
    for _ in range(length):
        out.append(value)
        value = (value >> 1) ^ (0xB8 if value & 1 else 0)
    return bytes(out)


_PSEUDO_RANDOM = _pseudo_random_sequence(MAX_DATA_FIELD_LEN)


def randomise(data: bytes) -> bytes:
    """XOR a DATA frame's Data Field with the ASH pseudo-random sequence; an involution."""
    if len(data) > MAX_DATA_FIELD_LEN:
        raise LocalProtocolError(f"ASH data field of {len(data)} bytes > {MAX_DATA_FIELD_LEN}")
    return bytes(a ^ b for a, b in zip(data, _PSEUDO_RANDOM, strict=False))


@dataclass(frozen=True)
class DataFrame:
    """DATA: carries an EZSP frame (``payload``, not randomised) and a piggybacked ackNum."""

    frm_num: int
    re_tx: bool
    ack_num: int
    payload: bytes


@dataclass(frozen=True)
class AckFrame:
    """ACK: acknowledges every DATA frame before ``ack_num``; ``n_rdy`` = receiver not ready."""

    ack_num: int
    n_rdy: bool = False


@dataclass(frozen=True)
class NakFrame:
    """NAK: acknowledges like ACK and asks for retransmission from ``ack_num`` on."""

    ack_num: int
    n_rdy: bool = False


@dataclass(frozen=True)
class RstFrame:
    """RST: the host asks the NCP to reset (UG101, "Frame Formats")."""


@dataclass(frozen=True)
class RstAckFrame:
    """RSTACK: the NCP has reset; ``reset_code`` says why (a `ResetCode` value)."""

    reset_code: int
    version: int = ASH_VERSION


@dataclass(frozen=True)
class ErrorFrame:
    """ERROR: the NCP entered the FAILED state; ``reset_code`` says why."""

    reset_code: int
    version: int = ASH_VERSION


AshFrame = DataFrame | AckFrame | NakFrame | RstFrame | RstAckFrame | ErrorFrame

# Control Byte layouts (UG101, "Frame Formats"), most significant bit first.
_DATA_CONTROL = BitStruct(
    "data_type" / Const(0, BitsInteger(1)),
    "frm_num" / BitsInteger(3),
    "re_tx" / Flag,
    "ack_num" / BitsInteger(3),
)
_ACK_NAK_CONTROL = BitStruct(
    "ack_nak_type" / Const(0b10, BitsInteger(2)),
    "nak" / Flag,
    "res" / BitsInteger(1),
    "n_rdy" / Flag,
    "ack_num" / BitsInteger(3),
)
_RST_CONTROL = 0xC0
_RSTACK_CONTROL = 0xC1
_ERROR_CONTROL = 0xC2
# Data Field of RSTACK and ERROR.
_RESET_BODY = Struct("version" / Const(ASH_VERSION, Int8ub), "reset_code" / Int8ub)


def _check_sequence_number(name: str, value: int) -> None:
    if not 0 <= value <= 7:
        raise LocalProtocolError(f"ASH {name} must be 0..7, not {value}")


def _build_body(frame: AshFrame) -> bytes:
    """Control Byte and Data Field, before the CRC."""
    match frame:
        case DataFrame(frm_num, re_tx, ack_num, payload):
            _check_sequence_number("frmNum", frm_num)
            _check_sequence_number("ackNum", ack_num)
            if not MIN_DATA_FIELD_LEN <= len(payload) <= MAX_DATA_FIELD_LEN:
                raise LocalProtocolError(f"EZSP frame of {len(payload)} bytes does not fit ASH")
            control = _DATA_CONTROL.build({"frm_num": frm_num, "re_tx": re_tx, "ack_num": ack_num})
            return bytes(control) + randomise(payload)
        case AckFrame(ack_num, n_rdy) | NakFrame(ack_num, n_rdy):
            _check_sequence_number("ackNum", ack_num)
            fields = {"nak": isinstance(frame, NakFrame), "res": 0, "n_rdy": n_rdy}
            return bytes(_ACK_NAK_CONTROL.build({**fields, "ack_num": ack_num}))
        case RstFrame():
            return bytes((_RST_CONTROL,))
        case RstAckFrame(reset_code, _) | ErrorFrame(reset_code, _):
            control = _RSTACK_CONTROL if isinstance(frame, RstAckFrame) else _ERROR_CONTROL
            return bytes((control,)) + bytes(_RESET_BODY.build({"reset_code": reset_code}))
    raise LocalProtocolError(f"not an ASH frame: {frame!r}")  # pragma: no cover


def build_frame(frame: AshFrame) -> bytes:
    """Control Byte, Data Field and CRC of ``frame``: unstuffed, without the Flag Byte."""
    body = _build_body(frame)
    return body + crc_ccitt(body).to_bytes(_CRC_LEN, "big")


def encode_frame(frame: AshFrame) -> bytes:
    """Wire bytes of ``frame``: stuffed and ended by the Flag Byte."""
    return stuff(build_frame(frame)) + bytes((Reserved.FLAG,))


def parse_frame(data: bytes) -> AshFrame:
    """Inverse of `build_frame`; raises `DecodeError` for anything UG101 does not allow."""
    if len(data) < 1 + _CRC_LEN:
        raise DecodeError("ASH frame", "control byte and CRC (3 bytes or more)", data)
    body, crc = data[:-_CRC_LEN], int.from_bytes(data[-_CRC_LEN:], "big")
    if crc != crc_ccitt(body):
        raise DecodeError("ASH frame", f"CRC {crc_ccitt(body):04X}", data)
    control, field = body[0], body[1:]
    try:
        if control & 0x80 == 0:
            if not MIN_DATA_FIELD_LEN <= len(field) <= MAX_DATA_FIELD_LEN:
                raise DecodeError(
                    "ASH DATA frame",
                    f"data field of {MIN_DATA_FIELD_LEN}..{MAX_DATA_FIELD_LEN} bytes",
                    data,
                )
            bits = _DATA_CONTROL.parse(bytes((control,)))
            return DataFrame(bits.frm_num, bits.re_tx, bits.ack_num, randomise(field))
        if control & 0xC0 == 0x80:
            if field:
                raise DecodeError("ASH ACK/NAK frame", "no data field", data)
            bits = _ACK_NAK_CONTROL.parse(bytes((control,)))
            if bits.nak:
                return NakFrame(ack_num=bits.ack_num, n_rdy=bits.n_rdy)
            return AckFrame(ack_num=bits.ack_num, n_rdy=bits.n_rdy)
        if control == _RST_CONTROL:
            if field:
                raise DecodeError("ASH RST frame", "no data field", data)
            return RstFrame()
        if control in (_RSTACK_CONTROL, _ERROR_CONTROL):
            if len(field) != 2:
                raise DecodeError("ASH RSTACK/ERROR frame", "a 2-byte data field", data)
            reset_code: int = _RESET_BODY.parse(field).reset_code
            if control == _RSTACK_CONTROL:
                return RstAckFrame(reset_code=reset_code)
            return ErrorFrame(reset_code=reset_code)
    except ConstructError as exc:
        raise DecodeError("ASH frame", str(exc), data) from exc
    raise DecodeError("ASH control byte", "DATA, ACK, NAK, RST, RSTACK or ERROR", data)


class Deframer:
    """Cuts a raw byte stream into unstuffed frames, applying the UG101 reserved bytes.

    `feed` returns, for every Flag Byte that ends a non-empty frame, either the frame's bytes
    (unstuffed, CRC included, ready for `parse_frame`) or a `DecodeError` when the frame was
    marked bad by a Substitute byte, ran past the longest legal frame, or has a broken escape.
    Cancel discards the frame in progress silently; XON/XOFF are dropped (no flow control here).
    """

    def __init__(self) -> None:
        self._frame = bytearray()
        self._bad: str | None = None

    def feed(self, data: bytes) -> list[bytes | DecodeError]:
        out: list[bytes | DecodeError] = []
        for byte in data:
            if byte == Reserved.FLAG:
                if self._bad is not None:
                    out.append(DecodeError("ASH frame", "no low-level error", self._bad))
                elif self._frame:
                    try:
                        out.append(unstuff(bytes(self._frame)))
                    except DecodeError as exc:
                        out.append(exc)
                self._frame.clear()
                self._bad = None
            elif byte == Reserved.CANCEL:
                self._frame.clear()
                self._bad = None
            elif byte == Reserved.SUBSTITUTE:
                self._frame.clear()
                self._bad = "Substitute byte (UART error)"
            elif byte in (Reserved.XON, Reserved.XOFF):
                continue
            elif self._bad is None:
                if len(self._frame) >= 2 * MAX_FRAME_LEN:
                    self._frame.clear()
                    self._bad = f"frame longer than {2 * MAX_FRAME_LEN} bytes"
                else:
                    self._frame.append(byte)
        return out

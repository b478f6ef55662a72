"""IEC 62056-21 (formerly IEC 61107) mode C messages: their byte layouts, built and parsed.

The messages of a local data exchange through the optical port (IEC 62056-21:2002, 6.3), as
they appear on the line, 7 data bits, even parity (the UART adds and checks the parity bit):

| message                | layout                                       | sent by |
|------------------------|----------------------------------------------|---------|
| request (sign-on)      | ``/ ? [device address] ! CR LF``             | HHT     |
| identification         | ``/ XXX Z [\\W] identification CR LF``       | meter   |
| acknowledgement/option | ``ACK V Z Y CR LF``                          | HHT     |
| data readout           | ``STX data-block ! CR LF ETX BCC``           | meter   |
| command                | ``SOH C D [STX data-set] ETX BCC``           | both    |
| data (answer, error)   | ``STX data-set ETX BCC``                     | meter   |
| acknowledge / repeat   | ``ACK`` / ``NAK``                            | both    |

XXX is the manufacturer's three-letter id (a lower-case third letter announces a 20 ms reaction
time), Z the baud rate character (mode C: '0' 300 ... '6' 19200 baud), V the protocol control
character ('0' normal), Y the mode control character ('0' data readout, '1' programming). C is a
command (P password, W write, R read, E execute, B break) and D its type. The block check
character BCC is the XOR of every byte after the first SOH or STX up to and including ETX.

A data set is ``address(value*unit)`` (6.5): address at most 16 characters, value at most 128
(32 in a readout, which we do not enforce on reading), unit at most 16; none may contain ``( ) /
!``, and ``*`` only separates the unit. `construct` describes each layout; `parse_message`
refuses anything else with a `DecodeError`.
"""

from __future__ import annotations

import enum
import functools
import operator
from dataclasses import dataclass, field

import construct as c

from protocol.construct_errors import build_struct, parse_struct
from protocol.errors import DecodeError, LocalProtocolError

__all__ = [
    "ACK",
    "CRLF",
    "ETX",
    "NAK",
    "SOH",
    "STX",
    "Ack",
    "BaudChar",
    "Command",
    "DataMessage",
    "DataReadout",
    "DataSet",
    "Identification",
    "Message",
    "ModeChar",
    "Nak",
    "OptionSelect",
    "SignOnRequest",
    "bcc",
    "build_message",
    "parse_message",
]

SOH, STX, ETX, EOT, ACK, NAK = b"\x01", b"\x02", b"\x03", b"\x04", b"\x06", b"\x15"
CRLF = b"\r\n"
ADDRESS_MAX, VALUE_MAX, UNIT_MAX = 16, 128, 16
DEVICE_ADDRESS_MAX, IDENTIFICATION_MAX = 32, 16
#: Characters a data set's parts may not contain (IEC 62056-21 6.5); control characters neither.
_RESERVED = frozenset("()/!")


class BaudChar(enum.Enum):
    """Mode C baud rate characters (Z) and their rates (6.3.14 table)."""

    B300 = "0"
    B600 = "1"
    B1200 = "2"
    B2400 = "3"
    B4800 = "4"
    B9600 = "5"
    B19200 = "6"

    @property
    def baud(self) -> int:
        return 300 << int(self.value)


class ModeChar(enum.Enum):
    """Mode control characters (Y) of the option select message."""

    READOUT = "0"
    PROGRAMMING = "1"
    BINARY = "2"  # HDLC (IEC 62056-46): not served here


def bcc(data: bytes) -> int:
    """The block check character: XOR of `data` (the bytes after SOH/STX, through ETX)."""
    return functools.reduce(operator.xor, data, 0)


def _text(what: str, value: str, limit: int, extra_forbidden: str = "") -> str:
    """Check a part of a message we are about to send: printable 7-bit, within `limit`."""
    if len(value) > limit:
        raise LocalProtocolError(f"{what} {value!r} is longer than {limit} characters")
    bad = [ch for ch in value if not " " <= ch <= "~" or ch in _RESERVED or ch in extra_forbidden]
    if bad:
        raise LocalProtocolError(f"{what} {value!r} contains {bad[0]!r}")
    return value


@dataclass(frozen=True)
class DataSet:
    """``address(value*unit)``; `unit` empty when the value has none."""

    address: str = ""
    value: str = ""
    unit: str = ""

    def encode(self) -> bytes:
        _text("data set address", self.address, ADDRESS_MAX)
        _text("data set value", self.value, VALUE_MAX, "*")
        _text("data set unit", self.unit, UNIT_MAX, "*")
        unit = f"*{self.unit}" if self.unit else ""
        return f"{self.address}({self.value}{unit})".encode("ascii")

    @classmethod
    def parse_all(cls, text: str, what: str) -> list[DataSet]:
        """Every data set of a data block or line, in order; DecodeError if one is malformed."""
        sets, rest = [], text
        while rest:
            rest = rest.lstrip("\r\n")
            if not rest:
                break
            opening = rest.find("(")
            closing = rest.find(")", opening + 1)
            if opening < 0 or closing < 0:
                raise DecodeError(what, "data sets address(value*unit)", text)
            address, inner = rest[:opening], rest[opening + 1 : closing]
            value, _, unit = inner.partition("*")
            parts = (address, ADDRESS_MAX), (value, VALUE_MAX), (unit, UNIT_MAX)
            for part, limit in parts:
                if len(part) > limit or any(ch in _RESERVED or not " " <= ch <= "~" for ch in part):
                    raise DecodeError(what, f"data set parts of at most {limit} characters", text)
            if "*" in unit:
                raise DecodeError(what, "one '*' before the unit", text)
            sets.append(cls(address, value, unit))
            rest = rest[closing + 1 :]
        return sets


# -- the messages --------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignOnRequest:
    """``/?address!CRLF``: opens a session at 300 baud (6.3.1)."""

    address: str = ""


@dataclass(frozen=True)
class Identification:
    """``/XXXZidentification CRLF`` (6.3.2); `enhanced` is the optional ``\\W`` capability."""

    manufacturer: str
    baud: BaudChar
    identification: str
    enhanced: str = ""

    @property
    def short_reaction(self) -> bool:
        """A lower-case third letter: the meter answers within 20 ms instead of 200 ms."""
        return self.manufacturer[2:3].islower()


@dataclass(frozen=True)
class OptionSelect:
    """``ACK V Z Y CRLF`` (6.3.3): the HHT's choice of baud rate and mode."""

    baud: BaudChar
    mode: ModeChar
    protocol: str = "0"


@dataclass(frozen=True)
class DataReadout:
    """``STX data-block ! CRLF ETX BCC`` (6.3.4): data lines of data sets."""

    lines: tuple[tuple[DataSet, ...], ...]


@dataclass(frozen=True)
class Command:
    """``SOH C D [STX data-set ETX] BCC`` (6.3.6): P0 asks for a password, P1/P2 give one,
    R1/R5 read, W1/W5 write, E execute, B0 breaks the session."""

    command: str
    type: str
    data: DataSet | None = None

    @property
    def name(self) -> str:
        return f"{self.command}{self.type}"


@dataclass(frozen=True)
class DataMessage:
    """``STX data-set ETX BCC`` (6.3.5): an answer to a read, or an error message ``(ERRnn)``."""

    data: tuple[DataSet, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Ack:
    """A lone ACK: the last message was accepted."""


@dataclass(frozen=True)
class Nak:
    """A lone NAK: the last message was received with an error; send it again."""


Message = (
    SignOnRequest | Identification | OptionSelect | DataReadout | Command | DataMessage | Ack | Nak
)

# -- layouts (construct) -------------------------------------------------------------------------

_ASCII = c.StringEncoded(c.GreedyBytes, "ascii")
_SIGN_ON = c.Struct(
    c.Const(b"/?"), "address" / c.StringEncoded(c.NullTerminated(c.GreedyBytes, term=b"!"), "ascii")
)
_IDENTIFICATION = c.Struct(
    c.Const(b"/"),
    "manufacturer" / c.PaddedString(3, "ascii"),
    "baud" / c.PaddedString(1, "ascii"),
    "rest" / _ASCII,
)
_OPTION = c.Struct(
    c.Const(ACK),
    "protocol" / c.PaddedString(1, "ascii"),
    "baud" / c.PaddedString(1, "ascii"),
    "mode" / c.PaddedString(1, "ascii"),
)
#: SOH or STX, then the checked span through ETX, then the BCC over that span.
_BLOCK = c.Struct(
    "start" / c.OneOf(c.Bytes(1), [SOH, STX]),
    "span" / c.RawCopy(c.NullTerminated(c.GreedyBytes, term=ETX, include=True)),
    "bcc" / c.Checksum(c.Int8ub, bcc, c.this.span.data),
    c.Terminated,
)


def _line(data: bytes, what: str) -> bytes:
    """A message ended by CR LF: its bytes without them; 7-bit, no other control characters."""
    if not data.endswith(CRLF):
        raise DecodeError(what, "a message ending in CR LF", data)
    body = data[:-2]
    if any(not 0x20 <= octet <= 0x7E for octet in body[1:]):
        raise DecodeError(what, "printable 7-bit characters", data)
    return body


def _block_text(data: bytes, what: str) -> tuple[bytes, str]:
    """(start byte, text between the start and ETX) of a BCC-checked block."""
    parsed = parse_struct(_BLOCK, data, what, "SOH or STX ... ETX BCC with a correct BCC")
    inner = bytes(parsed.span.data)[:-1]
    if any(not (0x20 <= octet <= 0x7E or octet in b"\r\n\x02") for octet in inner):
        raise DecodeError(what, "printable 7-bit characters", data)
    return bytes(parsed.start), inner.decode("ascii")


def parse_message(data: bytes) -> Message:
    """One complete message (as `frame_length` cut it) as its dataclass; DecodeError if not."""
    if data == ACK:
        return Ack()
    if data == NAK:
        return Nak()
    if data.startswith(b"/?"):
        body = _line(data, "IEC 62056-21 request")
        request = parse_struct(_SIGN_ON, body, "IEC 62056-21 request", "/?address!")
        if len(request.address) > DEVICE_ADDRESS_MAX or "!" in request.address:
            raise DecodeError("IEC 62056-21 request", "a device address of 32 characters", data)
        return SignOnRequest(request.address)
    if data.startswith(b"/"):
        return _identification(data)
    if data.startswith(ACK):
        body = _line(data, "IEC 62056-21 option select")
        option = parse_struct(_OPTION, body, "IEC 62056-21 option select", "ACK V Z Y")
        try:
            return OptionSelect(BaudChar(option.baud), ModeChar(option.mode), option.protocol)
        except ValueError:
            raise DecodeError("IEC 62056-21 option select", "mode C Z and Y", data) from None
    if data.startswith(SOH):
        return _command(data)
    if data.startswith(STX):
        return _data(data)
    raise DecodeError("IEC 62056-21 message", "/, ACK, NAK, SOH or STX first", data)


def _identification(data: bytes) -> Identification:
    what = "IEC 62056-21 identification"
    body = _line(data, what)
    ident = parse_struct(_IDENTIFICATION, body, what, "/XXXZ identification")
    enhanced, rest = "", ident.rest
    if rest.startswith("\\") and len(rest) >= 2:
        enhanced, rest = rest[1], rest[2:]
    if not ident.manufacturer.isalpha() or len(rest) > IDENTIFICATION_MAX or "/" in rest:
        raise DecodeError(what, "three letters and at most 16 characters of identification", data)
    try:
        return Identification(ident.manufacturer, BaudChar(ident.baud), rest, enhanced)
    except ValueError:
        raise DecodeError(what, "a mode C baud rate character 0-6", data) from None


def _command(data: bytes) -> Command:
    what = "IEC 62056-21 command"
    _, text = _block_text(data, what)
    if len(text) < 2 or not text[0].isalpha() or not text[1].isalnum():
        raise DecodeError(what, "a command letter and type", data)
    rest = text[2:]
    if not rest:
        return Command(text[0], text[1])
    if not rest.startswith("\x02"):
        raise DecodeError(what, "STX before the data set", data)
    sets = DataSet.parse_all(rest[1:], what)
    if len(sets) != 1:
        raise DecodeError(what, "exactly one data set", data)
    return Command(text[0], text[1], sets[0])


def _data(data: bytes) -> DataReadout | DataMessage:
    what = "IEC 62056-21 data"
    _, text = _block_text(data, what)
    if "\x02" in text:
        raise DecodeError(what, "one STX", data)
    if text.endswith("!\r\n"):
        lines = [line for line in text[:-3].split("\r\n") if line]
        return DataReadout(tuple(tuple(DataSet.parse_all(line, what)) for line in lines))
    return DataMessage(tuple(DataSet.parse_all(text, what)))


def _block(start: bytes, body: bytes) -> bytes:
    return build_struct(
        _BLOCK, {"start": start, "span": {"data": body + ETX}}, "IEC 62056-21 block"
    )


def build_message(message: Message) -> bytes:
    """The wire bytes of `message`; LocalProtocolError if a field cannot be sent."""
    match message:
        case Ack():
            return ACK
        case Nak():
            return NAK
        case SignOnRequest(address):
            _text("device address", address, DEVICE_ADDRESS_MAX)
            return b"/?" + address.encode("ascii") + b"!" + CRLF
        case Identification(manufacturer, baud, identification, enhanced):
            if len(manufacturer) != 3 or not manufacturer.isalpha():
                raise LocalProtocolError(f"manufacturer id {manufacturer!r} is not 3 letters")
            _text("identification", identification, IDENTIFICATION_MAX)
            capability = f"\\{enhanced}" if enhanced else ""
            text = f"/{manufacturer}{baud.value}{capability}{identification}"
            return text.encode("ascii") + CRLF
        case OptionSelect(baud, mode, protocol):
            return ACK + f"{protocol}{baud.value}{mode.value}".encode("ascii") + CRLF
        case DataReadout(lines):
            block = b"".join(b"".join(s.encode() for s in line) + CRLF for line in lines)
            return _block(STX, block + b"!" + CRLF)
        case Command(command, kind, data):
            if len(command) != 1 or len(kind) != 1 or not (command + kind).isalnum():
                raise LocalProtocolError(f"command {command}{kind} is not a letter and a type")
            payload = STX + data.encode() if data is not None else b""
            return _block(SOH, f"{command}{kind}".encode("ascii") + payload)
        case DataMessage(data):
            return _block(STX, b"".join(s.encode() for s in data))
    raise LocalProtocolError(f"not an IEC 62056-21 message: {message!r}")

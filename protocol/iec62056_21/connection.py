"""The IEC 62056-21 mode C session, sans-IO, for both ends: the meter (server) and the HHT (client).

Bytes in (`receive_data`), messages out (`next_event`), messages to bytes (`send`); no port, no
clock, no sleeping. The caller owns the line: it changes the line speed when `baud` changes
(after the option select, and back to 300 baud when a session ends) and feeds `timeout()` when
its inactivity timer runs out (IEC 62056-21 6.3.14: a meter that hears nothing valid for 60 to
120 s goes back to waiting for a sign-on at 300 baud).

Both roles run the one transition table below, keyed by who sends what in which state; a role
may only `send` what the table lets it send (else LocalProtocolError), and a received message the
table does not allow comes out as `Refused` with the message, so the meter can answer with an
error message and the HHT can report it. Bytes that are no message at all (a BCC error, noise, a
line too long) come out as `Refused` without one; in programming mode the meter answers those
with NAK, as the standard asks, and the HHT sends its last message again (`resend`).

Many optical heads echo what they transmit. The HHT's connection drops the echo of its own
messages from what it receives, when the echo comes, so one code path serves heads that echo and
heads that do not.

The table (sender, state, message kind -> next state), as in h11, is the whole protocol:
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from protocol.errors import DecodeError, LocalProtocolError

from .frames import (
    ACK,
    CRLF,
    ETX,
    NAK,
    SOH,
    STX,
    Ack,
    Command,
    DataMessage,
    DataReadout,
    Identification,
    Message,
    ModeChar,
    Nak,
    OptionSelect,
    SignOnRequest,
    build_message,
    parse_message,
)

__all__ = ["SIGN_ON_BAUD", "Connection", "Refused", "Role", "State"]

SIGN_ON_BAUD = 300
#: Longest line (request, identification, option select): "/?" + 32 + "!" + CRLF, with room.
LINE_MAX = 64
#: Longest block a meter accepts (a command with one data set) and an HHT accepts (a readout).
BLOCK_MAX = {"meter": 512, "hht": 16384}


class Role(enum.Enum):
    METER = "meter"
    HHT = "hht"

    @property
    def peer(self) -> Role:
        return Role.HHT if self is Role.METER else Role.METER


class State(enum.Enum):
    IDLE = "idle"  # waiting for a request, at 300 baud
    IDENTIFYING = "identifying"  # request heard: the meter identifies itself next
    OPTION = "option"  # identification heard: the HHT's option select next
    READOUT = "readout"  # data readout chosen: the meter sends it at the new rate
    PASSWORD_REQUEST = "password_request"  # programming chosen: the meter's P0 next
    PASSWORD = "password"  # P0 heard: the HHT's P1/P2 next
    PASSWORD_CHECK = "password_check"  # password heard: the meter's ACK or refusal next
    PROGRAMMING = "programming"  # logged in: the HHT's commands
    ANSWER = "answer"  # a command heard: the meter's answer next


M, H = Role.METER, Role.HHT
S = State
_SESSION = frozenset(State) - {S.IDLE}
TRANSITIONS: dict[tuple[Role, State, str], State] = {
    (H, S.IDLE, "request"): S.IDENTIFYING,
    (M, S.IDENTIFYING, "identification"): S.OPTION,
    (H, S.OPTION, "option0"): S.READOUT,
    (H, S.OPTION, "option1"): S.PASSWORD_REQUEST,
    (M, S.READOUT, "readout"): S.IDLE,
    (M, S.PASSWORD_REQUEST, "P0"): S.PASSWORD,
    (H, S.PASSWORD, "P1"): S.PASSWORD_CHECK,
    (H, S.PASSWORD, "P2"): S.PASSWORD_CHECK,
    (M, S.PASSWORD, "nak"): S.PASSWORD,  # the password came garbled: send it again
    (M, S.PASSWORD_CHECK, "nak"): S.PASSWORD,
    (M, S.PASSWORD_CHECK, "ack"): S.PROGRAMMING,
    (M, S.PASSWORD_CHECK, "data"): S.PASSWORD,  # refused (wrong password): an error message
    (H, S.PROGRAMMING, "R"): S.ANSWER,
    (H, S.PROGRAMMING, "W"): S.ANSWER,
    (H, S.PROGRAMMING, "E"): S.ANSWER,
    (H, S.PROGRAMMING, "nak"): S.ANSWER,  # the answer came garbled: the meter sends it again
    (H, S.ANSWER, "nak"): S.ANSWER,  # ... as the HHT sees it, still waiting for the answer
    (H, S.PASSWORD_CHECK, "nak"): S.PASSWORD_CHECK,  # the ACK of the password came garbled
    (M, S.PROGRAMMING, "nak"): S.PROGRAMMING,  # the command came garbled: the HHT sends it again
    (M, S.ANSWER, "data"): S.PROGRAMMING,
    (M, S.ANSWER, "ack"): S.PROGRAMMING,
    (M, S.ANSWER, "nak"): S.PROGRAMMING,
}
# A new request restarts a session from anywhere; either end may break one off (B0).
TRANSITIONS.update({(H, state, "request"): S.IDENTIFYING for state in _SESSION})
TRANSITIONS.update({(role, state, "B0"): S.IDLE for role in Role for state in _SESSION})


def kind_of(message: Message) -> str:
    """The table's name for a message: R, W and E of any type; P and B with theirs."""
    match message:
        case SignOnRequest():
            return "request"
        case Identification():
            return "identification"
        case OptionSelect(mode=mode):
            return f"option{mode.value}"
        case DataReadout():
            return "readout"
        case DataMessage():
            return "data"
        case Ack():
            return "ack"
        case Nak():
            return "nak"
        case Command(command=command, type=kind):
            return command if command in "RWE" else f"{command}{kind}"
    raise LocalProtocolError(f"not an IEC 62056-21 message: {message!r}")


@dataclass(frozen=True)
class Refused:
    """Bytes that were not a message (`message` None: noise, a BCC error, a line too long) or a
    message the session does not allow now (`message` set)."""

    raw: bytes
    reason: str
    message: Message | None = None


Event = Message | Refused


class Connection:
    """One end of an optical-port session; see the module docstring."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.state = State.IDLE
        self.baud = SIGN_ON_BAUD
        self._buffer = bytearray()
        self._last_sent = b""
        self._after_last = State.IDLE
        self._echo = b""  # what the HHT sent and may still hear back from its own head
        self._held = bytearray()

    # -- sending -------------------------------------------------------------------------------

    def send(self, message: Message) -> bytes:
        """The bytes of `message`, which this role must be allowed to send now."""
        next_state = self._next(self.role, message)
        if next_state is None:
            raise LocalProtocolError(
                f"the {self.role.value} may not send {kind_of(message)} in state {self.state.value}"
            )
        data = build_message(message)
        self._enter(next_state, message)
        self._last_sent, self._after_last = data, next_state
        if self.role is Role.HHT:
            self._echo, self._held = data, bytearray()
        return data

    def resend(self) -> bytes:
        """The last message again (the answer to a NAK), back in the state it led to."""
        self.state = self._after_last
        if self.role is Role.HHT:
            self._echo, self._held = self._last_sent, bytearray()
        return self._last_sent

    def timeout(self) -> None:
        """The caller's inactivity timer ran out: back to waiting for a sign-on at 300 baud."""
        self._enter(State.IDLE, None)
        self._buffer.clear()

    # -- receiving -----------------------------------------------------------------------------

    def receive_data(self, data: bytes) -> None:
        self._buffer += self._drop_echo(data)

    def next_event(self) -> Event | None:
        """The next message (or refusal) received; None until more bytes are needed."""
        cut = self._cut()
        if cut is None:
            return None
        raw, noise = cut
        if noise is not None:
            return Refused(raw, noise)
        try:
            message = parse_message(raw)
        except DecodeError as exc:
            return Refused(raw, str(exc))
        next_state = self._next(self.role.peer, message)
        if next_state is None:
            reason = f"{kind_of(message)} is not allowed in state {self.state.value}"
            return Refused(raw, reason, message)
        self._enter(next_state, message)
        return message

    # -- internals -----------------------------------------------------------------------------

    def _next(self, sender: Role, message: Message) -> State | None:
        return TRANSITIONS.get((sender, self.state, kind_of(message)))

    def _enter(self, state: State, message: Message | None) -> None:
        if isinstance(message, OptionSelect) and message.mode is not ModeChar.BINARY:
            self.baud = message.baud.baud
        if state is State.IDLE:
            self.baud = SIGN_ON_BAUD
        self.state = state

    def _drop_echo(self, data: bytes) -> bytes:
        """`data` without the echo of our own last message. Bytes that match the echo so far
        are held until the echo is complete (dropped) or differs (they were the answer: a
        meter's identification starts with "/" as our request does)."""
        out = bytearray()
        for octet in data:
            if self._echo and octet == self._echo[len(self._held)]:
                self._held.append(octet)
                if len(self._held) == len(self._echo):
                    self._echo, self._held = b"", bytearray()
                continue
            if self._echo:
                out += self._held
                self._echo, self._held = b"", bytearray()
            out.append(octet)
        return bytes(out)

    def _cut(self) -> tuple[bytes, str | None] | None:
        """(bytes of one message, None) or (bytes of noise, why); None if incomplete."""
        buffer = self._buffer
        if not buffer:
            return None
        first = buffer[:1]
        if first == b"/":
            end = buffer.find(CRLF)
            if end < 0:
                return self._overflow(LINE_MAX, "a line without CR LF")
            return self._take(end + 2), None
        if first == ACK and self.role is Role.METER and len(buffer) > 1 and buffer[1] >= 0x20:
            end = buffer.find(CRLF)  # an option select, which ends in CR LF
            return self._overflow(6, "an option select") if end < 0 else (self._take(end + 2), None)
        if first in (ACK, NAK):
            if first == ACK and self.role is Role.METER and len(buffer) == 1:
                return None  # an option select may follow its ACK
            return self._take(1), None
        if first in (SOH, STX):
            end = buffer.find(ETX)
            if end < 0 or end + 1 >= len(buffer):
                return self._overflow(BLOCK_MAX[self.role.value], "a block without ETX and BCC")
            return self._take(end + 2), None
        # Noise before a message: NULs (a battery meter's wake-up sequence) and line glitches.
        end = 1
        while end < len(buffer) and buffer[end : end + 1] not in (b"/", ACK, NAK, SOH, STX):
            end += 1
        noise = self._take(end)
        return (noise, "noise") if noise.strip(b"\x00") else self._cut()

    def _overflow(self, limit: int, what: str) -> tuple[bytes, str] | None:
        if len(self._buffer) <= limit:
            return None
        return self._take(len(self._buffer)), f"{what} longer than {limit} bytes"

    def _take(self, length: int) -> bytes:
        taken = bytes(self._buffer[:length])
        del self._buffer[:length]
        return taken

"""The NCP side of ASH (Silicon Labs UG101, "UART-EZSP Gateway Protocol"), sans-IO.

What: `AshNcp`, the link-layer state machine of an EZSP network co-processor. Bytes from the host
go in through `receive_data`; EZSP frames come out as `DataReceived` events from `next_event`;
EZSP responses and callbacks go in through `send` and leave as wire bytes from `data_to_send`.
Time is an argument: `next_deadline` says when `handle_timeout` must be called next.

Why: the unmodified `bellows` host must not tell our emulated NCP from a dongle, and a sans-IO
object can be driven by a serial port, a socket or a test with a fake clock alike.

The link states and what each accepts, in one table (`_TRANSITIONS`, h11 style). An input not
listed for a state is ignored in that state:

    state      input                                  next state
    CONNECTED  RST                                    CONNECTED  answer RSTACK, reset all
    CONNECTED  DATA, ACK, NAK, bad frame              CONNECTED
    CONNECTED  ack_timeouts t_rx_ack expiries in row  FAILED     send ERROR 0x51
    FAILED     RST                                    CONNECTED  answer RSTACK, reset all

Reliability follows UG101 ("Retransmission", "Reject Condition", "Timeouts"):

- Every DATA frame carries ackNum = the next frmNum we expect (piggybacked acknowledgement), and we
  also send a standalone ACK for every DATA frame we accept or recognise as a retransmission,
  because bellows waits for an acknowledgement before it sends its next frame.
- A DATA frame in sequence is delivered once; an out-of-sequence one with reTx set is a duplicate
  of something already delivered: it is ACKed, not delivered again.
- The Reject Condition: a bad frame (CRC, length, control byte, Substitute, escape), a DATA frame
  with an invalid ackNum, or an out-of-sequence DATA frame without reTx makes us send one NAK and
  stay silent about further errors until a good in-sequence DATA frame clears the condition.
- Up to `AshConfig.window` DATA frames may be unacknowledged (TX_K; bellows uses 1, and 1 is our
  default). If none of them is acknowledged within t_rx_ack, all are sent again with reTx set and
  t_rx_ack doubles; after `ack_timeouts` consecutive timeouts the NCP sends ERROR and enters
  FAILED, where only RST is heard. A NAK triggers the same retransmission at once. An
  acknowledgement sets t_rx_ack to 7/8 of itself plus 1/2 of the measured delay, within limits.
- nRdy (the host is not ready for callbacks) is ignored: bellows never sets it, and honouring it
  would only delay callbacks. Our own ACKs always say ready. XON/XOFF are dropped unheeded.

Two bellows habits the caller should know: bellows waits for an unprompted RSTACK only on
``socket://`` ports (elsewhere it sends RST at once, and an RSTACK outside a reset reads as an NCP
failure once the application runs); and it keeps only the last 1024 bytes of one read, so write
what `data_to_send` returns promptly rather than letting it pile up.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass

from protocol.ash import (
    MAX_DATA_FIELD_LEN,
    MIN_DATA_FIELD_LEN,
    AckFrame,
    AshFrame,
    DataFrame,
    Deframer,
    ErrorFrame,
    NakFrame,
    ResetCode,
    RstAckFrame,
    RstFrame,
    encode_frame,
    parse_frame,
)
from protocol.errors import DecodeError, LocalProtocolError


@dataclass(frozen=True)
class AshConfig:
    """Timers and window of the NCP side; the defaults are the UG101 and bellows values."""

    t_rx_ack_init: float = 1.6  # T_RX_ACK_INIT, seconds
    t_rx_ack_min: float = 0.4  # T_RX_ACK_MIN
    t_rx_ack_max: float = 3.2  # T_RX_ACK_MAX
    ack_timeouts: int = 5  # ACK_TIMEOUTS: transmissions of a frame before FAILED
    window: int = 1  # TX_K: unacknowledged DATA frames in flight, 1..7

    def __post_init__(self) -> None:
        if not 1 <= self.window <= 7:
            raise LocalProtocolError(f"ASH window must be 1..7, not {self.window}")
        if not 0 < self.t_rx_ack_min <= self.t_rx_ack_init <= self.t_rx_ack_max:
            raise LocalProtocolError("ASH t_rx_ack limits must satisfy 0 < min <= init <= max")
        if self.ack_timeouts < 1:
            raise LocalProtocolError("ASH ack_timeouts must be at least 1")


@dataclass(frozen=True)
class DataReceived:
    """An EZSP frame from the host, de-randomised, delivered exactly once and in order."""

    payload: bytes


@dataclass(frozen=True)
class ResetRequested:
    """The host sent RST; RSTACK is already queued. The EZSP layer must reset its state."""


@dataclass(frozen=True)
class FrameError:
    """A frame was refused (bad CRC, out of sequence, ...); for counters and logs."""

    reason: str


@dataclass(frozen=True)
class LinkFailed:
    """The NCP entered the FAILED state and sent ERROR with ``reset_code``; awaits RST."""

    reset_code: int


AshEvent = DataReceived | ResetRequested | FrameError | LinkFailed


class LinkState(enum.Enum):
    """NCP link states of UG101: CONNECTED exchanges DATA; FAILED waits for RST."""

    CONNECTED = "connected"
    FAILED = "failed"


class _Input(enum.Enum):
    RST = "RST"
    DATA = "DATA"
    ACK = "ACK"
    NAK = "NAK"
    BAD_FRAME = "bad frame"
    ACK_TIMEOUTS_EXHAUSTED = "ACK_TIMEOUTS exhausted"


_TRANSITIONS: dict[LinkState, dict[_Input, LinkState]] = {
    LinkState.CONNECTED: {
        _Input.RST: LinkState.CONNECTED,
        _Input.DATA: LinkState.CONNECTED,
        _Input.ACK: LinkState.CONNECTED,
        _Input.NAK: LinkState.CONNECTED,
        _Input.BAD_FRAME: LinkState.CONNECTED,
        _Input.ACK_TIMEOUTS_EXHAUSTED: LinkState.FAILED,
    },
    LinkState.FAILED: {
        _Input.RST: LinkState.CONNECTED,
    },
}


@dataclass
class _InFlight:
    """A DATA frame sent and not yet acknowledged."""

    frm_num: int
    payload: bytes
    sent_at: float


class AshNcp:
    """NCP side of one ASH link. Feed it bytes and time; take events and bytes out."""

    def __init__(
        self, *, reset_code: int = ResetCode.RESET_SOFTWARE, config: AshConfig | None = None
    ) -> None:
        self._reset_code = reset_code
        self._config = config or AshConfig()
        self._deframer = Deframer()
        self._events: deque[AshEvent] = deque()
        self._out = bytearray()
        self._state = LinkState.CONNECTED
        self._reset_sequence_state()

    def _reset_sequence_state(self) -> None:
        self._frm_num = 0  # frmNum of the next new DATA frame we send
        self._ack_num = 0  # frmNum of the next DATA frame we expect from the host
        self._queue: deque[bytes] = deque()  # EZSP frames not yet sent
        self._in_flight: deque[_InFlight] = deque()
        self._deadline: float | None = None
        self._timeouts = 0  # consecutive t_rx_ack expiries
        self._t_rx_ack = self._config.t_rx_ack_init
        self._rejecting = False  # the UG101 Reject Condition

    # -- public API ------------------------------------------------------------------------

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def t_rx_ack(self) -> float:
        """The current acknowledgement timeout, seconds."""
        return self._t_rx_ack

    @property
    def idle(self) -> bool:
        """Nothing queued, nothing unacknowledged, no bytes waiting for the wire."""
        return not (self._queue or self._in_flight or self._out)

    def connection_made(self, now: float) -> bytes:
        """A host has just connected: start afresh and return an unprompted RSTACK frame.

        bellows waits briefly for this on ``socket://`` ports and starts at once when it comes.
        """
        self._out.clear()
        self._deframer = Deframer()
        self._state = LinkState.CONNECTED
        self._reset_sequence_state()
        return encode_frame(RstAckFrame(self._reset_code))

    def receive_data(self, data: bytes, now: float) -> None:
        """Feed bytes from the wire, split anywhere. Never raises for bad input."""
        for item in self._deframer.feed(data):
            if isinstance(item, DecodeError):
                self._bad_frame(str(item))
                continue
            try:
                frame = parse_frame(item)
            except DecodeError as exc:
                self._bad_frame(str(exc))
                continue
            self._frame_received(frame, now)

    def next_event(self) -> AshEvent | None:
        return self._events.popleft() if self._events else None

    def send(self, payload: bytes, now: float) -> None:
        """Queue an EZSP frame (response or callback); it leaves when the window allows.

        Frames queued while FAILED are discarded by the RST that must follow.
        """
        if not MIN_DATA_FIELD_LEN <= len(payload) <= MAX_DATA_FIELD_LEN:
            raise LocalProtocolError(f"EZSP frame of {len(payload)} bytes does not fit ASH")
        self._queue.append(bytes(payload))
        self._fill_window(now)

    def data_to_send(self) -> bytes:
        out = bytes(self._out)
        self._out.clear()
        return out

    def next_deadline(self) -> float | None:
        """When `handle_timeout` must next be called, on the same clock as ``now``."""
        return self._deadline

    def handle_timeout(self, now: float) -> None:
        """t_rx_ack expired unacknowledged: retransmit or give up (UG101 Retransmission)."""
        if self._deadline is None or now < self._deadline:
            return
        self._timeouts += 1
        self._t_rx_ack = min(2 * self._t_rx_ack, self._config.t_rx_ack_max)
        if self._timeouts >= self._config.ack_timeouts:
            self._step(_Input.ACK_TIMEOUTS_EXHAUSTED)
            self._deadline = None
            code = ResetCode.ERROR_EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT
            self._write(ErrorFrame(code))
            self._events.append(LinkFailed(code))
            return
        self._retransmit(now)

    # -- internals -------------------------------------------------------------------------

    def _step(self, event: _Input) -> bool:
        """Apply the transition table; False when ``event`` is ignored in this state."""
        next_state = _TRANSITIONS[self._state].get(event)
        if next_state is None:
            return False
        self._state = next_state
        return True

    def _write(self, frame: AshFrame) -> None:
        self._out += encode_frame(frame)

    def _bad_frame(self, reason: str) -> None:
        self._events.append(FrameError(reason))
        if self._step(_Input.BAD_FRAME):
            self._reject()

    def _reject(self) -> None:
        """Enter the Reject Condition: one NAK until a good in-sequence DATA frame."""
        if not self._rejecting:
            self._rejecting = True
            self._write(NakFrame(self._ack_num))

    def _frame_received(self, frame: AshFrame, now: float) -> None:
        match frame:
            case RstFrame():
                if self._step(_Input.RST):
                    self._out.clear()
                    self._reset_sequence_state()
                    # A host-requested reset is a software reset on a real NCP.
                    self._write(RstAckFrame(ResetCode.RESET_SOFTWARE))
                    self._events.append(ResetRequested())
            case DataFrame():
                if self._step(_Input.DATA):
                    self._data_received(frame, now)
            case AckFrame():
                if self._step(_Input.ACK):
                    self._acknowledged(frame.ack_num, now)
                    self._fill_window(now)
            case NakFrame():
                if self._step(_Input.NAK):
                    self._acknowledged(frame.ack_num, now)
                    self._retransmit(now)
                    self._fill_window(now)
            case RstAckFrame() | ErrorFrame():
                if self._state is LinkState.CONNECTED:
                    self._events.append(FrameError(f"{type(frame).__name__} sent by the host"))

    def _data_received(self, frame: DataFrame, now: float) -> None:
        if not self._acknowledged(frame.ack_num, now):
            self._events.append(FrameError(f"DATA frame with invalid ackNum {frame.ack_num}"))
            self._reject()
        elif frame.frm_num == self._ack_num:
            self._ack_num = (self._ack_num + 1) % 8
            self._rejecting = False
            self._write(AckFrame(self._ack_num))
            self._events.append(DataReceived(frame.payload))
        elif frame.re_tx:
            # A retransmission of a frame already delivered, whose ACK was lost (UG101).
            self._write(AckFrame(self._ack_num))
        else:
            self._events.append(
                FrameError(f"DATA frmNum {frame.frm_num} out of sequence, {self._ack_num} due")
            )
            self._reject()
        self._fill_window(now)

    def _acknowledged(self, ack_num: int, now: float) -> bool:
        """Retire the in-flight frames before ``ack_num``; False if ack_num is impossible."""
        base = self._in_flight[0].frm_num if self._in_flight else self._frm_num
        count = (ack_num - base) % 8
        if count > len(self._in_flight):
            return False
        if count:
            delay = now - self._in_flight[count - 1].sent_at
            for _ in range(count):
                self._in_flight.popleft()
            self._timeouts = 0
            t_rx_ack = 7 / 8 * self._t_rx_ack + delay / 2
            cfg = self._config
            self._t_rx_ack = max(cfg.t_rx_ack_min, min(t_rx_ack, cfg.t_rx_ack_max))
            self._deadline = now + self._t_rx_ack if self._in_flight else None
        return True

    def _fill_window(self, now: float) -> None:
        if self._state is not LinkState.CONNECTED:
            return
        while self._queue and len(self._in_flight) < self._config.window:
            frame = _InFlight(self._frm_num, self._queue.popleft(), now)
            self._frm_num = (self._frm_num + 1) % 8
            self._in_flight.append(frame)
            self._write(DataFrame(frame.frm_num, False, self._ack_num, frame.payload))
            if self._deadline is None:
                self._deadline = now + self._t_rx_ack

    def _retransmit(self, now: float) -> None:
        """Go back N: send every unacknowledged frame again, reTx set, fresh ackNum."""
        for frame in self._in_flight:
            frame.sent_at = now
            self._write(DataFrame(frame.frm_num, True, self._ack_num, frame.payload))
        self._deadline = now + self._t_rx_ack if self._in_flight else None

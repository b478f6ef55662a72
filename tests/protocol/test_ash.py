"""Tests of the ASH codec (protocol/ash.py) and the NCP state machine (protocol/ash_ncp.py).

bellows is the independent oracle: its frame classes check our bytes, and its host-side
`AshProtocol` is wired back to back with our `AshNcp` over in-memory transports that can drop,
corrupt and split frames. Byte vectors marked UG101 are the examples in Silicon Labs UG101.
"""

from __future__ import annotations

import asyncio
import random
import selectors
import types
from collections.abc import Callable, Iterator

import bellows.ash as bellows_ash
import bellows.types as bellows_t
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.ash import (
    MAX_DATA_FIELD_LEN,
    MIN_DATA_FIELD_LEN,
    RESERVED_BYTES,
    AckFrame,
    AshFrame,
    DataFrame,
    Deframer,
    ErrorFrame,
    NakFrame,
    Reserved,
    ResetCode,
    RstAckFrame,
    RstFrame,
    build_frame,
    crc_ccitt,
    encode_frame,
    parse_frame,
    randomise,
    stuff,
    unstuff,
)
from protocol.ash_ncp import (
    AshConfig,
    AshEvent,
    AshNcp,
    DataReceived,
    FrameError,
    LinkFailed,
    LinkState,
    ResetRequested,
)
from protocol.errors import DecodeError
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)

EZSP_VERSION = bytes([0x00, 0x00, 0x00, 0x02])  # seq 0, frame control 0, "version", v2
RESERVED_HEAVY = bytes([0x7E, 0x7D, 0x11, 0x13, 0x18, 0x1A, 0x00, 0xFF])


# -- byte vectors ------------------------------------------------------------------------------


def _bellows_frame(frame: AshFrame) -> bellows_ash.AshFrame:
    """The same frame as bellows' own classes build it."""
    match frame:
        case DataFrame(frm_num, re_tx, ack_num, payload):
            return bellows_ash.DataFrame(
                frm_num=frm_num, re_tx=re_tx, ack_num=ack_num, ezsp_frame=payload
            )
        case AckFrame(ack_num, n_rdy):
            return bellows_ash.AckFrame(res=0, ncp_ready=n_rdy, ack_num=ack_num)
        case NakFrame(ack_num, n_rdy):
            return bellows_ash.NakFrame(res=0, ncp_ready=n_rdy, ack_num=ack_num)
        case RstFrame():
            return bellows_ash.RstFrame()
        case RstAckFrame(code, version):
            return bellows_ash.RStackFrame(version=version, reset_code=bellows_t.NcpResetCode(code))
        case ErrorFrame(code, version):
            return bellows_ash.ErrorFrame(version=version, reset_code=bellows_t.NcpResetCode(code))
    raise AssertionError(frame)


ORACLE_FRAMES: list[AshFrame] = [
    DataFrame(0, False, 0, EZSP_VERSION),
    DataFrame(2, False, 5, EZSP_VERSION),
    DataFrame(7, True, 3, RESERVED_HEAVY),
    DataFrame(5, True, 7, randomise(RESERVED_HEAVY)),  # reserved bytes on the wire
    DataFrame(1, False, 6, bytes(range(MAX_DATA_FIELD_LEN))),
    AckFrame(0),
    AckFrame(1),
    AckFrame(6, n_rdy=True),
    NakFrame(6),
    NakFrame(5, n_rdy=True),
    RstFrame(),
    RstAckFrame(ResetCode.RESET_POWER_ON),
    RstAckFrame(ResetCode.RESET_SOFTWARE),
    ErrorFrame(ResetCode.ERROR_EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT),
    ErrorFrame(ResetCode.RESET_ASSERT),
]


@pytest.mark.parametrize("frame", ORACLE_FRAMES, ids=repr)
def test_build_matches_bellows(frame: AshFrame) -> None:
    theirs = _bellows_frame(frame)
    assert build_frame(frame) == theirs.to_bytes()
    assert bellows_ash.parse_frame(build_frame(frame)) == theirs
    assert parse_frame(theirs.to_bytes()) == frame


@pytest.mark.parametrize(
    ("frame", "wire"),
    [
        # UG101 examples
        (RstFrame(), "C0 38 BC 7E"),
        (RstAckFrame(ResetCode.RESET_POWER_ON), "C1 02 02 9B 7B 7E"),
        (DataFrame(2, False, 5, EZSP_VERSION), "25 42 21 A8 56 A6 09 7E"),
        (AckFrame(1), "81 60 59 7E"),
        (AckFrame(6, n_rdy=True), "8E 91 B6 7E"),
        (NakFrame(6), "A6 34 DC 7E"),
        (NakFrame(5, n_rdy=True), "AD 85 B7 7E"),
    ],
    ids=repr,
)
def test_spec_vectors(frame: AshFrame, wire: str) -> None:
    assert encode_frame(frame) == bytes.fromhex(wire)
    assert Deframer().feed(bytes.fromhex(wire)) == [build_frame(frame)]


def test_rst_with_cancel_prefix_is_what_bellows_sends() -> None:
    assert bytes([Reserved.CANCEL]) + encode_frame(RstFrame()) == bytes.fromhex("1A C0 38 BC 7E")
    ncp = AshNcp()
    ncp.receive_data(bytes(32 * [Reserved.CANCEL]) + encode_frame(RstFrame()), now=0.0)
    assert ncp.next_event() == ResetRequested()
    assert ncp.data_to_send() == encode_frame(RstAckFrame(ResetCode.RESET_SOFTWARE))


@pytest.mark.parametrize(
    ("body", "with_crc"),
    [
        ("", False),
        ("C0 38", False),  # too short
        ("C0 38 BD", False),  # bad CRC
        ("C3", True),  # no such control byte
        ("81 00", True),  # ACK with a data field
        ("C0 00", True),  # RST with a data field
        ("C1 02", True),  # RSTACK too short
        ("C1 01 02", True),  # RSTACK of ASH version 1
        ("25 42 21", True),  # DATA field shorter than an EZSP frame
        ("25" + " 00" * (MAX_DATA_FIELD_LEN + 1), True),  # and longer than the longest
    ],
)
def test_parse_refuses_malformed(body: str, with_crc: bool) -> None:
    raw = bytes.fromhex(body)
    if with_crc:
        raw += crc_ccitt(raw).to_bytes(2, "big")
    with pytest.raises(DecodeError):
        parse_frame(raw)


@pytest.mark.parametrize("data", ["7D", "00 7D 00", "7D 7E"])
def test_unstuff_refuses_bad_escape(data: str) -> None:
    with pytest.raises(DecodeError):
        unstuff(bytes.fromhex(data))


def test_deframer_reserved_bytes() -> None:
    rst = encode_frame(RstFrame())
    deframer = Deframer()
    # Cancel discards the partial frame silently; XON/XOFF vanish; empty frames are skipped.
    assert deframer.feed(b"\x01\x02\x1a" + b"\x7e\x7e" + b"\x11" + rst[:2] + b"\x13" + rst[2:]) == [
        build_frame(RstFrame())
    ]
    # Substitute marks the frame in progress as bad up to the next Flag.
    (error,) = deframer.feed(b"\xc0\x18\x38\xbc\x7e")
    assert isinstance(error, DecodeError)
    assert deframer.feed(rst) == [build_frame(RstFrame())]
    # A frame longer than any legal one is refused, and the stream recovers.
    (error,) = deframer.feed(bytes(1000) + b"\x7e")
    assert isinstance(error, DecodeError)
    assert deframer.feed(rst) == [build_frame(RstFrame())]


def test_stuffing_matches_bellows() -> None:
    data = bytes(range(256))
    assert stuff(data) == bellows_ash.AshProtocol._stuff_bytes(data)
    assert unstuff(stuff(data)) == data


# -- hypothesis round trips --------------------------------------------------------------------

seq = st.integers(min_value=0, max_value=7)
payloads = st.one_of(
    st.binary(min_size=MIN_DATA_FIELD_LEN, max_size=MAX_DATA_FIELD_LEN),
    st.lists(
        st.sampled_from([*sorted(RESERVED_BYTES), 0x00, 0x5D, 0x5E, 0xFF]),
        min_size=MIN_DATA_FIELD_LEN,
        max_size=MAX_DATA_FIELD_LEN,
    ).map(bytes),
)
frames: st.SearchStrategy[AshFrame] = st.one_of(
    st.builds(DataFrame, seq, st.booleans(), seq, payloads),
    st.builds(AckFrame, seq, st.booleans()),
    st.builds(NakFrame, seq, st.booleans()),
    st.just(RstFrame()),
    st.builds(RstAckFrame, st.integers(0, 255)),
    st.builds(ErrorFrame, st.integers(0, 255)),
)


@given(frames)
def test_frame_round_trip(frame: AshFrame) -> None:
    raw = build_frame(frame)
    assert parse_frame(raw) == frame
    assert build_frame(parse_frame(raw)) == raw
    wire = encode_frame(frame)
    assert wire.count(Reserved.FLAG) == 1 and wire[-1] == Reserved.FLAG
    assert Deframer().feed(wire) == [raw]
    assert raw == _bellows_frame(frame).to_bytes()


@given(st.binary(max_size=600))
def test_stuff_round_trip(data: bytes) -> None:
    stuffed = stuff(data)
    assert unstuff(stuffed) == data
    assert not (set(stuffed) & (RESERVED_BYTES - {Reserved.ESCAPE}))


@given(st.binary(max_size=MAX_DATA_FIELD_LEN))
def test_randomise_is_an_involution(data: bytes) -> None:
    assert randomise(randomise(data)) == data


@given(st.lists(payloads, min_size=1, max_size=6), st.data())
def test_ncp_takes_any_split(sent: list[bytes], data: st.DataObject) -> None:
    wire = b"".join(encode_frame(DataFrame(i % 8, False, 0, p)) for i, p in enumerate(sent))
    cuts = sorted(data.draw(st.lists(st.integers(0, len(wire)), max_size=8)))
    ncp = AshNcp()
    for start, end in zip([0, *cuts], [*cuts, len(wire)], strict=True):
        ncp.receive_data(wire[start:end], now=0.0)
    assert list(_events(ncp)) == [DataReceived(p) for p in sent]
    acks = [AckFrame((i + 1) % 8) for i in range(len(sent))]
    assert ncp.data_to_send() == b"".join(encode_frame(a) for a in acks)


@given(st.binary(max_size=300))
@settings(max_examples=200)
def test_ncp_never_raises_on_garbage(data: bytes) -> None:
    ncp = AshNcp()
    ncp.receive_data(data, now=0.0)
    ncp.handle_timeout(now=100.0)
    assert all(isinstance(e, AshEvent) for e in _events(ncp))


# -- the NCP state machine alone ---------------------------------------------------------------


def _events(ncp: AshNcp) -> Iterator[AshEvent]:
    while (event := ncp.next_event()) is not None:
        yield event


def _state(ncp: AshNcp) -> LinkState:
    """The link state, read afresh: mypy keeps an `is` narrowing of `ncp.state` across the calls
    that change it."""
    return ncp.state


def _frames_out(ncp: AshNcp) -> list[AshFrame]:
    out: list[AshFrame] = []
    for raw in Deframer().feed(ncp.data_to_send()):
        assert isinstance(raw, bytes)
        out.append(parse_frame(raw))
    return out


def test_connection_made_sends_rstack() -> None:
    ncp = AshNcp(reset_code=ResetCode.RESET_POWER_ON)
    assert ncp.connection_made(now=0.0) == bytes.fromhex("C1 02 02 9B 7B 7E")


def test_duplicates_are_acked_not_delivered() -> None:
    ncp = AshNcp()
    ncp.receive_data(encode_frame(DataFrame(0, False, 0, EZSP_VERSION)), now=0.0)
    ncp.receive_data(encode_frame(DataFrame(0, True, 0, EZSP_VERSION)), now=0.1)
    assert list(_events(ncp)) == [DataReceived(EZSP_VERSION)]
    assert _frames_out(ncp) == [AckFrame(1), AckFrame(1)]


def test_reject_condition_naks_once_until_good_frame() -> None:
    ncp = AshNcp()
    bad = bytearray(encode_frame(DataFrame(0, False, 0, EZSP_VERSION)))
    bad[2] ^= 0x01
    ncp.receive_data(bytes(bad), now=0.0)
    ncp.receive_data(encode_frame(DataFrame(3, False, 0, EZSP_VERSION)), now=0.0)  # out of seq
    events = list(_events(ncp))
    assert len(events) == 2 and all(isinstance(e, FrameError) for e in events)
    assert _frames_out(ncp) == [NakFrame(0)]
    ncp.receive_data(encode_frame(DataFrame(0, True, 0, EZSP_VERSION)), now=0.0)
    ncp.receive_data(b"\x18\x7e", now=0.0)  # Substitute: a new error after a good frame
    assert _frames_out(ncp) == [AckFrame(1), NakFrame(1)]


def test_retransmit_back_off_and_fail() -> None:
    ncp = AshNcp()
    ncp.send(EZSP_VERSION, now=0.0)
    assert _frames_out(ncp) == [DataFrame(0, False, 0, EZSP_VERSION)]
    deadlines = []
    while (deadline := ncp.next_deadline()) is not None:
        deadlines.append(deadline)
        ncp.handle_timeout(deadline - 0.001)  # early: nothing happens
        assert ncp.data_to_send() == b""
        ncp.handle_timeout(deadline)
        if ncp.state is LinkState.CONNECTED:
            assert _frames_out(ncp) == [DataFrame(0, True, 0, EZSP_VERSION)]
    # 5 transmissions; t_rx_ack 1.6 doubling to the 3.2 cap
    steps = [b - a for a, b in zip([0.0, *deadlines], deadlines, strict=False)]
    assert steps == pytest.approx([1.6, 3.2, 3.2, 3.2, 3.2])
    assert ncp.state is LinkState.FAILED
    assert _frames_out(ncp) == [ErrorFrame(ResetCode.ERROR_EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT)]
    assert list(_events(ncp)) == [LinkFailed(0x51)]
    # FAILED hears nothing but RST
    ncp.receive_data(encode_frame(DataFrame(0, False, 0, EZSP_VERSION)), now=20.0)
    assert list(_events(ncp)) == [] and ncp.data_to_send() == b""
    ncp.receive_data(encode_frame(RstFrame()), now=21.0)
    assert list(_events(ncp)) == [ResetRequested()]
    assert _frames_out(ncp) == [RstAckFrame(ResetCode.RESET_SOFTWARE)]
    assert _state(ncp) is LinkState.CONNECTED and ncp.idle


def test_ack_nak_and_rtt_adaptation() -> None:
    ncp = AshNcp(config=AshConfig(window=2))
    for i in range(3):
        ncp.send(bytes([i, 0, 0]), now=0.0)
    assert [f.frm_num for f in _frames_out(ncp) if isinstance(f, DataFrame)] == [0, 1]
    ncp.receive_data(encode_frame(NakFrame(1)), now=0.1)  # frame 0 acked, 1 rejected
    assert _frames_out(ncp) == [
        DataFrame(1, True, 0, bytes([1, 0, 0])),
        DataFrame(2, False, 0, bytes([2, 0, 0])),
    ]
    assert ncp.t_rx_ack == pytest.approx(7 / 8 * 1.6 + 0.05)
    ncp.receive_data(encode_frame(AckFrame(5)), now=0.2)  # impossible ackNum: ignored
    assert not ncp.idle
    # ackNum piggybacked on a host DATA frame retires both
    ncp.receive_data(encode_frame(DataFrame(0, False, 3, EZSP_VERSION)), now=0.2)
    assert list(_events(ncp)) == [DataReceived(EZSP_VERSION)]
    assert _frames_out(ncp) == [AckFrame(1)]
    assert ncp.idle and ncp.next_deadline() is None


# -- back to back with the bellows host --------------------------------------------------------


class _EzspStub:
    """Stands in for bellows' Gateway: records what AshProtocol hands up."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.resets: list[int] = []
        self.errors: list[int] = []

    def connection_made(self, protocol: object) -> None:
        pass

    def connection_lost(self, exc: BaseException | None) -> None:
        pass

    def eof_received(self) -> None:
        pass

    def data_received(self, data: bytes) -> None:
        self.frames.append(bytes(data))

    def reset_received(self, code: int) -> None:
        self.resets.append(code)

    def error_received(self, code: int) -> None:
        self.errors.append(code)


class _Wire:
    """One direction of the link: delivers frame by frame on later loop turns, maybe mangled."""

    def __init__(self, deliver: Callable[[bytes], None]) -> None:
        self._deliver = deliver
        self.rng: random.Random | None = None  # set to make the wire lossy
        self.mangled = 0
        self.in_flight = 0  # pieces written and not delivered yet

    @property
    def empty(self) -> bool:
        return self.in_flight == 0

    def write(self, data: bytes) -> None:
        loop = asyncio.get_running_loop()
        for chunk in self._frames(data):
            chunk = self._mangle(chunk)
            cut = self.rng.randrange(len(chunk) + 1) if self.rng and chunk else len(chunk)
            for piece in (chunk[:cut], chunk[cut:]):
                if piece:
                    self.in_flight += 1
                    loop.call_soon(self._arrive, piece)

    def _arrive(self, piece: bytes) -> None:
        self.in_flight -= 1
        self._deliver(piece)

    @staticmethod
    def _frames(data: bytes) -> Iterator[bytes]:
        start = 0
        for i, byte in enumerate(data):
            if byte == Reserved.FLAG:
                yield data[start : i + 1]
                start = i + 1
        if start < len(data):
            yield data[start:]

    def _mangle(self, chunk: bytes) -> bytes:
        if self.rng is None:
            return chunk
        roll, at = self.rng.random(), self.rng.randrange(len(chunk))
        if roll < 0.03:
            self.mangled += 1
            return b""  # dropped
        if roll < 0.06:
            self.mangled += 1
            flipped = chunk[at] ^ self.rng.randrange(1, 256)
            return chunk[:at] + bytes([flipped]) + chunk[at + 1 :]
        if roll < 0.07:
            self.mangled += 1
            return chunk[:at] + chunk[at + 1 :]  # a byte lost
        return chunk


class _HostTransport:
    """The asyncio transport bellows' AshProtocol writes to."""

    def __init__(self, wire: _Wire) -> None:
        self._wire = wire

    def write(self, data: bytes) -> None:
        self._wire.write(data)

    def is_closing(self) -> bool:
        return False

    def close(self) -> None:
        pass


class _NcpDriver:
    """Runs an AshNcp on the event loop: feeds bytes, drains output, fires its timer."""

    def __init__(self, ncp: AshNcp, to_host: _Wire) -> None:
        self.ncp = ncp
        self._to_host = to_host
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self.received: list[bytes] = []
        self.resets = 0
        self.frame_errors = 0
        self.failures: list[int] = []
        self.retransmissions = 0
        self.naks = 0

    def feed(self, data: bytes) -> None:
        self.ncp.receive_data(data, self._loop.time())
        self._pump()

    def send(self, payload: bytes) -> None:
        self.ncp.send(payload, self._loop.time())
        self._pump()

    def _on_timer(self) -> None:
        self._timer = None
        self.ncp.handle_timeout(self._loop.time())
        self._pump()

    def _pump(self) -> None:
        for event in _events(self.ncp):
            match event:
                case DataReceived(payload):
                    self.received.append(payload)
                case ResetRequested():
                    self.resets += 1
                case FrameError():
                    self.frame_errors += 1
                case LinkFailed(code):
                    self.failures.append(code)
        if out := self.ncp.data_to_send():
            for raw in Deframer().feed(out):
                assert isinstance(raw, bytes)
                frame = parse_frame(raw)
                self.retransmissions += isinstance(frame, DataFrame) and frame.re_tx
                self.naks += isinstance(frame, NakFrame)
            self._to_host.write(out)
        deadline = self.ncp.next_deadline()
        if self._timer is not None and (deadline is None or self._timer.when() != deadline):
            self._timer.cancel()
            self._timer = None
        if deadline is not None and self._timer is None:
            self._timer = self._loop.call_at(deadline, self._on_timer)

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


class _Pair:
    def __init__(self, host: bellows_ash.AshProtocol, stub: _EzspStub, driver: _NcpDriver,
                 to_ncp: _Wire, to_host: _Wire) -> None:  # fmt: skip
        self.host, self.stub, self.driver = host, stub, driver
        self.to_ncp, self.to_host = to_ncp, to_host


async def _until(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    # A short poll: under the virtual clock each poll moves time on by its interval, and the
    # seeded lossy runs were chosen with this pace.
    await eventually(condition, timeout, "the ASH exchange", interval=0.002)


async def _connect(window: int = 1) -> _Pair:
    stub = _EzspStub()
    host = bellows_ash.AshProtocol(stub)
    to_host = _Wire(host.data_received)
    driver = _NcpDriver(
        AshNcp(reset_code=ResetCode.RESET_POWER_ON, config=AshConfig(window=window)),
        to_host,
    )
    to_ncp = _Wire(driver.feed)
    host.connection_made(_HostTransport(to_ncp))
    # The NCP announces itself unprompted; bellows then resets it anyway.
    to_host.write(driver.ncp.connection_made(asyncio.get_running_loop().time()))
    await _until(lambda: stub.resets == [ResetCode.RESET_POWER_ON])
    host.send_reset()
    await _until(lambda: len(stub.resets) == 2)
    assert stub.resets[1] == ResetCode.RESET_SOFTWARE and driver.resets == 1
    return _Pair(host, stub, driver, to_ncp, to_host)


def _payloads(tag: int, count: int) -> list[bytes]:
    """EZSP-sized frames, some of which put reserved bytes on the wire after randomisation."""
    out = []
    for i in range(count):
        prefix = randomise(RESERVED_HEAVY) if i % 2 else b""
        out.append(prefix + bytes([i, tag, 0x00]) + bytes(range(i % 40)))
    return out


async def test_single_frame_each_way() -> None:
    pair = await _connect()
    try:
        await pair.host.send_data(EZSP_VERSION)
        assert pair.driver.received == [EZSP_VERSION]
        pair.driver.send(bytes([0x00, 0x80, 0x00, 0x0D, 0x02, 0x30, 0x74]))
        await _until(lambda: len(pair.stub.frames) == 1 and pair.driver.ncp.idle)
        assert pair.stub.frames == [bytes([0x00, 0x80, 0x00, 0x0D, 0x02, 0x30, 0x74])]
        assert pair.driver.frame_errors == 0 and pair.stub.errors == []
    finally:
        pair.driver.close()


async def _exchange(pair: _Pair, count: int) -> None:
    to_ncp, to_host = _payloads(0xAA, count), _payloads(0x55, count)
    for payload in to_host:
        pair.driver.send(payload)
    await asyncio.gather(*(pair.host.send_data(p) for p in to_ncp))  # the host: all acked
    # Late retransmissions must not be delivered again: wait until none can still come, i.e.
    # the NCP has nothing unacknowledged (no retransmission timer) and both wires are empty.
    await _until(
        lambda: (
            len(pair.stub.frames) >= count
            and pair.driver.ncp.idle
            and pair.to_ncp.empty
            and pair.to_host.empty
        ),
        timeout=600,
    )
    assert pair.driver.received == to_ncp
    assert pair.stub.frames == to_host
    assert pair.stub.errors == [] and pair.driver.failures == []


@pytest.mark.parametrize("window", [1, 3])
async def test_fifty_each_way_interleaved(window: int) -> None:
    pair = await _connect(window=window)
    try:
        await _exchange(pair, 50)
        assert pair.driver.frame_errors == 0
    finally:
        pair.driver.close()


class _VirtualClockLoop(asyncio.SelectorEventLoop):
    """An event loop whose clock jumps to the next timer instead of sleeping.

    Retransmission timers of both ends (bellows' and ours) then cost no wall-clock time, and a
    seeded lossy link gives the same run every time.
    """

    def __init__(self) -> None:
        self._now = 0.0
        super().__init__(_JumpingSelector(self))

    def time(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


class _JumpingSelector(selectors.DefaultSelector):
    def __init__(self, loop: _VirtualClockLoop) -> None:
        super().__init__()
        self._loop = loop

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if not ready:
            if timeout is None:
                raise RuntimeError("virtual clock: nothing scheduled, the test would hang")
            self._loop.advance(timeout)
        return ready


# The runs are deterministic. Some other seeds fail on the host side, by design: bellows gives
# up after 5 transmissions of a frame (ERROR_EXCEEDED_MAXIMUM_ACK_TIMEOUT_COUNT), and one
# corrupted Flag byte costs bellows two frames, as it glues the next frame to the remains.
@pytest.mark.parametrize(("window", "seed"), [(1, 1), (1, 4), (1, 5), (3, 1), (3, 4)])
def test_lossy_link_recovers(monkeypatch: pytest.MonkeyPatch, window: int, seed: int) -> None:
    """Drops, corrupts and splits frames both ways; bellows' own 1.6 s timers, virtual time."""
    loop = _VirtualClockLoop()
    # bellows measures ACK delays with time.monotonic(); give it the same virtual clock.
    monkeypatch.setattr(bellows_ash, "time", types.SimpleNamespace(monotonic=loop.time))

    async def run() -> None:
        pair = await _connect(window=window)
        try:
            pair.to_ncp.rng = random.Random(seed)
            pair.to_host.rng = random.Random(seed + 100)
            await _exchange(pair, 50)
            assert pair.to_ncp.mangled > 0 and pair.to_host.mangled > 0
            assert pair.driver.frame_errors > 0 and pair.driver.naks > 0
            assert pair.driver.retransmissions > 0
        finally:
            pair.driver.close()

    try:
        loop.run_until_complete(run())
    finally:
        loop.close()

"""Fuzz ASH (protocol/ash.py, protocol/ash_ncp.py): frames, the deframer, the NCP receive path."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.ash import (
    Deframer,
    Reserved,
    build_frame,
    crc_ccitt,
    encode_frame,
    parse_frame,
    stuff,
    unstuff,
)
from protocol.ash_ncp import AshEvent, AshNcp
from protocol.errors import DecodeError
from tests.fuzz.mutations import FED, decode, fuzz_settings, mutated, sealed_mutations
from tests.protocol.test_ash import frames

DECODER = "ASH"


def _with_crc(body: bytes) -> bytes:
    return body + crc_ccitt(body).to_bytes(2, "big")


# Control byte and data field of valid frames, before the CRC.
bodies = frames.map(lambda frame: build_frame(frame)[:-2])
unstuffed = sealed_mutations(bodies, _with_crc, max_size=240)
wire_frames = st.one_of(
    frames.map(encode_frame),
    mutated(frames.map(encode_frame)),
    unstuffed.map(lambda raw: stuff(raw) + bytes((Reserved.FLAG,))),
)
# A stream of frames back to back, some mutated, with stray reserved octets between them.
streams = st.lists(
    wire_frames | st.binary(max_size=16) | st.sampled_from([bytes((b,)) for b in Reserved]),
    max_size=8,
).map(b"".join)


@fuzz_settings(600)
@given(unstuffed)
def test_parse_frame(data: bytes) -> None:
    decode(DECODER, parse_frame, data)


@fuzz_settings(300)
@given(st.binary(max_size=64) | mutated(frames.map(build_frame).map(stuff)))
def test_unstuff(data: bytes) -> None:
    decode(DECODER, unstuff, data)


@fuzz_settings(300)
@given(streams)
def test_deframer_hands_out_frames_or_decode_errors(stream: bytes) -> None:
    FED[DECODER, Deframer.feed.__qualname__] += 1
    for item in Deframer().feed(stream):
        assert isinstance(item, bytes | DecodeError)


@fuzz_settings(300)
@given(streams, st.lists(st.integers(0, 4000), max_size=4))
def test_ncp_receive_path_never_raises(stream: bytes, cuts: list[int]) -> None:
    """AshNcp.receive_data is documented never to raise: bad frames become FrameError events."""
    FED[DECODER, AshNcp.receive_data.__qualname__] += 1
    ncp = AshNcp()
    points = sorted({min(cut, len(stream)) for cut in cuts})
    for start, end in zip([0, *points], [*points, len(stream)], strict=True):
        ncp.receive_data(stream[start:end], now=float(start))
    ncp.handle_timeout(now=1e6)
    while (event := ncp.next_event()) is not None:
        assert isinstance(event, AshEvent)
    ncp.data_to_send()

"""The air link framing: every message survives any split of the byte stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.air_link import (
    AirLinkDecoder,
    AirMessage,
    Hello,
    Monitor,
    Receive,
    Transmit,
    decode_body,
    encode,
)
from protocol.errors import DecodeError

psdus = st.binary(min_size=5, max_size=127)
messages = st.one_of(
    st.builds(Hello, st.integers(0, 2**64 - 1), st.text(max_size=20)),
    st.builds(Transmit, st.integers(11, 26), psdus),
    st.builds(Receive, st.integers(11, 26), st.integers(-128, 127), st.integers(0, 255), psdus),
    st.builds(Monitor),
)


@given(st.lists(messages, max_size=8), st.lists(st.integers(1, 40), min_size=1))
def test_messages_round_trip_through_any_split(batch: list[AirMessage], cuts: list[int]) -> None:
    stream = b"".join(encode(m) for m in batch)
    decoder, at, i = AirLinkDecoder(), 0, 0
    out: list[AirMessage] = []
    while at < len(stream):
        step = cuts[i % len(cuts)]
        out += decoder.feed(stream[at : at + step])
        at, i = at + step, i + 1
    assert out == batch


@pytest.mark.parametrize(
    ("message", "wire"),
    [
        # The monitor kind is new; the others' bytes must stay as they were (old nodes, old air).
        (Monitor(), b"\x00\x01\x04"),
        (Hello(0x000D6F0000000001, "hub"), b"\x00\x0d\x01\x00\x0d\x6f\x00\x00\x00\x00\x01\x03hub"),
        (Transmit(15, b"\x41\x88"), b"\x00\x04\x02\x0f\x41\x88"),
        (Receive(15, -45, 255, b"\x41\x88"), b"\x00\x06\x03\x0f\xd3\xff\x41\x88"),
    ],
)
def test_wire_bytes(message: AirMessage, wire: bytes) -> None:
    assert encode(message) == wire
    assert AirLinkDecoder().feed(wire) == [message]


@pytest.mark.parametrize("body", [b"", b"\x09", b"\x02", b"\x01\x00", b"\x04\x00"])
def test_malformed_bodies_raise_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_body(body)

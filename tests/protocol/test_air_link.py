"""The air link framing: every message survives any split of the byte stream."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.air_link import AirLinkDecoder, Hello, Receive, Transmit, decode_body, encode
from protocol.errors import DecodeError

psdus = st.binary(min_size=5, max_size=127)
messages = st.one_of(
    st.builds(Hello, st.integers(0, 2**64 - 1), st.text(max_size=20)),
    st.builds(Transmit, st.integers(11, 26), psdus),
    st.builds(Receive, st.integers(11, 26), st.integers(-128, 127), st.integers(0, 255), psdus),
)


@given(st.lists(messages, max_size=8), st.lists(st.integers(1, 40), min_size=1))
def test_messages_round_trip_through_any_split(batch: list, cuts: list[int]) -> None:
    stream = b"".join(encode(m) for m in batch)
    decoder, out, at, i = AirLinkDecoder(), [], 0, 0
    while at < len(stream):
        step = cuts[i % len(cuts)]
        out += decoder.feed(stream[at : at + step])
        at, i = at + step, i + 1
    assert out == batch


@pytest.mark.parametrize("body", [b"", b"\x09", b"\x02", b"\x01\x00"])
def test_malformed_bodies_raise_decode_error(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_body(body)

"""The framing of head-end commands through a meter's tunnel (`protocol.meter_tunnel`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError, LocalProtocolError
from protocol.json_fields import JsonObject
from protocol.meter_tunnel import MAX_MESSAGE_OCTETS, Reassembly, chunks, encode

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=40),
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=30,
)
MESSAGES = st.dictionaries(st.text(max_size=12), _JSON, max_size=6)


@given(message=MESSAGES, size=st.integers(1, 52))
def test_a_message_cut_into_chunks_comes_back_whole(message: JsonObject, size: int) -> None:
    parts = chunks(message, size)
    assert all(1 <= len(part) <= size for part in parts)
    reassembly = Reassembly()
    taken = [reassembly.take(part) for part in parts]
    assert taken[:-1] == [None] * (len(parts) - 1)
    assert taken[-1] == message
    assert reassembly.buffer == bytearray()  # ready for the next message


@pytest.mark.req("18.11.j")
def test_malformed_messages_are_refused_with_our_error() -> None:
    with pytest.raises(DecodeError, match="at most"):
        Reassembly().take((MAX_MESSAGE_OCTETS + 1).to_bytes(4, "big"))
    with pytest.raises(DecodeError, match="nothing after"):
        Reassembly().take(encode({"a": 1}) + b"x")
    with pytest.raises(DecodeError):
        Reassembly().take((3).to_bytes(4, "big") + b"[1]")  # JSON, but not an object
    with pytest.raises(LocalProtocolError):
        chunks({"a": 1}, 0)

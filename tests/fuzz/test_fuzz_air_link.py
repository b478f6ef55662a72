"""Fuzz the air link (protocol/air_link.py): message bodies and the length-prefixed stream."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.air_link import AirLinkDecoder, decode_body, encode
from protocol.errors import DecodeError
from tests.fuzz.mutations import FED, decode, fuzz_settings, fuzzed, mutated
from tests.protocol.test_air_link import messages

DECODER = "air link"

encoded = messages.map(encode)
# Streams of messages, some mutated (a corrupted length prefix shifts everything after it).
streams = st.lists(encoded | mutated(encoded) | st.binary(max_size=8), max_size=6).map(b"".join)


@fuzz_settings(400)
@given(fuzzed(encoded.map(lambda message: message[2:]), max_size=140))
def test_message_body(body: bytes) -> None:
    decode(DECODER, decode_body, body)


@fuzz_settings(300)
@given(streams, st.lists(st.integers(1, 300), min_size=1, max_size=4))
def test_stream(stream: bytes, cuts: list[int]) -> None:
    """The stream cut anywhere, as TCP delivers it."""
    FED[DECODER, AirLinkDecoder.feed.__qualname__] += 1
    decoder, at, i = AirLinkDecoder(), 0, 0
    while at < len(stream):
        step = cuts[i % len(cuts)]
        try:
            decoder.feed(stream[at : at + step])
        except DecodeError:
            decoder = AirLinkDecoder()  # a refused message ends the connection
        at, i = at + step, i + 1

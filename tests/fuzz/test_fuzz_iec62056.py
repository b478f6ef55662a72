"""Fuzz IEC 62056-21 (protocol/iec62056_21): single messages, and byte streams fed to both roles.

A message that is not one is refused cleanly: `parse_message` raises `DecodeError` and nothing
else, and a `Connection` turns whatever comes into messages or `Refused` events, never an
exception, in either role. Blocks are fed with their BCC both broken by the mutation and made
right again after it (`sealed_mutations`), so mutated bodies reach the parser.
"""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.iec62056_21.connection import Connection, Role
from protocol.iec62056_21.frames import (
    BaudChar,
    Command,
    DataMessage,
    DataReadout,
    DataSet,
    Identification,
    ModeChar,
    OptionSelect,
    SignOnRequest,
    bcc,
    build_message,
    parse_message,
)
from tests.fuzz.mutations import FED, decode, fuzz_settings, fuzzed, sealed_mutations

DECODER = "IEC 62056-21"

_text = st.text("0123456789.:-ABCabc ", max_size=12)
data_sets = st.builds(DataSet, _text, _text, st.sampled_from(["", "kWh", "m3"]))
lines = st.one_of(
    st.builds(SignOnRequest, st.text("0123456789", max_size=8)),
    st.builds(Identification, st.just("EMU"), st.sampled_from(list(BaudChar)), _text),
    st.builds(OptionSelect, st.sampled_from(list(BaudChar)), st.sampled_from(list(ModeChar))),
).map(build_message)
blocks = st.one_of(
    st.builds(Command, st.sampled_from("PRWEB"), st.sampled_from("01256"), data_sets | st.none()),
    st.builds(DataMessage, st.lists(data_sets, max_size=2).map(tuple)),
    st.builds(DataReadout, st.lists(st.tuples(data_sets), max_size=4).map(tuple)),
).map(build_message)


def seal(body: bytes) -> bytes:
    """A block's bytes with the BCC made right for whatever lies between start and ETX."""
    return body[:-1] + bytes([bcc(body[1:-1])]) if len(body) > 2 else body


messages = st.one_of(fuzzed(lines), sealed_mutations(blocks, seal, max_size=80))


@fuzz_settings(600)
@given(messages)
def test_message(data: bytes) -> None:
    decode(DECODER, parse_message, data)


@fuzz_settings(300)
@given(st.lists(messages, max_size=6).map(b"".join), st.sampled_from(list(Role)))
def test_stream(stream: bytes, role: Role) -> None:
    """Either role, fed anything: messages or refusals, never an exception."""
    FED[DECODER, Connection.next_event.__qualname__] += 1
    connection = Connection(role)
    for at in range(0, len(stream), 7):
        connection.receive_data(stream[at : at + 7])
        while connection.next_event() is not None:
            pass

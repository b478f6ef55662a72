"""JSON values in IEC 62056-21 data sets: every value survives the trip through data sets,
split for reading and in parts for writing, and no part holds a reserved character."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError
from protocol.iec62056_21.frames import VALUE_MAX, DataMessage, build_message, parse_message
from protocol.iec62056_21.json_value import (
    MORE,
    decode_json_value,
    encode_json_value,
    join_values,
    read_parts,
    write_parts,
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)


@pytest.mark.req("19.2.1")
@given(json_values)
def test_a_json_value_crosses_data_sets_and_parts_unchanged(value: Any) -> None:
    text = encode_json_value(value)
    assert not set(text) & set("()/!*+") and text.isascii()
    sets = read_parts("0-0:128.3.1", text)
    wire = build_message(DataMessage(sets))  # every part is a valid data set on the line
    parsed = parse_message(wire)
    assert isinstance(parsed, DataMessage)
    assert decode_json_value(join_values(parsed.data)) == value
    parts = write_parts(text)
    assert all(len(p) <= VALUE_MAX for p in parts)
    assert all(p.startswith(MORE) for p in parts[:-1]) and not parts[-1].startswith(MORE)
    assert decode_json_value("".join(p.removeprefix(MORE) for p in parts)) == value


def test_a_value_that_is_not_json_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="tariff item"):
        decode_json_value("{not json", "tariff item pricing")
    with pytest.raises(ValueError, match="'\\+'"):
        write_parts("1+1")

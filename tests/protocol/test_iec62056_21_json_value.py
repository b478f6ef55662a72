"""JSON values in IEC 62056-21 data sets: every value survives the trip through data sets,
split for reading and in parts for writing, and no part holds a reserved character."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError, LocalProtocolError
from protocol.iec62056_21.frames import VALUE_MAX, DataMessage, build_message, parse_message
from protocol.iec62056_21.json_value import (
    MORE,
    WRITE_MAX,
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


@pytest.mark.req("19.2.1")
def test_a_value_that_is_not_json_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="tariff item"):
        decode_json_value("{not json", "tariff item pricing")
    with pytest.raises(LocalProtocolError, match="'\\+'"):
        write_parts("1+1")
    assert len(write_parts("1" * WRITE_MAX)) > 1
    with pytest.raises(LocalProtocolError, match=str(WRITE_MAX)):
        write_parts("1" * (WRITE_MAX + 1))  # more than the meter keeps of a session's parts


#: Any JSON value Python's codec makes, floats (and their exponents) included.
any_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=20,
)


def _has_float(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_float(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float(v) for v in value)
    return isinstance(value, float)


@pytest.mark.req("19.2.1")
@given(any_values)
def test_a_value_with_a_float_is_refused_and_every_other_crosses_unchanged(value: Any) -> None:
    if _has_float(value):  # money is a string ("0.14213"), never a float: refused, not mangled
        with pytest.raises(LocalProtocolError, match="fractional"):
            encode_json_value(value)
        return
    assert decode_json_value(encode_json_value(value)) == value


@pytest.mark.req("19.2.1")
@given(st.integers(min_value=1, max_value=200_000), st.sampled_from(["[", '{"a":']))
def test_any_nesting_is_a_value_or_our_decode_error(depth: int, opening: str) -> None:
    closing = "]" if opening == "[" else "}"
    text = opening * depth + "0" + closing * depth
    try:
        value = decode_json_value(text, "tariff item rates")
    except DecodeError as exc:
        assert "nested too deeply" in str(exc)
        return
    assert encode_json_value(value) == text  # read back as it was


@pytest.mark.req("19.2.1")
@pytest.mark.parametrize("text", ["NaN", "[Infinity]", '{"a":-Infinity}', "0.5", "1e16", "1E+2"])
def test_a_number_that_is_not_an_integer_is_a_decode_error(text: str) -> None:
    with pytest.raises(DecodeError, match="tariff item"):
        decode_json_value(text, "tariff item pricing")


@pytest.mark.req("19.2.1")
def test_nan_and_deep_nesting_are_refused_when_encoding() -> None:
    with pytest.raises(LocalProtocolError):
        encode_json_value(float("nan"))
    with pytest.raises(LocalProtocolError):
        encode_json_value(1e16)  # once "1e\\u002b16": invalid JSON
    deep: list[Any] = []
    for _ in range(100_000):
        deep = [deep]
    with pytest.raises(LocalProtocolError, match="JSON value"):
        encode_json_value(deep)

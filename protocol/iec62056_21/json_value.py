"""Structured values (JSON) in IEC 62056-21 data sets, and values longer than one data set.

A data set's value holds at most `VALUE_MAX` printable characters and none of ``( ) / ! *``
(6.5). Some objects (a tariff item, 12.1) are JSON documents longer than that. Both ends use
this one codec, so nothing is lost between them:

- `encode_json_value`: compact JSON, ASCII only, with every reserved character and ``+``
  written as a JSON escape (``(`` is ``\\u0028``): still valid JSON, so `decode_json_value`
  is `json.loads`, and the text never contains ``+``. Numbers are integers only (a float's
  exponent holds ``+``, and money is fixed point: a string such as ``"0.14213"``), so neither
  end accepts a float, NaN or Infinity.
- A read answer (R1) carries a long value as several data sets of the same address, in order;
  `join_values` puts them together.
- A long write (W1) goes as several writes of the same object: every part but the last starts
  with ``+`` (`MORE`), which no encoded value does, so the meter keeps the parts of its
  session and applies the whole value at the last one (`write_parts`); a value longer than
  `WRITE_MAX` is refused at both ends.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from protocol.errors import DecodeError, LocalProtocolError

from .frames import VALUE_MAX, DataSet

__all__ = [
    "MORE",
    "WRITE_MAX",
    "decode_json_value",
    "encode_json_value",
    "join_values",
    "read_parts",
    "write_parts",
]

#: The first character of every part of a long write but the last.
MORE = "+"
#: The longest value written in parts: what a meter keeps of a session's parts, as long as
#: a command from the head-end may be (`protocol.wan.COMMAND_MAX_BYTES`).
WRITE_MAX = 32 * 1024
#: Characters a value may not hold (6.5) and the continuation mark, as JSON escapes.
_ESCAPES = {ch: f"\\u{ord(ch):04x}" for ch in "()/!*+"}
_TABLE = str.maketrans(_ESCAPES)


def encode_json_value(value: object) -> str:
    """Compact ASCII JSON with no reserved character and no ``+`` (see the module doc).

    LocalProtocolError for what the codec does not carry: a float (money and energy are
    strings and integers: "0.14213", 150000) and a value nested too deeply for JSON here."""
    _refuse_floats(value)
    try:
        text = json.dumps(value, separators=(",", ":"), ensure_ascii=True, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as exc:
        raise LocalProtocolError(f"not a JSON value for a data set: {exc}") from None
    return text.translate(_TABLE)


def _refuse_floats(value: object) -> None:
    """LocalProtocolError if `value` holds a float anywhere (walked without recursion)."""
    stack, seen = [value], set()
    while stack:
        item = stack.pop()
        if isinstance(item, float):
            raise LocalProtocolError(f"{item!r}: a JSON value here holds no fractional number")
        if isinstance(item, dict | list | tuple) and id(item) not in seen:
            seen.add(id(item))
            stack.extend(item.values() if isinstance(item, dict) else item)


def _no_float(text: str) -> object:
    raise ValueError(f'{text} is not an integer (money and measures are strings: "0.5")')


def _no_constant(text: str) -> object:
    raise ValueError(f"{text} is not JSON")


def decode_json_value(text: str, what: str = "JSON value") -> object:
    """The JSON of `text`; DecodeError naming `what` if it is not JSON, holds a number that is
    not an integer (NaN, Infinity, 0.5: the codec carries money as strings) or is nested too
    deeply to read."""
    try:
        return json.loads(text, parse_float=_no_float, parse_constant=_no_constant)
    except ValueError as exc:
        raise DecodeError(what, "a JSON value", f"{text[:40]!r}: {exc}") from None
    except RecursionError:
        raise DecodeError(what, "a JSON value", f"{text[:40]!r}: nested too deeply") from None


def read_parts(address: str, text: str) -> tuple[DataSet, ...]:
    """`text` as data sets of `address`, each value within `VALUE_MAX` (at least one)."""
    parts = [text[i : i + VALUE_MAX] for i in range(0, len(text), VALUE_MAX)] or [""]
    return tuple(DataSet(address, part) for part in parts)


def join_values(data_sets: Sequence[DataSet]) -> str:
    """The value the data sets of one read answer carry together."""
    return "".join(data_set.value for data_set in data_sets)


def write_parts(text: str) -> list[str]:
    """The values of the writes that carry `text`: ``+part`` ..., then the last part.

    `text` must not contain ``+`` (an `encode_json_value` text never does)."""
    if MORE in text:
        raise LocalProtocolError("a value written in parts may not contain '+'")
    if len(text) > WRITE_MAX:
        raise LocalProtocolError(f"a value written in parts is at most {WRITE_MAX} characters")
    size = VALUE_MAX - len(MORE)
    parts = [text[i : i + size] for i in range(0, len(text), size)] or [""]
    return [MORE + part for part in parts[:-1]] + [parts[-1]]

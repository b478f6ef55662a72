"""Strict reading of JSON objects that come from outside: each helper names what was expected.

The WAN envelopes (`protocol.wan`) and the event report (`protocol.event_report`) are JSON
objects written by another component. Anything that is not exactly what the schema says is a
`DecodeError` naming the object and the field (clause 18.11.j: malformed messages are detected),
never a KeyError or TypeError from deep inside.

Bounds come before parsing: a document longer than the caller's `max_bytes` or nested deeper
than `MAX_DEPTH` is refused unread (the standard library's parser recurses once per level and
would raise RecursionError on a 2 KB document of brackets), and string fields have a longest
length. A refused value is quoted back shortened (`shown`), so an error message, a log line or a
rejection sent back over the WAN never echoes unbounded input.
"""

from __future__ import annotations

import json
import re
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from protocol.errors import DecodeError, LocalProtocolError

__all__ = [
    "MAX_DEPTH",
    "MAX_DOCUMENT_BYTES",
    "MAX_STRING",
    "JsonObject",
    "aware_iso",
    "check_keys",
    "parse_object",
    "peek_string",
    "require_enum",
    "require_int",
    "require_object",
    "require_str",
    "require_time",
    "shown",
]

JsonObject = dict[str, Any]
E = TypeVar("E", bound=StrEnum)

#: Longest document `parse_object` reads unless the caller says otherwise: a command result
#: carrying a meter's registers is about 2 KB, an event report well under 1 KB.
MAX_DOCUMENT_BYTES = 64 * 1024
#: Deepest nesting of arrays and objects: our envelopes go four levels down (a result's data,
#: its registers, one register); the margin is for free-form `args` and `detail`.
MAX_DEPTH = 32
#: Longest string field unless the field says otherwise (an error text, a reason, a title).
MAX_STRING = 1024
#: Characters of a refused value quoted back in an error message.
_SHOWN = 60

# One token of a JSON text, for the checks made before (or instead of) parsing it: a string,
# closed or running to the end of the text, or a structural character. Numbers, literals and
# white space are not tokens here. The string pattern's alternatives are disjoint and it always
# ends at the first unescaped quote or at the end of the text, so a scan is linear in the text.
_TOKEN = re.compile(r'"(?:[^"\\]|\\.?)*(?:"|\Z)|[\[\]{}:,]', re.DOTALL)


def shown(value: object) -> str:
    """`repr(value)` cut to a few dozen characters, saying how long it was."""
    text = repr(value)
    if len(text) <= _SHOWN:
        return text
    return f"{text[:_SHOWN]}... ({len(text)} characters)"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _too_deep(text: str) -> bool:
    depth = 0
    for match in _TOKEN.finditer(text):
        token = match.group()
        if token in ("[", "{"):
            depth += 1
            if depth > MAX_DEPTH:
                return True
        elif token in ("]", "}"):
            depth -= 1
    return False


def parse_object(what: str, data: bytes, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> JsonObject:
    """`data` as a UTF-8 JSON object of at most `max_bytes` octets nested at most `MAX_DEPTH`
    deep; NaN and Infinity are refused like any other non-JSON."""
    if len(data) > max_bytes:
        expected = f"a JSON document of at most {max_bytes} octets"
        raise DecodeError(what, expected, f"{len(data)} octets")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DecodeError(what, "a UTF-8 JSON object", f"{shown(data)} ({exc})") from None
    if _too_deep(text):
        raise DecodeError(what, f"JSON nested at most {MAX_DEPTH} deep", "deeper nesting")
    try:
        obj = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:  # JSONDecodeError, and int() refusing thousands of digits
        raise DecodeError(what, "a UTF-8 JSON object", f"{shown(data)} ({exc})") from None
    if not isinstance(obj, dict):
        raise DecodeError(what, "a JSON object", type(obj).__name__)
    return obj


def _as_string(token: str) -> str | None:
    try:
        value = json.loads(token)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def peek_string(data: bytes, key: str, max_bytes: int) -> str | None:
    """Best effort, never raises: the string value of `key` in the top-level object of `data`,
    read from its first `max_bytes` octets without parsing the document, which may be too deep,
    too long or no JSON at all. None when no such string comes before the text ends or breaks.
    """
    text = data[:max_bytes].decode("utf-8", errors="replace")
    depth, expecting, name = 0, "", None
    for match in _TOKEN.finditer(text):
        token = match.group()
        if depth == 1 and expecting == "value" and name == key:
            return _as_string(token)
        if token in ("[", "{"):
            if depth == 0 and token == "[":
                return None
            depth += 1
            expecting = "key" if depth == 1 else expecting
        elif token in ("]", "}"):
            depth -= 1
            if depth <= 0:
                return None
        elif depth == 1:
            if token == ",":
                expecting = "key"
            elif token == ":":
                expecting = "value" if expecting == "colon" else ""
            elif expecting == "key":
                name, expecting = _as_string(token), "colon"
            else:
                expecting = ""
    return None


def check_keys(what: str, obj: JsonObject, required: set[str], optional: set[str]) -> None:
    """Every required key present, nothing unknown: versions evolve by number, not by slack."""
    keys = set(obj)
    if missing := required - keys:
        raise DecodeError(what, f"keys {sorted(required)}", f"no {sorted(missing)}")
    if unknown := keys - required - optional:
        expected = f"only keys {sorted(required | optional)}"
        raise DecodeError(what, expected, shown(sorted(unknown)))


def require_str(what: str, obj: JsonObject, key: str, *, max_length: int = MAX_STRING) -> str:
    """A non-empty string of at most `max_length` characters."""
    value = obj[key]
    if not isinstance(value, str) or not value or len(value) > max_length:
        expected = f'"{key}" a non-empty string of at most {max_length} characters'
        raise DecodeError(what, expected, shown(value))
    return value


def require_int(what: str, obj: JsonObject, key: str) -> int:
    value = obj[key]
    # bool is an int in Python but not in JSON: true is not a sequence number.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DecodeError(what, f'"{key}" a non-negative integer', shown(value))
    return value


def require_object(what: str, obj: JsonObject, key: str) -> JsonObject:
    value = obj[key]
    if not isinstance(value, dict):
        raise DecodeError(what, f'"{key}" a JSON object', shown(value))
    return value


def require_enum(what: str, obj: JsonObject, key: str, enum: type[E]) -> E:
    try:
        return enum(obj[key])
    except (ValueError, TypeError):
        known = ", ".join(m.value for m in enum)
        raise DecodeError(what, f'"{key}" one of {known}', shown(obj[key])) from None


def require_time(what: str, obj: JsonObject, key: str) -> datetime:
    """An ISO 8601 time with a UTC offset: naive times are refused, not guessed at."""
    text = require_str(what, obj, key, max_length=64)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.utcoffset() is None:
        raise DecodeError(what, f'"{key}" an ISO 8601 time with a UTC offset', shown(text))
    return when


def aware_iso(when: datetime) -> str:
    """ISO text of an aware time; a naive one is our own bug, so a LocalProtocolError."""
    if when.utcoffset() is None:
        raise LocalProtocolError(f"timestamps need a UTC offset, got naive {when!r}")
    return when.isoformat()

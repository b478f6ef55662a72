"""Strict reading of JSON objects that come from outside: each helper names what was expected.

The WAN envelopes (`protocol.wan`) and the event report (`protocol.event_report`) are JSON
objects written by another component. Anything that is not exactly what the schema says is a
`DecodeError` naming the object and the field (clause 18.11.j: malformed messages are detected),
never a KeyError or TypeError from deep inside.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, TypeVar

from protocol.errors import DecodeError, LocalProtocolError

__all__ = [
    "JsonObject",
    "aware_iso",
    "check_keys",
    "parse_object",
    "require_enum",
    "require_int",
    "require_object",
    "require_str",
    "require_time",
]

JsonObject = dict[str, Any]
E = TypeVar("E", bound=StrEnum)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_object(what: str, data: bytes) -> JsonObject:
    """`data` as a UTF-8 JSON object; NaN and Infinity are refused like any other non-JSON."""
    try:
        obj = json.loads(data.decode("utf-8"), parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:
        raise DecodeError(what, "a UTF-8 JSON object", f"{data[:80]!r} ({exc})") from None
    if not isinstance(obj, dict):
        raise DecodeError(what, "a JSON object", type(obj).__name__)
    return obj


def check_keys(what: str, obj: JsonObject, required: set[str], optional: set[str]) -> None:
    """Every required key present, nothing unknown: versions evolve by number, not by slack."""
    keys = set(obj)
    if missing := required - keys:
        raise DecodeError(what, f"keys {sorted(required)}", f"no {sorted(missing)}")
    if unknown := keys - required - optional:
        raise DecodeError(what, f"only keys {sorted(required | optional)}", f"{sorted(unknown)}")


def require_str(what: str, obj: JsonObject, key: str) -> str:
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise DecodeError(what, f'"{key}" a non-empty string', repr(value))
    return value


def require_int(what: str, obj: JsonObject, key: str) -> int:
    value = obj[key]
    # bool is an int in Python but not in JSON: true is not a sequence number.
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise DecodeError(what, f'"{key}" a non-negative integer', repr(value))
    return value


def require_object(what: str, obj: JsonObject, key: str) -> JsonObject:
    value = obj[key]
    if not isinstance(value, dict):
        raise DecodeError(what, f'"{key}" a JSON object', repr(value))
    return value


def require_enum(what: str, obj: JsonObject, key: str, enum: type[E]) -> E:
    try:
        return enum(obj[key])
    except (ValueError, TypeError):
        known = ", ".join(m.value for m in enum)
        raise DecodeError(what, f'"{key}" one of {known}', repr(obj[key])) from None


def require_time(what: str, obj: JsonObject, key: str) -> datetime:
    """An ISO 8601 time with a UTC offset: naive times are refused, not guessed at."""
    text = require_str(what, obj, key)
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        when = None
    if when is None or when.utcoffset() is None:
        raise DecodeError(what, f'"{key}" an ISO 8601 time with a UTC offset', repr(text))
    return when


def aware_iso(when: datetime) -> str:
    """ISO text of an aware time; a naive one is our own bug, so a LocalProtocolError."""
    if when.utcoffset() is None:
        raise LocalProtocolError(f"timestamps need a UTC offset, got naive {when!r}")
    return when.isoformat()

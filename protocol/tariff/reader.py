"""Strict reading of one JSON object of a tariff document, naming the place of each refusal.

Every refusal is a `DecodeError` whose `what` is the path in the document
("tariff.tou.switches[3].start") and whose `expected` says what would have been accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeVar

from protocol.errors import DecodeError
from protocol.json_fields import JsonObject, check_keys, require_str, require_time, shown
from protocol.tariff.fixed import Fixed, UnitPrice

__all__ = [
    "MAX_ENERGY_WH",
    "MAX_LABEL",
    "MAX_PERIOD_DAYS",
    "Reader",
    "export_price",
    "iso_utc",
]

MAX_LABEL = 32
MAX_ENERGY_WH = 10**12  # a terawatt-hour: any larger threshold is a typo
MAX_PERIOD_DAYS = 366
F = TypeVar("F", bound=Fixed)
T = TypeVar("T")


class Reader:
    """Reads one JSON object at a path, raising DecodeError that names the path."""

    def __init__(self, path: str, obj: object) -> None:
        if not isinstance(obj, dict):
            raise DecodeError(path, "a JSON object", shown(obj))
        self.path = path
        self.obj: JsonObject = obj

    def keys(self, required: set[str], optional: frozenset[str] | set[str] = frozenset()) -> None:
        check_keys(self.path, self.obj, required, set(optional))

    def has(self, key: str) -> bool:
        return key in self.obj

    def value(self, key: str) -> object:
        """The value of `key`; a DecodeError when the object lacks it."""
        if key not in self.obj:
            raise DecodeError(self.path, f'a key "{key}"', f"only {shown(sorted(self.obj))}")
        return self.obj[key]

    def fail(self, key: str, expected: str) -> DecodeError:
        return DecodeError(f"{self.path}.{key}", expected, shown(self.obj.get(key)))

    def child(self, key: str) -> Reader:
        return Reader(f"{self.path}.{key}", self.value(key))

    def items(self, key: str, low: int, high: int) -> list[Reader]:
        value = self.value(key)
        if not isinstance(value, list) or not low <= len(value) <= high:
            raise self.fail(key, f"a list of {low} to {high} objects")
        return [Reader(f"{self.path}.{key}[{i}]", item) for i, item in enumerate(value)]

    def integer(self, key: str, low: int, high: int) -> int:
        value = self.value(key)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise self.fail(key, f"an integer from {low} to {high}")
        return value

    def boolean(self, key: str) -> bool:
        value = self.value(key)
        if not isinstance(value, bool):
            raise self.fail(key, "true or false")
        return value

    def text(self, key: str, max_length: int = MAX_LABEL) -> str:
        self.value(key)
        return require_str(self.path, self.obj, key, max_length=max_length)

    def fixed(self, key: str, kind: type[F], *, sign: int = 0) -> F:
        """A decimal string of `kind`; sign -1 refuses positive values, +1 negative ones."""
        try:
            value = kind.parse(self.value(key))
        except ValueError as exc:
            raise self.fail(key, str(exc)) from None
        if sign * value.value < 0:
            raise self.fail(key, "a negative or zero value" if sign < 0 else "a positive value")
        return value

    def time(self, key: str) -> datetime:
        self.value(key)
        return require_time(self.path, self.obj, key).astimezone(UTC)

    def int_list(self, key: str, low: int, high: int) -> list[int]:
        value = self.value(key)
        if (
            not isinstance(value, list)
            or not value
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
            or not all(low <= v <= high for v in value)
            or len(set(value)) != len(value)
        ):
            raise self.fail(key, f"a non-empty list of distinct integers from {low} to {high}")
        return list(value)

    def optional(self, key: str, read: Callable[[str], T], default: T) -> T:
        return read(key) if key in self.obj else default


def export_price(reader: Reader) -> Callable[[str], UnitPrice]:
    """Reads an export price: 16.22.2, export credits the consumer through a negative rate."""
    return lambda key: reader.fixed(key, UnitPrice, sign=-1)


def iso_utc(when: datetime) -> str:
    return when.astimezone(UTC).isoformat()

"""Typed access to one table of a rig file, with errors that name the file and the key."""

from __future__ import annotations

import enum
import math
from pathlib import Path
from typing import Any, TypeVar

from protocol.errors import ConfigError
from protocol.ieee802154 import eui64_from_str

__all__ = ["Section"]

E = TypeVar("E", bound=enum.StrEnum)
T = TypeVar("T")
_MISSING: Any = object()


class Section:
    """One TOML table, e.g. `[hub]` or the second `[[device]]` (`where` says which)."""

    def __init__(self, path: Path, where: str, table: Any) -> None:
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{where}] must be a table")
        self.path, self.where, self.table = path, where, table

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.path}: [{self.where}] {key}: {problem}")

    def has(self, key: str) -> bool:
        return key in self.table

    def get(self, key: str, kind: type[T], default: Any = _MISSING) -> T:
        """The value of `key` as `kind` (an int is accepted for a float); `default` if absent."""
        if key not in self.table:
            if default is _MISSING:
                raise ConfigError(f"{self.path}: [{self.where}] needs {key!r}")
            return default  # type: ignore[no-any-return]
        value = self.table[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise self.error(key, f"must be {kind.__name__}, not {value!r}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, f"must be a finite number, not {value!r}")
        return value

    def number(
        self,
        key: str,
        default: float | None = None,
        *,
        low: float | None = None,
        high: float | None = None,
    ) -> float:
        """A finite number within [low, high] (either bound optional)."""
        value = self.get(key, float, _MISSING if default is None else default)
        if low is not None and value < low:
            raise self.error(key, f"must be at least {low:g}, not {value:g}")
        if high is not None and value > high:
            raise self.error(key, f"must be at most {high:g}, not {value:g}")
        return value

    def integer(self, key: str, default: int | None = None, *, low: int, high: int) -> int:
        value = self.get(key, int, _MISSING if default is None else default)
        if not low <= value <= high:
            raise self.error(
                key, f"must be within {low}..{high} (0x{low:X}..0x{high:X}), not {value}"
            )
        return value

    def enum(self, key: str, kind: type[E], default: E) -> E:
        value = self.get(key, str, default.value)
        try:
            return kind(value)
        except ValueError:
            allowed = ", ".join(m.value for m in kind)
            raise self.error(key, f"{value!r} is not one of {allowed}") from None

    def eui64(self, key: str) -> int:
        try:
            return eui64_from_str(self.get(key, str))
        except ValueError as exc:
            raise self.error(key, str(exc)) from None

    def position(self, key: str, default: tuple[float, float]) -> tuple[float, float]:
        """[x, y] in metres."""
        value = self.table.get(key, default)
        if (
            isinstance(value, tuple | list)
            and len(value) == 2
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
            and all(math.isfinite(v) for v in value)
        ):
            return float(value[0]), float(value[1])
        raise self.error(key, f"must be [x, y] in metres, not {value!r}")

    def tables(self, key: str) -> list[Any]:
        """An array of tables (`[[air.link]]`); empty when absent."""
        value = self.table.get(key, [])
        if not isinstance(value, list):
            raise self.error(key, "must be an array of tables ([[...]])")
        return value

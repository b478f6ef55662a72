"""The hub's delivery settings, read and changed remotely (head-end `config get|set`) and locally
(the bench port), kept in its non-volatile store (clauses 12.1.o, 12.1.r, 12.1.s-u, 18.7, 18.8,
18.12, 19.1.7, 19.1.10).

| key                                | value                                          | default  |
|------------------------------------|------------------------------------------------|----------|
| `outbox.retry_interval_s`          | seconds between retries of an unacked window   | 30       |
| `outbox.retry_count`               | retries before resting; 0 = continuously       | 0        |
| `exchange.interval_s`              | scheduled exchange interval (12.1.t)           | 1800     |
| `exchange.offset_s`                | exchanges start this far into the interval (12.1.s, 19.1.10) | 0 |
| `sync.interval_s`                  | periodic sync of clock, registers, configuration (12.4); 0 = off | 86400 |
| `push.<device>.interval_s`         | push of the device's readings (6.1.3, 12.1.o); 0 = suppressed | 0 |
| `profile.<device>.interval_s`      | data recording (profile) interval (12.1.u): kept and forwarded to the profile store when the meter has one | 1800 |
| `config_change.forward`            | `send_now`, `next_exchange` or `log_only` (12.2, 12.3) | `send_now` |
| `events.class.<low|medium|high>`   | a rule `{"treatment", "from"?, "until"?}` (18.8, 18.12) | built in |
| `events.code.<code>`               | a rule for one event code                      | none     |
| `events.class_of.<code>`           | `low`, `medium` or `high` (18.7)               | built in |

Every change is one transaction: the new value, the hub's configuration-change log entry and,
as `config_change.forward` says, the configuration-change message in the outbox (12.2).
Values are validated here, with errors naming the key (`ConfigRefused`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Any

from hal.ports import Clock, NonVolatileStore, Tx
from protocol.errors import SmartMeterError
from protocol.event_codes import EventCode
from protocol.json_fields import JsonObject
from protocol.wan import UplinkKind

from .event_treatment import EventClass, Rule, Treatment, Treatments
from .outbox import Outbox, RetryPolicy

__all__ = ["ConfigRefused", "HubConfig"]

_NAMESPACE = "hub_config"
_LOG_NAMESPACE = "hub_config_log"
#: Largest interval in seconds a setting takes: a year.
_MAX_S = 366 * 86400
SOURCE = "hub"


class ConfigRefused(SmartMeterError):
    """A setting that does not exist or a value it cannot take."""


def _seconds(allow_zero: bool) -> Callable[[str, Any], Any]:
    def check(key: str, value: Any) -> Any:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ConfigRefused(f"{key} must be a number of seconds")
        low = 0 if allow_zero else 1
        if not low <= value <= _MAX_S:
            raise ConfigRefused(f"{key} must be from {low} to {_MAX_S} seconds")
        return value

    return check


def _count(key: str, value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 1000:
        raise ConfigRefused(f"{key} must be a whole number from 0 to 1000")
    return value


def _treatment(key: str, value: Any) -> Any:
    try:
        return Treatment(value).value
    except ValueError:
        known = ", ".join(t.value for t in Treatment)
        raise ConfigRefused(f"{key} must be one of {known}") from None


def _class(key: str, value: Any) -> Any:
    try:
        return EventClass(value).value
    except ValueError:
        raise ConfigRefused(f"{key} must be low, medium or high") from None


def _when(key: str, value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        when = None
    if when is None or when.tzinfo is None:
        raise ConfigRefused(f"{key} dates must be ISO 8601 with a UTC offset")
    return when


def _rule(key: str, value: Any) -> Any:
    if isinstance(value, str):
        value = {"treatment": value}
    if not isinstance(value, dict) or not set(value) <= {"treatment", "from", "until"}:
        raise ConfigRefused(f'{key} must be {{"treatment", "from"?, "until"?}}')
    treatment = _treatment(key, value.get("treatment"))
    start, end = _when(key, value.get("from")), _when(key, value.get("until"))
    if start is not None and end is not None and end <= start:
        raise ConfigRefused(f"{key}: 'until' must be after 'from'")
    return {"treatment": treatment, "from": value.get("from"), "until": value.get("until")}


def _parse_rule(value: dict[str, Any]) -> Rule:
    return Rule(Treatment(value["treatment"]), _when("", value["from"]), _when("", value["until"]))


_FIXED: dict[str, tuple[Any, Callable[[str, Any], Any]]] = {
    "outbox.retry_interval_s": (30, _seconds(False)),
    "outbox.retry_count": (0, _count),
    "exchange.interval_s": (1800, _seconds(False)),
    "exchange.offset_s": (0, _seconds(True)),
    "sync.interval_s": (86400, _seconds(True)),
    "config_change.forward": (Treatment.SEND_NOW.value, _treatment),
}
_CODE = re.compile(r"events\.(code|class_of)\.(\d{1,5})")
_DEVICE = re.compile(r"(push|profile)\.([A-Za-z0-9_-]{1,32})\.interval_s")
_PER_DEVICE_DEFAULT = {"push": 0, "profile": 1800}


class HubConfig:
    """The settings of one hub; `devices` are the names a per-device key may use."""

    def __init__(
        self, store: NonVolatileStore, clock: Clock, outbox: Outbox, devices: set[str]
    ) -> None:
        self._store, self._clock, self._outbox, self._devices = store, clock, outbox, devices

    def _spec(self, key: str) -> tuple[Any, Callable[[str, Any], Any]]:
        if key in _FIXED:
            return _FIXED[key]
        if key.startswith("events.class.") and key[13:] in {c.value for c in EventClass}:
            return None, _rule
        if match := _CODE.fullmatch(key):
            try:
                EventCode(int(match[2]))
            except ValueError:
                raise ConfigRefused(f"{key}: no event code {match[2]}") from None
            return None, _rule if match[1] == "code" else _class
        if match := _DEVICE.fullmatch(key):
            if match[2] not in self._devices:
                known = ", ".join(sorted(self._devices)) or "none"
                raise ConfigRefused(f"{key}: no device {match[2]!r} (known: {known})")
            allow_zero = match[1] == "push"
            return _PER_DEVICE_DEFAULT[match[1]], _seconds(allow_zero)
        raise ConfigRefused(f"no setting {key!r}; settings: {', '.join(sorted(_FIXED))}, ...")

    def get(self, key: str, tx: Tx | None = None) -> Any:
        default, _check = self._spec(key)
        return self._store.get(_NAMESPACE, key, default, tx=tx)

    def snapshot(self) -> JsonObject:
        """Every setting: the fixed ones with their defaults, and those set."""
        values: JsonObject = {key: default for key, (default, _c) in _FIXED.items()}
        values.update(self._store.items(_NAMESPACE))
        return dict(sorted(values.items()))

    def set(self, key: str, value: Any, by: str, tx: Tx | None = None) -> JsonObject:
        """Change one setting; returns the configuration-change message (12.2)."""
        if tx is None:
            with self._store.transaction() as own:
                return self.set(key, value, by, own)
        _default, check = self._spec(key)
        new = check(key, value)
        old = self.get(key, tx)
        if new is None:
            self._store.delete(_NAMESPACE, key, tx=tx)
        else:
            self._store.put(_NAMESPACE, key, new, tx=tx)
        change: JsonObject = {
            "key": key,
            "old": old,
            "new": new,
            "by": by,
            "at": self._clock.now().isoformat(),
        }
        count = int(self._store.get(_LOG_NAMESPACE, "count", 0, tx=tx)) + 1
        self._store.put(_LOG_NAMESPACE, "count", count, tx=tx)
        self._store.put(_LOG_NAMESPACE, f"{count:08d}", change, tx=tx)
        forward = Treatment(self.get("config_change.forward", tx))
        if forward is Treatment.SEND_NOW:
            self._outbox.enqueue(SOURCE, UplinkKind.CONFIG_CHANGE, change, tx)
        elif forward is Treatment.NEXT_EXCHANGE:
            self._outbox.hold(SOURCE, UplinkKind.CONFIG_CHANGE, change, tx)
        return change

    # -- typed views -------------------------------------------------------------------------

    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy(
            float(self.get("outbox.retry_interval_s")), int(self.get("outbox.retry_count"))
        )

    def treatments(self) -> Treatments:
        by_code, by_class, class_of = {}, {}, {}
        for key, value in self._store.items(_NAMESPACE).items():
            if key.startswith("events.class."):
                by_class[EventClass(key[13:])] = _parse_rule(value)
            elif match := _CODE.fullmatch(key):
                code = EventCode(int(match[2]))
                if match[1] == "code":
                    by_code[code] = _parse_rule(value)
                else:
                    class_of[code] = EventClass(value)
        return Treatments(by_code, by_class, class_of)

    def push_interval_s(self, device: str) -> float:
        return float(self.get(f"push.{device}.interval_s"))

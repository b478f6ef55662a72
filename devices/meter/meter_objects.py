"""The objects of `optical_objects`' table, bound to the parts of a meter that keep them.

Reads go through the interfaces of those parts (the clock port, the settings store, the supply
switch port, the event log, the reading sources), writes through their checks, and every
write is logged with its time, the engineer and the old and new values (17.2.21.e).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from firmware.event_log import EventLog
from hal.ports import Clock, SupplySwitch, uk_local
from protocol.errors import SmartMeterError
from protocol.event_codes import EventCategory, EventCode
from protocol.iec62056_21.obis import Obis

from .local_access import LocalAccess, parse_verifier_text
from .meter_settings import SettingError, SettingsStore, check_mode, check_mpxn, check_text
from .optical_objects import ERR_BAD_VALUE, DataObject, ObjectTable, WriteRefused
from .readings import Reading

__all__ = ["MeterParts", "meter_objects", "parse_clock"]

#: Appendix B sections, counted one object each (0-0:128.10.N).
_SECTIONS = [c for c in EventCategory if c.value.startswith("B.")]


@dataclass(frozen=True)
class MeterParts:
    serial: str
    eui64: str
    variant: str
    firmware: str
    electricity: bool
    clock: Clock
    settings: SettingsStore
    switch: SupplySwitch
    events: EventLog
    access: LocalAccess
    readings: Callable[[], list[Reading]]
    #: Shows the settings on the display again after a change (the message line).
    refresh: Callable[[], None]


def parse_clock(text: str) -> datetime:
    """A clock value: ISO 8601 with its offset, or ``YYMMDDhhmmss`` in UTC."""
    try:
        if len(text) == 12 and text.isdigit():
            return datetime.strptime(text, "%y%m%d%H%M%S").replace(tzinfo=UTC)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise WriteRefused(ERR_BAD_VALUE, f"{text!r} is not a date and time") from None
    if parsed.tzinfo is None:
        raise WriteRefused(ERR_BAD_VALUE, "a clock value needs its UTC offset (or Z)")
    return parsed.astimezone(UTC)


def _utc_text(clock: Clock) -> str:
    return clock.now().astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def meter_objects(parts: MeterParts) -> ObjectTable:
    def obis(text: str) -> Obis:
        return Obis.parse(text)

    def constant(value: str) -> Callable[[], tuple[str, str]]:
        return lambda: (value, "")

    def setting(key: str, check: Callable[[str], object], item: str) -> DataObject:
        def read() -> tuple[str, str]:
            return parts.settings.as_dict()[key], ""

        def write(value: str, engineer: str) -> str:
            try:
                checked = check(value)
            except SettingError as exc:
                raise WriteRefused(ERR_BAD_VALUE, str(exc)) from None
            old = parts.settings.as_dict()[key]
            parts.settings.update({key: checked})
            parts.access.log_change(engineer, "optical", item, old, value)
            parts.refresh()
            return old

        return DataObject(obis(OBJECTS[key]), item, read, write)

    def set_clock(value: str, engineer: str) -> str:
        new = parse_clock(value)
        old = parts.clock.now()
        parts.events.record(EventCode.CLOCK_ADJUSTED_OLD_TIME, {"old": old}, at=old)
        parts.clock.adjust(new)
        parts.events.record(EventCode.CLOCK_ADJUSTED_NEW_TIME, {"old": old, "new": new})
        parts.access.log_change(engineer, "optical", "clock", old.isoformat(), new.isoformat())
        return old.isoformat()

    def set_password(value: str, engineer: str) -> str:
        try:
            verifier = parse_verifier_text(value)
        except SmartMeterError as exc:
            raise WriteRefused(ERR_BAD_VALUE, str(exc)) from None
        parts.access.set_verifier(verifier, engineer=engineer, channel="optical")
        return "(set)"

    def locked() -> tuple[str, str]:
        until = parts.access.locked_until()
        return ("" if until is None else until.strftime("%Y-%m-%dT%H:%M:%SZ")), ""

    def events_of(section: EventCategory | None) -> Callable[[], tuple[str, str]]:
        codes = [code for code in EventCode if section is None or code.category is section]
        return lambda: (str(sum(parts.events.count(code) for code in codes)), "")

    head = [
        DataObject(obis("0-0:96.1.0"), "serial number", constant(parts.serial)),
        setting("mpxn", lambda v: check_mpxn(v, parts.electricity), "MPAN/MPRN"),
        DataObject(obis("0-0:96.1.2"), "EUI-64", constant(parts.eui64)),
        DataObject(obis("0-0:96.1.3"), "variant code", constant(parts.variant)),
        DataObject(obis("0-0:0.2.0"), "firmware version", constant(parts.firmware)),
        DataObject(
            obis("0-0:1.0.0"), "clock", lambda: (_utc_text(parts.clock), ""), set_clock, seal=True
        ),
        DataObject(
            obis("0-0:0.9.1"),
            "local time",
            lambda: (uk_local(parts.clock.now()).strftime("%H%M%S"), ""),
        ),
        DataObject(
            obis("0-0:0.9.2"),
            "local date",
            lambda: (uk_local(parts.clock.now()).strftime("%y%m%d"), ""),
        ),
    ]
    tail = [
        DataObject(obis("0-0:96.3.10"), "supply state", lambda: (parts.switch.state.value, "")),
        DataObject(
            obis("0-0:96.7.21"), "power ups", events_of_code(parts.events, EventCode.POWER_UP)
        ),
        DataObject(obis("0-0:128.10.0"), "events", events_of(None)),
        *(
            DataObject(obis(f"0-0:128.10.{i}"), f"events {s.value}", events_of(s))
            for i, s in enumerate(_SECTIONS, start=1)
        ),
        setting("payment_mode", check_mode, "payment mode"),
        setting("supplier", lambda v: check_text(v, "supplier"), "supplier"),
        setting("message", lambda v: check_text(v, "message"), "display message"),
        DataObject(obis("0-0:128.1.0"), "password", None, set_password, readout=False),
        DataObject(obis("0-0:128.1.1"), "locked until", locked),
        DataObject(
            obis("0-0:128.2.0"),
            "local changes",
            lambda: (str(len(parts.access.changes(10**6))), ""),
        ),
    ]
    return ObjectTable(head, parts.readings, tail)


def events_of_code(events: EventLog, code: EventCode) -> Callable[[], tuple[str, str]]:
    return lambda: (str(events.count(code)), "")


OBJECTS = {
    "mpxn": "0-0:96.1.1",
    "payment_mode": "0-0:128.0.0",
    "supplier": "0-0:128.0.1",
    "message": "0-0:128.0.2",
}

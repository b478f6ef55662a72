"""What the hub does with each event it logs: send now, send at the next exchange, or log only.

Clauses 18.7, 18.8 and 18.12: every event code belongs to a class (low, medium, high; the class
of a code is configurable), and a treatment is configured per class and per code, each rule
valid between an optional start and end date. A code's own rule, when valid, wins over its
class's; outside every window the built-in default for the class applies. Power-loss and tamper
events always go at once, whatever the configuration says (clause 18.6, issue 10).

Sans-IO: `Treatments` is built from the hub's settings (`hub.hub_config`) and asked with the
time of the hub's clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from protocol.event_codes import EventCategory, EventCode

__all__ = [
    "ALWAYS_NOW",
    "EventClass",
    "Rule",
    "Treatment",
    "Treatments",
    "default_class",
    "module_of",
]


class Treatment(StrEnum):
    """Clause 18.8's treatments."""

    SEND_NOW = "send_now"
    NEXT_EXCHANGE = "next_exchange"
    LOG_ONLY = "log_only"


class EventClass(StrEnum):
    """Clause 18.7's classes."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


#: Power-loss and tamper events: sent at once whatever is configured (clause 18.6).
ALWAYS_NOW = frozenset(
    {EventCode.POWER_DOWN, EventCode.POWER_UP, EventCode.LAST_GASP_BATTERY_FAILURE}
    | {code for code in EventCode if code.category is EventCategory.TAMPER}
    | {EventCode.SIM_REMOVED, EventCode.UNEXPECTED_CLOCK_CHANGE}
)

_HIGH = {EventCategory.TAMPER, EventCategory.SECURITY}
_MEDIUM = {EventCategory.FAULT, EventCategory.COMMUNICATIONS, EventCategory.DECOMMISSIONING}
#: The consumer's answer to a CPP event is what the supplier waits for (16.11.8): it goes at once.
_MEDIUM_CODES = {EventCode.CPP_EVENT_ACCEPTED, EventCode.CPP_EVENT_REJECTED}

DEFAULT_TREATMENT = {
    EventClass.HIGH: Treatment.SEND_NOW,
    EventClass.MEDIUM: Treatment.SEND_NOW,
    EventClass.LOW: Treatment.NEXT_EXCHANGE,
}

_HAN = {
    EventCode.COMMUNICATION_ERROR_HAN,
    EventCode.COMMUNICATION_OK_HAN,
    EventCode.DEVICE_JOINED,
    EventCode.DEVICE_LEFT,
    EventCode.UNUSUAL_HAN_TRAFFIC,
    EventCode.FAILED_CONNECTION_ATTEMPT,
}
_WAN = {
    EventCode.COMMUNICATION_ERROR_WAN,
    EventCode.COMMUNICATION_OK_WAN,
    EventCode.MALFORMED_MESSAGE,
    EventCode.UNAUTHENTICATED_MESSAGE,
    EventCode.COMMAND_REFUSED,
    EventCode.SIM_REMOVED,
}


def default_class(code: EventCode) -> EventClass:
    """Our reading of which class an event belongs to before anyone configures it."""
    if code.category in _HIGH:
        return EventClass.HIGH
    if code.category in _MEDIUM or code in _MEDIUM_CODES:
        return EventClass.MEDIUM
    return EventClass.LOW


def module_of(code: EventCode) -> str:
    """The hub module that raises `code` (clauses 18.3, 6.4.6): "han", "wan" or "core"."""
    if code in _HAN:
        return "han"
    if code in _WAN:
        return "wan"
    return "core"


@dataclass(frozen=True)
class Rule:
    """A configured treatment, valid from `valid_from` (inclusive) until `valid_until`
    (exclusive); either end may be open (clause 18.12)."""

    treatment: Treatment
    valid_from: datetime | None = None
    valid_until: datetime | None = None

    def valid_at(self, now: datetime) -> bool:
        if self.valid_from is not None and now < self.valid_from:
            return False
        return self.valid_until is None or now < self.valid_until


@dataclass(frozen=True)
class Treatments:
    """The configured rules: per code, per class, and the class of each code."""

    by_code: Mapping[EventCode, Rule]
    by_class: Mapping[EventClass, Rule]
    class_of: Mapping[EventCode, EventClass]

    def event_class(self, code: EventCode) -> EventClass:
        return self.class_of.get(code, default_class(code))

    def treatment(self, code: EventCode, now: datetime) -> Treatment:
        if code in ALWAYS_NOW:
            return Treatment.SEND_NOW
        rule = self.by_code.get(code)
        if rule is not None and rule.valid_at(now):
            return rule.treatment
        event_class = self.event_class(code)
        rule = self.by_class.get(event_class)
        if rule is not None and rule.valid_at(now):
            return rule.treatment
        return DEFAULT_TREATMENT[event_class]

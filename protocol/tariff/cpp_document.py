"""The critical peak pricing event document (16.11), the CPP sibling of the tariff document.

    {"cpp": 1, "id": 7, "start": "2026-01-15T17:00:00+00:00", "end": "2026-01-15T19:00:00+00:00",
     "threshold_wh": 2000, "prices": ["0.50", "1.00"], "refusable": true,
     "recurrence": {"every_days": 1, "count": 5}, "label": "Winter evening peak"}

Without "start" the event is immediate (16.11.2) and starts at the `received` instant the caller
hands in; "recurrence" repeats it (16.11.4) at the same local time; "refusable" false makes it
mandatory (16.11.9).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from protocol.json_fields import JsonObject, parse_object
from protocol.tariff.fixed import UnitPrice
from protocol.tariff.model import CppEvent, CppRecurrence
from protocol.tariff.reader import MAX_ENERGY_WH, MAX_PERIOD_DAYS, Reader, iso_utc

__all__ = ["CPP_FORMAT", "cpp_event_from_json", "decode_cpp_event", "encode_cpp_event"]

CPP_FORMAT = 1


def decode_cpp_event(document: object, received: datetime, what: str = "cpp event") -> CppEvent:
    """A CPP event from its document; one without "start" is immediate and starts at
    `received` (16.11.2). The window is end > start, a recurrence repeats it (16.11.4)."""
    top = Reader(what, document)
    top.keys(
        {"cpp", "id", "end", "threshold_wh", "prices", "refusable"},
        {"start", "recurrence", "label"},
    )
    if top.obj["cpp"] != CPP_FORMAT or isinstance(top.obj["cpp"], bool):
        raise top.fail("cpp", f"the format version {CPP_FORMAT}")
    start = top.time("start") if top.has("start") else received.astimezone(UTC)
    end = top.time("end")
    if end <= start:
        raise top.fail("end", f"a time after the start {iso_utc(start)}")
    prices = top.obj["prices"]
    if not isinstance(prices, list) or len(prices) != 2:
        raise top.fail("prices", "two unit prices, below and above the threshold (16.11.5)")
    tiers = Reader(f"{what}.prices", {"1": prices[0], "2": prices[1]})
    recurrence = None
    if top.has("recurrence"):
        repeat = top.child("recurrence")
        repeat.keys({"every_days", "count"})
        recurrence = CppRecurrence(
            repeat.integer("every_days", 1, MAX_PERIOD_DAYS), repeat.integer("count", 1, 1000)
        )
        if end - start >= timedelta(days=recurrence.every_days):
            raise top.fail("end", "a window shorter than the recurrence period")
    return CppEvent(
        event_id=top.integer("id", 1, 2**32 - 1),
        start=start,
        end=end,
        threshold_wh=top.integer("threshold_wh", 0, MAX_ENERGY_WH),
        prices=(tiers.fixed("1", UnitPrice), tiers.fixed("2", UnitPrice)),
        refusable=top.boolean("refusable"),
        recurrence=recurrence,
        label=top.optional("label", top.text, "Critical peak"),
    )


def encode_cpp_event(event: CppEvent) -> JsonObject:
    doc: JsonObject = {
        "cpp": CPP_FORMAT,
        "id": event.event_id,
        "start": iso_utc(event.start),
        "end": iso_utc(event.end),
        "threshold_wh": event.threshold_wh,
        "prices": [str(p) for p in event.prices],
        "refusable": event.refusable,
        "label": event.label,
    }
    if event.recurrence is not None:
        doc["recurrence"] = {
            "every_days": event.recurrence.every_days,
            "count": event.recurrence.count,
        }
    return doc


def cpp_event_from_json(data: bytes, received: datetime, what: str = "cpp event") -> CppEvent:
    return decode_cpp_event(parse_object(what, data), received, what)

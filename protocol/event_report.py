"""One event as it leaves the component that logged it: the same shape everywhere.

A component's event log (section 18) keeps its own rows; whenever an event is shown or sent —
on the bench port, over the HAN to the hub, over the WAN to the head-end — it travels as an
`EventReport`, serialised as one JSON object:

| key      | what                                                                      |
|----------|---------------------------------------------------------------------------|
| `seq`    | the originating component's sequence number (gaps and duplicates show)    |
| `code`   | our stable event code (`protocol.event_codes`; Appendix B items and more)  |
| `ref`    | the Appendix B item ("B.5.14") or the clause asking for it ("18.11.j")     |
| `title`  | the Appendix B title                                                       |
| `utc`    | when it was logged, ISO 8601 UTC, from the component's RTC (clause 15.5)   |
| `source` | the component that logged it (clauses 18.3, 6.4.6): "esme", "hub", ...     |
| `detail` | free-form JSON object                                                      |
| `module` | optional: the module of the component that raised it (clauses 18.3, 6.4.6), |
|          | e.g. "han", "wan", "metrology"; absent when the component is not modular    |

A receiver may not know a code a newer firmware sends, which is why the reference and title
travel with it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from protocol.event_codes import EventCode
from protocol.json_fields import (
    JsonObject,
    aware_iso,
    check_keys,
    parse_object,
    require_int,
    require_object,
    require_str,
    require_time,
)

__all__ = ["EventReport"]

_KEYS = {"seq", "code", "ref", "title", "utc", "source", "detail"}
_OPTIONAL = {"module"}
#: Longest module name.
MODULE_MAX = 64


@dataclass(frozen=True)
class EventReport:
    """One logged event, as shown and sent; see the module docstring."""

    seq: int
    code: int
    ref: str
    title: str
    utc: datetime
    source: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    module: str | None = None

    WHAT = "event report"
    KEYS = frozenset(_KEYS)
    OPTIONAL = frozenset(_OPTIONAL)

    @classmethod
    def of(
        cls,
        code: EventCode,
        *,
        seq: int,
        utc: datetime,
        source: str,
        detail: Mapping[str, Any] | None = None,
        module: str | None = None,
    ) -> EventReport:
        """The report of one of our own codes, with its reference and title from the catalogue."""
        return cls(seq, int(code), code.ref, code.title, utc, source, dict(detail or {}), module)

    @property
    def event_code(self) -> EventCode | None:
        """The code as one of ours, None for a code this build does not know."""
        try:
            return EventCode(self.code)
        except ValueError:
            return None

    def to_dict(self) -> JsonObject:
        obj: JsonObject = {
            "seq": self.seq,
            "code": self.code,
            "ref": self.ref,
            "title": self.title,
            "utc": aware_iso(self.utc.astimezone(UTC)),
            "source": self.source,
            "detail": dict(self.detail),
        }
        if self.module is not None:
            obj["module"] = self.module
        return obj

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), allow_nan=False).encode()

    @classmethod
    def from_dict(cls, obj: JsonObject, what: str = WHAT) -> EventReport:
        """Validate a decoded JSON object; DecodeError naming the field if it is not a report."""
        check_keys(what, obj, _KEYS, _OPTIONAL)
        return cls(
            seq=require_int(what, obj, "seq"),
            code=require_int(what, obj, "code"),
            ref=require_str(what, obj, "ref"),
            title=require_str(what, obj, "title"),
            utc=require_time(what, obj, "utc").astimezone(UTC),
            source=require_str(what, obj, "source"),
            detail=require_object(what, obj, "detail"),
            module=require_str(what, obj, "module", max_length=MODULE_MAX)
            if "module" in obj
            else None,
        )

    @classmethod
    def from_json(cls, data: bytes) -> EventReport:
        return cls.from_dict(parse_object(cls.WHAT, data))

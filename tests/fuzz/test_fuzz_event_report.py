"""Fuzz the event report (protocol/event_report.py), the one event shape on the bench port."""

from __future__ import annotations

import json

from hypothesis import given

from protocol.event_report import EventReport
from tests.fuzz.json_documents import json_fuzzed
from tests.fuzz.mutations import decode, fuzz_settings
from tests.protocol.test_wan import events

DECODER = "event report"


@fuzz_settings(300)
@given(json_fuzzed(events.map(lambda event: json.loads(event.to_json()))))
def test_event_report(data: bytes) -> None:
    decode(DECODER, EventReport.from_json, data)

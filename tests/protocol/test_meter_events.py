"""A meter's event in PublishEvent (protocol/meter_events.py): what the hub parses is what the
meter logged, the whole PublishEvent always fits one ZCL frame, and EventData that is not ours
is refused with our own error (clauses 18.3, 6.4.6, 18.11.j)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware.zcl.frame import MAX_ZCL_PAYLOAD, cluster_command_header
from protocol.errors import DecodeError
from protocol.event_codes import EventCode
from protocol.meter_events import PublishedEvent
from protocol.se import Events

_PUBLISH = Events.ClientCommandDefs.publish_event
json_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=40)
)
keys = st.text(min_size=1, max_size=12).filter(lambda k: k != "trim")
details = st.dictionaries(keys, json_values, max_size=6)
instants = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2130, 1, 1), timezones=st.just(UTC)
)


def wire(event: PublishedEvent) -> tuple[bytes, Any]:
    """The whole ZCL frame the meter sends, and the fields the hub parses back."""
    frame = bytes(
        cluster_command_header(
            7, _PUBLISH.id, to_server=False, disable_default_response=False
        ).serialize()
        + _PUBLISH.schema(**event.fields()).serialize()
    )
    fields, rest = _PUBLISH.schema.deserialize(frame[3:])
    assert rest == b""
    return frame, fields


@pytest.mark.req("18.3", "6.4.6")
@given(
    seq=st.integers(1, 2**32 - 1),
    code=st.sampled_from(list(EventCode)),
    utc=instants,
    module=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=20),
    detail=details,
)
def test_what_the_hub_parses_is_what_the_meter_logged_and_it_fits_one_frame(
    seq: int, code: EventCode, utc: datetime, module: str, detail: dict[str, Any]
) -> None:
    event = PublishedEvent(seq, int(code), utc, module, detail)
    frame, fields = wire(event)
    assert len(frame) <= MAX_ZCL_PAYLOAD
    parsed = PublishedEvent.parse(
        int(fields.event_id), int(fields.event_time), bytes(fields.event_data)
    )
    assert (parsed.seq, parsed.code, parsed.module) == (seq, int(code), module[:12])
    assert parsed.utc == utc.replace(microsecond=0)
    if parsed.detail.get("trim") == 1:  # what it kept is the meter's, as it was
        assert all(detail[k] == v for k, v in parsed.detail.items() if k != "trim")
    else:
        assert parsed.detail == detail


@pytest.mark.req("18.3")
def test_a_long_detail_keeps_what_fits_and_says_it_was_trimmed() -> None:
    event = PublishedEvent(
        9,
        int(EventCode.METER_COVER_REMOVED),
        datetime(2026, 6, 1, tzinfo=UTC),
        "tamper",
        {"input": "meter_cover", "payload": "ab" * 100},
    )
    _frame, fields = wire(event)
    parsed = PublishedEvent.parse(
        int(fields.event_id), int(fields.event_time), bytes(fields.event_data)
    )
    assert parsed.detail == {"input": "meter_cover", "trim": 1}


@pytest.mark.req("18.11.j")
@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "sequence, module and detail"),
        (b"\x00\x00\x00\x00\x00", "a sequence number from 1"),
        (b"\x01\x00\x00\x00\x00{no", "a JSON detail"),
        (b"\x01\x00\x00\x00\x00[1]", "a JSON object detail"),
        (b"\x01\x00\x00\x00\x09ab", "sequence, module and detail"),
    ],
)
def test_event_data_that_is_not_ours_is_refused_with_our_error(data: bytes, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        PublishedEvent.parse(605, 0, data)


def test_event_time_is_zcl_utctime() -> None:
    event = PublishedEvent(1, 101, datetime(2000, 1, 1, 0, 1, 40, tzinfo=UTC))
    assert event.fields()["event_time"] == 100
    assert PublishedEvent.parse(101, 100, b"\x01\x00\x00\x00\x00").utc == event.utc
    assert event.utc + timedelta(0) == datetime(2000, 1, 1, 0, 1, 40, tzinfo=UTC)

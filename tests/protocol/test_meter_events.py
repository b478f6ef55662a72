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
EPOCH = b"\x07\x00\x00\x00"
json_values = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**40), 2**40), st.text(max_size=40)
)
keys = st.text(min_size=1, max_size=12).filter(lambda k: k not in ("trim", "at"))
details = st.dictionaries(keys, json_values, max_size=6)
instants = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2300, 1, 1), timezones=st.just(UTC)
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
    epoch=st.integers(0, 2**32 - 1),
    code=st.sampled_from(list(EventCode)),
    utc=instants,
    module=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", max_size=20),
    detail=details,
)
def test_what_the_hub_parses_is_what_the_meter_logged_and_it_fits_one_frame(
    seq: int, epoch: int, code: EventCode, utc: datetime, module: str, detail: dict[str, Any]
) -> None:
    """Whatever the RTC said (a clock reset to 1970 included) and whatever the detail."""
    event = PublishedEvent(seq, int(code), utc, module, detail, epoch)
    frame, fields = wire(event)
    assert len(frame) <= MAX_ZCL_PAYLOAD
    parsed = PublishedEvent.parse(
        int(fields.event_id), int(fields.event_time), bytes(fields.event_data)
    )
    assert (parsed.seq, parsed.epoch, parsed.code) == (seq, epoch, int(code))
    assert parsed.module == module[:12]
    assert parsed.utc == utc.replace(microsecond=0)
    # What it kept is the meter's, as it was; anything left out is said, unless the true stamp
    # of a time UTCTime cannot hold took all the room.
    assert all(detail[k] == v for k, v in parsed.detail.items() if k != "trim")
    if parsed.detail != detail:
        clamped = fields.event_time in (0, 0xFFFFFFFE)
        assert parsed.detail.get("trim") == 1 or (clamped and parsed.detail == {})


@pytest.mark.req("18.3")
def test_a_long_detail_keeps_what_fits_and_says_it_was_trimmed() -> None:
    event = PublishedEvent(
        9,
        int(EventCode.METER_COVER_REMOVED),
        datetime(2026, 6, 1, tzinfo=UTC),
        "tamper",
        {"input": "cover", "payload": "ab" * 100},
    )
    _frame, fields = wire(event)
    parsed = PublishedEvent.parse(
        int(fields.event_id), int(fields.event_time), bytes(fields.event_data)
    )
    assert parsed.detail == {"input": "cover", "trim": 1}


@pytest.mark.req("18.11.j")
@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"", "sequence, module and detail"),
        (b"\x00\x00\x00\x00" + EPOCH + b"\x00", "a sequence number from 1"),
        (b"\x01\x00\x00\x00" + EPOCH + b"\x00{no", "a JSON detail"),
        (b"\x01\x00\x00\x00" + EPOCH + b"\x00[1]", "a JSON object detail"),
        (b"\x01\x00\x00\x00" + EPOCH + b"\x09ab", "sequence, module and detail"),
        (b"\x01\x00\x00\x00" + EPOCH + b'\x00{"a":NaN}', "a JSON detail"),
        (b"\x01\x00\x00\x00" + EPOCH + b'\x00{"a":-Infinity}', "a JSON detail"),
    ],
)
def test_event_data_that_is_not_ours_is_refused_with_our_error(data: bytes, why: str) -> None:
    with pytest.raises(DecodeError, match=why):
        PublishedEvent.parse(605, 0, data)


def test_event_time_is_zcl_utctime() -> None:
    event = PublishedEvent(1, 101, datetime(2000, 1, 1, 0, 1, 40, tzinfo=UTC))
    assert event.fields()["event_time"] == 100
    assert PublishedEvent.parse(101, 100, b"\x01\x00\x00\x00" + EPOCH + b"\x00").utc == event.utc
    assert event.utc + timedelta(0) == datetime(2000, 1, 1, 0, 1, 40, tzinfo=UTC)


@pytest.mark.req("18.2")
def test_a_stamp_utctime_cannot_hold_travels_in_the_detail() -> None:
    """An RTC reset to 1970: EventTime is clamped, the true stamp goes in the detail, and the
    hub reads the true stamp back; a detail that is not strict JSON is never sent."""
    reset = datetime(1970, 1, 1, 0, 0, 5, tzinfo=UTC)
    fields = PublishedEvent(3, int(EventCode.CLOCK_INVALID), reset, "clock", {"n": 1}).fields()
    assert fields["event_time"] == 0
    parsed = PublishedEvent.parse(fields["event_id"], 0, fields["event_data"])
    assert (parsed.utc, parsed.detail) == (reset, {"n": 1})
    nan = PublishedEvent(4, int(EventCode.CLOCK_INVALID), reset, "clock", {"x": float("nan")})
    assert PublishedEvent.parse(605, 0, nan.fields()["event_data"]).detail == {}

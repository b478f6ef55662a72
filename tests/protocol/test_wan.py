"""WAN topics and envelopes (protocol/wan.py): round trips, wire vectors, strict decoding."""

from __future__ import annotations

import json
import secrets
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError, LocalProtocolError
from protocol.event_codes import EventCode
from protocol.event_report import EventReport
from protocol.wan import (
    AckStatus,
    Channel,
    CommandAck,
    CommandResult,
    CommandType,
    HubState,
    HubStatus,
    WanCommand,
    all_hubs_topic,
    check_hub_id,
    event_from_json,
    event_to_json,
    parse_topic,
    peek_request_id,
    request_id,
    topic,
)

REQUEST_ID = "0f8fad5b-d9cb-469f-a165-70867728950e"

# -- strategies -----------------------------------------------------------------------------------

hub_ids = st.from_regex(r"[A-Za-z0-9._:-]{1,64}", fullmatch=True)
request_ids = st.uuids().map(str)
texts = st.text(min_size=1, max_size=40)
times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, timezone(timedelta(hours=1)), timezone(timedelta(hours=-5))]),
)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
json_objects = st.dictionaries(st.text(max_size=10), json_values, max_size=5)

commands = st.builds(
    WanCommand,
    id=request_ids,
    type=st.sampled_from(CommandType),
    device=texts,
    issued_at=times,
    args=json_objects,
)
acks = st.one_of(
    st.builds(
        CommandAck, id=request_ids, status=st.just(AckStatus.ACCEPTED), reason=st.none() | texts
    ),
    st.builds(CommandAck, id=request_ids, status=st.just(AckStatus.REJECTED), reason=texts),
)
results = st.one_of(
    st.builds(CommandResult, id=request_ids, ok=st.just(True), data=json_objects),
    st.builds(CommandResult, id=request_ids, ok=st.just(False), error=texts),
)
statuses = st.builds(HubStatus, state=st.sampled_from(HubState), at=times)
events = st.builds(
    EventReport,
    seq=st.integers(0, 2**63),
    code=st.integers(0, 0xFFFF),
    ref=texts,
    title=texts,
    utc=times.map(lambda t: t.astimezone(UTC)),
    source=texts,
    detail=json_objects,
)


@given(envelope=st.one_of(commands, acks, results, statuses))
def test_round_trip_parse_build_parse(
    envelope: WanCommand | CommandAck | CommandResult | HubStatus,
) -> None:
    wire = envelope.to_json()
    decoded = type(envelope).from_json(wire)
    assert decoded == envelope
    assert decoded.to_json() == wire
    assert json.loads(wire)["v"] == 1


@given(event=events)
def test_events_round_trip_in_their_envelope(event: EventReport) -> None:
    wire = event_to_json(event)
    assert json.loads(wire)["v"] == 1
    decoded = event_from_json(wire)
    assert decoded == event
    assert event_to_json(decoded) == wire


@given(hub_id=hub_ids, channel=st.sampled_from(Channel))
def test_topic_round_trip(hub_id: str, channel: Channel) -> None:
    assert parse_topic(topic(hub_id, channel)) == (hub_id, channel)


# -- wire vectors -------------------------------------------------------------------------------


def test_topics_are_versioned_per_hub() -> None:
    assert topic("hub-1", Channel.STATUS) == "smartmeter/v1/hub-1/status"
    assert topic("hub-1", Channel.CMD) == "smartmeter/v1/hub-1/cmd"
    assert all_hubs_topic(Channel.RESULT) == "smartmeter/v1/+/result"


@pytest.mark.parametrize("hub_id", ["", "a/b", "+", "#", "hub 1", "x" * 65])
def test_hub_id_must_be_one_topic_level(hub_id: str) -> None:
    with pytest.raises(LocalProtocolError):
        check_hub_id(hub_id)


@pytest.mark.parametrize(
    "name", ["smartmeter/v2/h/cmd", "smartmeter/v1/h/nope", "smartmeter/v1/h", "other/v1/h/ack"]
)
def test_foreign_topics_are_refused(name: str) -> None:
    with pytest.raises(DecodeError, match="WAN topic"):
        parse_topic(name)


def test_command_from_the_wire() -> None:
    wire = (
        b'{"v":1,"id":"0f8fad5b-d9cb-469f-a165-70867728950e","type":"read","device":"esme",'
        b'"args":{},"issued_at":"2025-01-01T12:00:00Z"}'
    )
    command = WanCommand.from_json(wire)
    assert command.type is CommandType.READ
    assert command.device == "esme"
    assert command.issued_at == datetime(2025, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    ("name", "kind"), [("remove", CommandType.REMOVE), ("commission", CommandType.COMMISSION)]
)
def test_removal_commands_keep_the_v1_envelope(name: str, kind: CommandType) -> None:
    wire = (
        b'{"v":1,"id":"0f8fad5b-d9cb-469f-a165-70867728950e","type":"' + name.encode() + b'",'
        b'"device":"gsme","args":{},"issued_at":"2025-01-01T12:00:00Z"}'
    )
    command = WanCommand.from_json(wire)
    assert command.type is kind
    assert command.device == "gsme"
    again = WanCommand.from_json(command.to_json())
    assert again == command
    assert json.loads(command.to_json())["type"] == name


def test_ack_and_result_shapes() -> None:
    assert json.loads(CommandAck(REQUEST_ID, AckStatus.ACCEPTED).to_json()) == {
        "v": 1,
        "id": REQUEST_ID,
        "status": "accepted",
    }
    assert json.loads(CommandResult(REQUEST_ID, ok=False, error="boom").to_json()) == {
        "v": 1,
        "id": REQUEST_ID,
        "ok": False,
        "error": "boom",
    }


# -- strict decoding ------------------------------------------------------------------------------

GOOD = {
    "v": 1,
    "id": REQUEST_ID,
    "type": "read",
    "device": "esme",
    "args": {},
    "issued_at": "2025-01-01T12:00:00+00:00",
}


def _with(**changes: object) -> bytes:
    obj = {**GOOD, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not ...}).encode()


@pytest.mark.parametrize(
    ("wire", "complaint"),
    [
        (b"not json", "UTF-8 JSON object"),
        (b"\xff\xfe", "UTF-8 JSON object"),
        (b"[1, 2]", "JSON object"),
        (_with(v=2), '"v": 1'),
        (_with(v=...), '"v": 1'),
        (_with(id=...), "no ['id']"),
        (_with(id="42"), "UUID"),
        (_with(id=REQUEST_ID.upper()), "UUID"),
        (_with(type="explode"), "one of read"),
        (_with(device=""), "non-empty string"),
        (_with(args=[]), '"args" a JSON object'),
        (_with(issued_at="2025-01-01T12:00:00"), "UTC offset"),
        (_with(issued_at="yesterday"), "ISO 8601"),
        (_with(extra=1), "only keys"),
        (_with(args={"x": float("nan")}), "JSON object"),
    ],
)
def test_malformed_commands_raise_decode_error(wire: bytes, complaint: str) -> None:
    with pytest.raises(DecodeError) as caught:
        WanCommand.from_json(wire)
    assert complaint in str(caught.value)
    assert caught.value.what == "WAN command"


def test_request_id_is_recovered_from_a_refused_command() -> None:
    assert peek_request_id(_with(type="explode")) == REQUEST_ID
    assert peek_request_id(_with(id="42")) is None
    assert peek_request_id(b"garbage") is None


def test_result_needs_data_when_ok_and_error_when_not() -> None:
    with pytest.raises(DecodeError, match='"data" and no "error"'):
        CommandResult.from_json(json.dumps({"v": 1, "id": REQUEST_ID, "ok": True}).encode())
    with pytest.raises(DecodeError, match='"error" and no "data"'):
        CommandResult.from_json(
            json.dumps({"v": 1, "id": REQUEST_ID, "ok": False, "data": {}}).encode()
        )
    with pytest.raises(LocalProtocolError):
        CommandResult(REQUEST_ID, ok=True, data={}, error="both")


def test_rejection_needs_a_reason() -> None:
    wire = json.dumps({"v": 1, "id": REQUEST_ID, "status": "rejected"}).encode()
    with pytest.raises(DecodeError, match="reason"):
        CommandAck.from_json(wire)


def test_an_event_envelope_is_the_one_event_shape_and_is_checked() -> None:
    utc = datetime(2025, 6, 1, 8, 30, tzinfo=UTC)
    event = EventReport.of(EventCode.POWER_UP, seq=3, utc=utc, source="esme", detail={"x": 1})
    body = json.loads(event_to_json(event))
    assert body == {"v": 1, **event.to_dict()}
    assert body["ref"] == "B.1.1" and body["title"] == "Power up" and body["code"] == 101
    with pytest.raises(DecodeError, match="non-negative integer"):
        event_from_json(json.dumps({**body, "seq": True}).encode())
    with pytest.raises(DecodeError, match="only keys"):
        event_from_json(json.dumps({**body, "name": "POWER_UP"}).encode())
    with pytest.raises(DecodeError, match="UTC offset"):
        event_from_json(json.dumps({**body, "utc": "2025-06-01T08:30:00"}).encode())


def test_naive_timestamps_are_refused_on_the_way_out() -> None:
    command = WanCommand(
        request_id(secrets.token_bytes(16)), CommandType.READ, "esme", datetime(2025, 1, 1)
    )
    with pytest.raises(LocalProtocolError, match="UTC offset"):
        command.to_json()

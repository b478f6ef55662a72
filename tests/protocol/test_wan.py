"""WAN topics and envelopes (protocol/wan.py): round trips, wire vectors, strict decoding."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError, LocalProtocolError
from protocol.event_codes import EventCode
from protocol.event_report import EventReport
from protocol.wan import (
    COMMAND_MAX_BYTES,
    AckStatus,
    Channel,
    CommandAck,
    CommandResult,
    CommandType,
    HubState,
    HubStatus,
    UplinkAck,
    UplinkKind,
    UplinkMessage,
    WanCommand,
    all_hubs_topic,
    check_hub_id,
    event_from_json,
    event_to_json,
    fit_text,
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
    module=st.none() | texts,
)
uplinks = st.builds(
    UplinkMessage,
    source=texts,
    seq=st.integers(1, 2**63),
    kind=st.sampled_from(UplinkKind),
    at=times,
    body=json_objects,
)
uplink_acks = st.builds(UplinkAck, source=texts, upto=st.integers(0, 2**63))


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


# -- bounds: depth, size, string lengths, what is echoed ----------------------------------------

DEEP_ARRAY = b"[" * 1000 + b"]" * 1000  # 2 KB that made the standard parser recurse 1000 deep


def _deep_command(levels: int) -> bytes:
    """A command whose `args` nest `levels` objects deep, everything else well-formed."""
    args = b'{"a":' * levels + b"1" + b"}" * levels
    return _with(args={}).replace(b'"args": {}', b'"args": ' + args)


@pytest.mark.parametrize(
    "decode",
    [
        WanCommand.from_json,
        CommandAck.from_json,
        CommandResult.from_json,
        HubStatus.from_json,
        event_from_json,
        EventReport.from_json,
    ],
)
def test_deep_nesting_is_refused_before_parsing(decode: Callable[[bytes], object]) -> None:
    for wire in (DEEP_ARRAY, b'{"v":' + DEEP_ARRAY + b"}"):
        with pytest.raises(DecodeError, match="nested at most 32 deep"):
            decode(wire)


def test_nesting_within_the_bound_still_parses() -> None:
    assert WanCommand.from_json(_deep_command(31)).type is CommandType.READ
    with pytest.raises(DecodeError, match="nested"):
        WanCommand.from_json(_deep_command(32))


def test_brackets_inside_strings_are_not_nesting() -> None:
    command = WanCommand.from_json(_with(args={"note": "[" * 500 + '{\\"' * 100}))
    assert command.args["note"].startswith("[[[")


def test_peek_request_id_never_raises_and_reads_refused_commands() -> None:
    assert peek_request_id(DEEP_ARRAY) is None
    assert peek_request_id(b'{"id":' + DEEP_ARRAY + b"}") is None
    assert peek_request_id(_deep_command(1000)) == REQUEST_ID
    assert peek_request_id(_with(device="x" * (1 << 20))) == REQUEST_ID
    assert peek_request_id(_with(args={"id": "0" * 36}, id=...)) is None  # not a top-level id
    assert peek_request_id(b'{"id": "' + REQUEST_ID.encode()) is None  # the string never ends
    assert peek_request_id(b'{"x": 1, "id": "' + REQUEST_ID.encode() + b'"') == REQUEST_ID


@pytest.mark.parametrize("version", [True, 1.0, "1", None])
def test_version_is_the_json_integer_1(version: object) -> None:
    with pytest.raises(DecodeError, match='"v": 1'):
        WanCommand.from_json(_with(v=version))


def test_an_oversized_command_is_refused_unread() -> None:
    with pytest.raises(DecodeError, match=f"at most {COMMAND_MAX_BYTES} octets") as caught:
        WanCommand.from_json(_with(device="x" * (1 << 20)))
    assert len(str(caught.value)) < 200


def test_a_long_device_name_is_refused_and_not_echoed() -> None:
    assert WanCommand.from_json(_with(device="d" * 64)).device == "d" * 64
    with pytest.raises(DecodeError, match='"device" a non-empty string of at most 64') as caught:
        WanCommand.from_json(_with(device="d" * 65))
    with pytest.raises(DecodeError) as long_type:
        WanCommand.from_json(_with(type="t" * 3000))
    known = len(", ".join(kind.value for kind in CommandType))
    for error in (caught.value, long_type.value):
        # Bounded whatever came (the known command types are listed, not the input).
        assert len(str(error)) < 200 + known


def test_a_decode_error_message_is_bounded() -> None:
    error = DecodeError("frame", "something", b"\x00" * 100_000)
    assert len(str(error)) < 400 and error.got == b"\x00" * 100_000


def test_what_the_hub_sends_back_fits_what_the_head_end_reads() -> None:
    error = fit_text("internal error: " + "x" * 5000)
    assert len(error) == 1024 and error.endswith("...")
    assert fit_text("short") == "short"
    result = CommandResult(REQUEST_ID, ok=False, error=error)
    assert CommandResult.from_json(result.to_json()) == result
    too_long = json.dumps({"v": 1, "id": REQUEST_ID, "ok": False, "error": "x" * 1025})
    with pytest.raises(DecodeError, match='"error" a non-empty string of at most 1024'):
        CommandResult.from_json(too_long.encode())


@given(uplinks)
def test_uplink_messages_round_trip(message: UplinkMessage) -> None:
    assert UplinkMessage.from_json(message.to_json()) == message


@given(uplink_acks)
def test_uplink_acks_round_trip(ack: UplinkAck) -> None:
    assert UplinkAck.from_json(ack.to_json()) == ack


def test_an_uplink_carries_a_result_or_an_event_in_their_own_shapes() -> None:
    result = CommandResult(REQUEST_ID, ok=True, data={"x": 1})
    event = EventReport.of(
        EventCode.SIM_REMOVED, seq=4, utc=datetime(2026, 1, 1, tzinfo=UTC), source="hub",
        module="wan",
    )  # fmt: skip
    at = datetime(2026, 1, 1, tzinfo=UTC)
    carried = UplinkMessage("hub", 1, UplinkKind.RESULT, at, result.to_dict())
    assert UplinkMessage.from_json(carried.to_json()).result() == result
    alert = UplinkMessage("hub", 2, UplinkKind.ALERT, at, event.to_dict())
    assert UplinkMessage.from_json(alert.to_json()).event() == event
    assert json.loads(alert.to_json())["body"]["module"] == "wan"
    with pytest.raises(LocalProtocolError):
        carried.event()
    with pytest.raises(DecodeError, match="ok"):
        UplinkMessage("hub", 3, UplinkKind.RESULT, at, {"id": REQUEST_ID}).result()


@pytest.mark.parametrize(
    "wire",
    [
        b'{"v":1,"source":"hub","seq":0,"kind":"event","at":"2026-01-01T00:00:00Z","body":{}}',
        b'{"v":1,"source":"hub","seq":1,"kind":"gossip","at":"2026-01-01T00:00:00Z","body":{}}',
        b'{"v":1,"source":"hub","seq":1,"kind":"event","at":"2026-01-01T00:00:00","body":{}}',
        b'{"v":1,"source":"","seq":1,"kind":"event","at":"2026-01-01T00:00:00Z","body":{}}',
        b'{"v":1,"source":"hub","seq":1,"kind":"event","at":"2026-01-01T00:00:00Z","body":[]}',
        b'{"v":1,"source":"hub","upto":-1}',
        b'{"v":1,"source":"hub","upto":1,"extra":0}',
    ],
)
def test_malformed_uplinks_and_acks_raise_decode_error(wire: bytes) -> None:
    decode = UplinkAck.from_json if b"upto" in wire else UplinkMessage.from_json
    with pytest.raises(DecodeError):
        decode(wire)


def test_an_event_without_a_module_keeps_the_first_shape() -> None:
    event = EventReport.of(
        EventCode.POWER_UP, seq=1, utc=datetime(2026, 1, 1, tzinfo=UTC), source="hub"
    )
    assert "module" not in event.to_dict()
    assert event_from_json(event_to_json(event)) == event

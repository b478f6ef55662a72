"""Fuzz the WAN envelopes (protocol/wan.py): every envelope's `from_json`, `event_from_json`,
`peek_request_id` (documented never to raise: it may not even raise DecodeError) and topics."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.wan import (
    Channel,
    CommandAck,
    CommandResult,
    HubStatus,
    UplinkAck,
    UplinkMessage,
    WanCommand,
    event_from_json,
    event_to_json,
    parse_topic,
    peek_request_id,
    topic,
)
from tests.fuzz.json_documents import json_fuzzed
from tests.fuzz.mutations import decode, fuzz_settings, fuzzed
from tests.protocol.test_wan import (
    acks,
    commands,
    events,
    hub_ids,
    results,
    statuses,
    uplink_acks,
    uplinks,
)

DECODER = "WAN"


def _objects(envelopes: st.SearchStrategy[Any]) -> st.SearchStrategy[dict[str, Any]]:
    return envelopes.map(lambda envelope: json.loads(envelope.to_json()))


ENVELOPES: dict[str, tuple[Callable[[bytes], object], st.SearchStrategy[dict[str, Any]]]] = {
    "command": (WanCommand.from_json, _objects(commands)),
    "ack": (CommandAck.from_json, _objects(acks)),
    "result": (CommandResult.from_json, _objects(results)),
    "status": (HubStatus.from_json, _objects(statuses)),
    "event": (event_from_json, events.map(lambda event: json.loads(event_to_json(event)))),
    "uplink": (UplinkMessage.from_json, _objects(uplinks)),
    "uplink_ack": (UplinkAck.from_json, _objects(uplink_acks)),
}


@pytest.mark.parametrize("envelope", sorted(ENVELOPES))
@fuzz_settings(200)
@given(data=st.data())
def test_envelope(envelope: str, data: st.DataObject) -> None:
    entry, valid = ENVELOPES[envelope]
    decode(DECODER, entry, data.draw(json_fuzzed(valid)))


@fuzz_settings(300)
@given(json_fuzzed(ENVELOPES["command"][1]))
def test_peek_request_id_never_raises(data: bytes) -> None:
    found = decode(DECODER, peek_request_id, data, allowed=())
    assert found is None or len(found) == 36


@fuzz_settings(200)
@given(
    st.text(max_size=80)
    | st.builds(topic, hub_ids, st.sampled_from(Channel))
    | fuzzed(st.builds(topic, hub_ids, st.sampled_from(Channel)).map(str.encode)).map(
        lambda raw: raw.decode("utf-8", errors="replace")
    )
)
def test_topic(name: str) -> None:
    decode(DECODER, parse_topic, name)

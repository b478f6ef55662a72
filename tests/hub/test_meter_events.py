"""The hub's intake of its meters' events (hub/meter_events.py, hub/han/event_client.py): each
event once, whatever is published again; treated as configured, tamper at once; in the meter's
own stream, in the meter's order; with the meter and its module as origin (clauses 18.3, 6.4.6,
18.6, 18.8, 19.1.6)."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from zigpy.zcl import foundation

from firmware.zcl.frame import ZclFrame, cluster_command_header
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hub.han.event_client import Intake, answer_publish_event
from hub.hub_config import HubConfig
from hub.meter_events import MeterEvents
from hub.outbox import Outbox
from protocol.event_codes import EventCode
from protocol.meter_events import PublishedEvent
from protocol.se import Events
from protocol.wan import UplinkKind
from tests.hub.loopback_wan import LoopbackWan

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
_PUBLISH = Events.ClientCommandDefs.publish_event


@pytest.fixture
def intake(tmp_path: Path) -> Iterator[tuple[MeterEvents, HubConfig, Outbox]]:
    store = SqliteStore(tmp_path / "hub.sqlite")
    clock = ManualClock(NOW)
    outbox = Outbox(store, LoopbackWan(tmp_path / "headend.sqlite"), clock)
    config = HubConfig(store, clock, outbox, {"esme", "gsme"})
    yield MeterEvents(store, clock, outbox, config), config, outbox
    store.close()


def event(seq: int, code: EventCode, module: str = "tamper") -> PublishedEvent:
    return PublishedEvent(seq, int(code), NOW, module, {"input": "meter_cover"})


@pytest.mark.req("18.6", "19.1.6", "18.3", "6.4.6")
def test_an_event_published_again_is_kept_once_in_the_meters_stream(
    intake: tuple[MeterEvents, HubConfig, Outbox],
) -> None:
    events, _config, outbox = intake
    for seq in (1, 1, 2, 1, 2):  # answers lost on the air, or a hub killed before answering
        events.take("esme", event(seq, EventCode.METER_COVER_REMOVED))
    sent = outbox.pending("esme")
    assert [m.event().seq for m in sent] == [1, 2]
    assert all(m.kind is UplinkKind.ALERT for m in sent)
    report = sent[0].event()
    assert (report.source, report.module, report.title) == ("esme", "tamper", "Meter cover removed")
    assert outbox.pending("hub") == [] and events.taken("esme") == 2 and events.taken("gsme") == 0


@pytest.mark.req("18.8", "18.6")
def test_meter_events_are_treated_as_configured_and_stay_in_the_meters_order(
    intake: tuple[MeterEvents, HubConfig, Outbox],
) -> None:
    events, config, outbox = intake
    config.set(f"events.code.{int(EventCode.DST_ENABLED)}", "log_only", by="local")
    events.take("esme", event(1, EventCode.TOU_ACTIVATED, "tariff"))  # low: next exchange
    events.take("esme", event(2, EventCode.DST_ENABLED, "clock"))  # log only
    assert outbox.pending("esme") == [] and outbox.held_count() == 1
    # A tamper goes at once (18.6) and takes the held event along, ahead of it.
    events.take("esme", event(3, EventCode.METER_COVER_REMOVED))
    sent = outbox.pending("esme")
    assert [(m.kind, m.event().seq) for m in sent] == [
        (UplinkKind.EVENT, 1),
        (UplinkKind.ALERT, 3),
    ]
    assert outbox.held_count() == 0 and events.taken("esme") == 3


def frame(body: bytes, command_id: int = _PUBLISH.id) -> ZclFrame:
    header = cluster_command_header(5, command_id, to_server=False, disable_default_response=False)
    return ZclFrame.parse(bytes(header.serialize()) + body)


def status_of(reply: bytes | None) -> foundation.Status:
    assert reply is not None
    parsed = ZclFrame.parse(reply)
    assert parsed.tsn == 5 and parsed.to_server
    response, _ = foundation.DefaultResponse.deserialize(parsed.body)
    status: foundation.Status = response.status
    return status


@pytest.mark.req("18.11.j")
def test_the_hub_answers_success_only_once_stored_and_refuses_what_is_not_a_meters(
    intake: tuple[MeterEvents, HubConfig, Outbox],
) -> None:
    events, _config, outbox = intake
    logged: list[tuple[EventCode, dict[str, Any]]] = []
    meters = frozenset({"esme", "gsme"})
    good = _PUBLISH.schema(**event(1, EventCode.METER_COVER_REMOVED).fields()).serialize()

    def answer(sender: str | None, body: bytes, command_id: int = _PUBLISH.id) -> Any:
        reply = answer_publish_event(
            frame(body, command_id), sender, events.take, lambda c, d: logged.append((c, d)), meters
        )
        return status_of(reply)

    assert answer("ihd", good) == foundation.Status.NOT_AUTHORIZED
    assert answer(None, good) == foundation.Status.NOT_AUTHORIZED
    assert answer("esme", good[:-3] + b"\x02{]") == foundation.Status.MALFORMED_COMMAND
    assert [code for code, _ in logged] == [
        EventCode.UNAUTHENTICATED_MESSAGE,
        EventCode.UNAUTHENTICATED_MESSAGE,
        EventCode.MALFORMED_MESSAGE,
    ]
    assert answer("esme", good, command_id=0x01) == foundation.Status.UNSUP_CLUSTER_COMMAND
    assert outbox.pending() == []

    def failing(_meter: str, _event: PublishedEvent) -> Intake:
        raise sqlite3.OperationalError("disk I/O error")

    # A store that fails answers nothing (the meter publishes again): never SUCCESS.
    with pytest.raises(sqlite3.OperationalError):
        answer_publish_event(frame(good), "esme", failing, lambda c, d: None, meters)
    assert outbox.pending() == []
    assert answer("esme", good) == foundation.Status.SUCCESS
    assert [m.source for m in outbox.pending()] == ["esme"]


publishings = st.lists(
    st.tuples(
        st.integers(0, 2),  # 0: the next event; 1: the last one again; 2: skip one (a cleared log)
        st.sampled_from(
            [EventCode.METER_COVER_REMOVED, EventCode.TOU_ACTIVATED, EventCode.DST_ENABLED]
        ),
    ),
    max_size=30,
)


@pytest.mark.req("19.1.6", "18.6")
@settings(max_examples=40, deadline=None)
@given(publishings)
def test_whatever_is_published_again_each_event_is_kept_once_in_the_meters_order(
    publishing: list[tuple[int, EventCode]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStore(Path(folder) / "hub.sqlite")
        clock = ManualClock(NOW)
        outbox = Outbox(store, LoopbackWan(Path(folder) / "headend.sqlite"), clock)
        config = HubConfig(store, clock, outbox, {"esme"})
        config.set(f"events.code.{int(EventCode.DST_ENABLED)}", "log_only", by="local")
        events = MeterEvents(store, clock, outbox, config)
        seq, kept = 0, []
        for step, code in publishing:
            if step == 1 and seq:
                events.take("esme", event(seq, code))  # a redelivery: the hub holds it already
                continue
            seq += 2 if step == 2 else 1
            events.take("esme", event(seq, code))
            if code is not EventCode.DST_ENABLED:
                kept.append(seq)
        outbox.release()
        sent = [m.event().seq for m in outbox.pending("esme")]
        store.close()
    assert sent == kept
    assert sent == sorted(set(sent))

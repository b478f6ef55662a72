"""A hub store written by the previous release (commit 42f79ec, outbox schema 1: no recipient
per message) or by the first meter-events commit (marks without epochs) opens with this code
with nothing lost and nothing sent twice (hub/outbox.py, hub/wan_security.py,
hub/meter_events.py; 19.1.6).

The stores are real SQLite files written with the old DDL (`tests.old_store`); the head-end is
the real head-end store, and every acknowledgement goes through the hub's sealed WAN as the
head-end sends it: sealed by the party the message went to."""

from __future__ import annotations

import itertools
import json
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from firmware.wan_parties import all_parties, hub_parties, operator_of, suppliers_of
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hal.real.wan_keys import load_directory, load_keys, load_ring, provision
from hub.han.event_client import Intake
from hub.hub_config import HubConfig
from hub.meter_events import MeterEvents
from hub.outbox import Outbox
from hub.wan_roles import DeviceRoles
from hub.wan_security import HubWanSecurity
from protocol.event_codes import EventCode
from protocol.event_report import EventReport
from protocol.meter_events import PublishedEvent
from protocol.wan import Channel, UplinkAck, UplinkKind, UplinkMessage
from protocol.wan_security import hub_party, peek_header, seal
from tests.hub.loopback_wan import HUB_ID, LoopbackWan
from tests.old_store import METER_EVENTS_V1, OUTBOX_V1, Row, kv, write_old_store
from tests.wan_probe import two_supplier_rig
from tools.headend.store import HeadendStore

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)

#: What each old message is, per stream (seq from 1; the stream's acked_seq is 0).
EVENT = EventReport.of(
    EventCode.METER_COVER_REMOVED, seq=7, utc=NOW, source="esme", detail={}, module="tamper"
).to_dict()
OLD_STREAMS: dict[str, list[tuple[UplinkKind, dict[str, Any]]]] = {
    "esme": [(UplinkKind.ALERT, EVENT), (UplinkKind.READING, {"device": "esme", "n": 2})],
    "gsme": [(UplinkKind.READING, {"device": "gsme", "n": 1})],
    # The hub's one stream held everything it wrote: the operator's and a supplier's result.
    "hub": [
        (UplinkKind.SYNC, {"clock": NOW.isoformat()}),
        (UplinkKind.RESULT, {"id": "cmd-1", "ok": True, "data": {}}),
        (UplinkKind.CONFIG_CHANGE, {"key": "retry.count", "value": 3, "by": "remote"}),
    ],
}


def old_outbox_rows() -> list[Row]:
    rows: list[Row] = []
    for source, messages in OLD_STREAMS.items():
        for seq, (kind, body) in enumerate(messages, start=1):
            rows.append(
                (
                    "INSERT INTO outbox (source, seq, kind, at, body) VALUES (?, ?, ?, ?, ?)",
                    (source, seq, kind.value, NOW.isoformat(), json.dumps(body)),
                )
            )
        rows.append(
            (
                "INSERT INTO outbox_streams (source, last_seq, acked_seq) VALUES (?, ?, 0)",
                (source, len(messages)),
            )
        )
    return rows


@pytest.fixture
def rig(tmp_path: Path) -> Rig:
    loaded = load_rig(two_supplier_rig(tmp_path))
    provision(loaded.keys_dir, all_parties(loaded))
    return loaded


@pytest.fixture
def old_hub(rig: Rig) -> Rig:
    """The rig with a hub store of 42f79ec: a backlog of every stream, a result of alpha's
    command (its route kept as 42f79ec kept it), and messages held for the next exchange."""
    alpha, hub = suppliers_of(rig)["alpha"], hub_party(rig.hub.wan_id)
    held = "INSERT INTO outbox_held (source, kind, body) VALUES (?, ?, ?)"
    write_old_store(
        rig.store_path("hub"),
        {"outbox": (1, OUTBOX_V1)},
        [
            *old_outbox_rows(),
            kv("wan_routes", "cmd-1", json.dumps([alpha, hub, 1])),
            (held, ("esme", UplinkKind.EVENT.value, json.dumps(EVENT))),
            (held, ("hub", UplinkKind.CONFIG_CHANGE.value, json.dumps({"key": "k", "value": 1}))),
        ],
    )
    return rig


class Hub:
    """The new code on the old store: the outbox behind the hub's sealed WAN."""

    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        self.store = SqliteStore(rig.store_path("hub"))
        self.outbox = Outbox(
            self.store, LoopbackWan(rig.run_dir / "unused.sqlite"), ManualClock(NOW)
        )
        self.refused: list[EventCode] = []
        self.codec = HubWanSecurity(
            rig,
            load_ring(rig.keys_dir, *hub_parties(rig)),
            self.store,
            DeviceRoles(rig, self.store),
            lambda code, _detail: self.refused.append(code),
            outbox=self.outbox,
        )
        self._counters = itertools.count(1)

    def send(self, message: UplinkMessage, headend: HeadendStore) -> str:
        """Send `message` sealed as the hub seals it; the head-end keeps it if it is next and
        acknowledges, sealed by the party it went to. Returns that party."""
        ref = message.body.get("id") if message.kind is UplinkKind.RESULT else None  # as mqtt_wan
        sealed = self.codec.seal(Channel.UPLINK, message.to_json(), ref=ref)
        header = peek_header(sealed)
        assert header is not None
        upto, _kept = headend.record_uplink(HUB_ID, message, message.at)
        ack = seal(
            UplinkAck(message.source, upto).to_json(),
            channel="uplink_ack",
            sender=header.recipient,
            sender_keys=load_keys(self.rig.keys_dir, header.recipient),
            recipient=header.sender,
            recipient_keys=load_directory(self.rig.keys_dir)[header.sender],
            counter=next(self._counters),
            nonce=secrets.token_bytes(12),
        )
        self.outbox.on_ack(self.codec.open_uplink_ack(ack))
        return header.recipient

    def drain(self, headend: HeadendStore) -> dict[str, list[str]]:
        """Send rounds until nothing is pending: each stream's recipients, in order."""
        went: dict[str, list[str]] = {}
        for _round in range(10):
            pending = self.outbox.pending()
            if not pending:
                return went
            for message in pending:
                went.setdefault(message.source, []).append(self.send(message, headend))
        raise AssertionError(f"still pending: {self.outbox.pending()}")


@pytest.fixture
def headend(rig: Rig) -> Iterator[HeadendStore]:
    store = HeadendStore(rig.run_dir / "headend.sqlite")
    yield store
    store.close()


def kept(headend: HeadendStore, source: str) -> list[tuple[int, Any]]:
    return [(u["seq"], u["body"]) for u in headend.uplinks(HUB_ID, source)]


@pytest.mark.req("19.1.6")
def test_an_old_backlog_goes_once_in_order_each_message_to_its_recipient(
    old_hub: Rig, headend: HeadendStore
) -> None:
    rig = old_hub
    hub = Hub(rig)
    alpha, beta = suppliers_of(rig)["alpha"], suppliers_of(rig)["beta"]
    operator = operator_of(rig)
    assert hub.outbox.pending_count() == 6 and hub.outbox.held_count() == 2, "nothing lost"
    went = hub.drain(headend)
    # A meter's rows go to the supplier owning it; the hub's to the operator, but the result
    # of alpha's command to alpha, who asked.
    assert went == {
        "esme": [alpha, alpha],
        "gsme": [beta],
        "hub": [operator, alpha, operator],
    }
    for source, messages in OLD_STREAMS.items():
        assert kept(headend, source) == [
            (seq, body) for seq, (_kind, body) in enumerate(messages, start=1)
        ], f"{source}: once each, in order"
    assert hub.refused == [], "no acknowledgement was taken for a stranger's"
    hub.store.close()


@pytest.mark.req("19.1.6")
def test_an_old_backlog_the_head_end_already_kept_is_acknowledged_not_stuck(
    old_hub: Rig, headend: HeadendStore
) -> None:
    """The old hub sent its backlog and was stopped before the acks came back: the head-end
    holds every message, so each one sent again is acknowledged up to the stream's end, by the
    party that message went to; the hub must take that, or the stream never empties."""
    rig = old_hub
    for source, messages in OLD_STREAMS.items():
        for seq, (kind, body) in enumerate(messages, start=1):
            headend.record_uplink(HUB_ID, UplinkMessage(source, seq, kind, NOW, body), NOW)
    hub = Hub(rig)
    hub.drain(headend)
    assert hub.outbox.pending_count() == 0 and hub.refused == []
    for source, messages in OLD_STREAMS.items():
        assert [seq for seq, _ in kept(headend, source)] == list(range(1, len(messages) + 1))
    hub.store.close()


@pytest.mark.req("19.1.6")
def test_messages_the_old_hub_held_go_at_the_next_exchange_to_their_recipient(
    old_hub: Rig, headend: HeadendStore
) -> None:
    rig = old_hub
    hub = Hub(rig)
    hub.drain(headend)
    assert hub.outbox.release() == 2 and hub.outbox.held_count() == 0
    went = hub.drain(headend)
    assert went == {"esme": [suppliers_of(rig)["alpha"]], "hub": [operator_of(rig)]}
    assert kept(headend, "esme")[-1] == (3, EVENT), "after the meter's backlog, once"
    assert [seq for seq, _ in kept(headend, "hub")] == [1, 2, 3, 4]
    hub.store.close()


@pytest.mark.req("6.1.4")
def test_a_meters_old_messages_stay_its_suppliers_after_a_change_of_supplier(
    old_hub: Rig, headend: HeadendStore
) -> None:
    """Written before the upgrade, for alpha: a change of supplier after it (the WAN still
    down) must not send them to beta."""
    rig = old_hub
    hub = Hub(rig)
    DeviceRoles(rig, hub.store).change_supplier("esme", "beta", NOW)
    assert hub.outbox.release() == 2
    went = hub.drain(headend)
    assert went["esme"] == [suppliers_of(rig)["alpha"]] * 3
    assert [seq for seq, _ in kept(headend, "esme")] == [1, 2, 3] and hub.refused == []
    hub.store.close()


def meter_event(seq: int, epoch: int) -> PublishedEvent:
    return PublishedEvent(seq, int(EventCode.METER_COVER_REMOVED), NOW, "tamper", {}, epoch)


@pytest.mark.req("19.1.6")
def test_marks_from_before_epochs_stop_a_taken_event_being_queued_again(tmp_path: Path) -> None:
    """A hub store of the first meter-events commit: one mark per meter. The meter's log draws
    its epoch at the upgrade; an event the hub took just before (its answer lost) comes again
    under that epoch and must not be queued twice; the next one is."""
    path = tmp_path / "hub.sqlite"
    taken = "INSERT INTO meter_events_taken (source, seq) VALUES (?, ?)"
    write_old_store(
        path,
        {"outbox": (1, OUTBOX_V1), "meter_events": (1, METER_EVENTS_V1)},
        [(taken, ("esme", 5)), (taken, ("gsme", 2))],
    )
    store = SqliteStore(path)
    clock = ManualClock(NOW)
    outbox = Outbox(store, LoopbackWan(tmp_path / "headend.sqlite"), clock)
    events = MeterEvents(store, clock, outbox, HubConfig(store, clock, outbox, {"esme", "gsme"}))
    assert (events.taken("esme"), events.taken("gsme")) == (5, 2), "the marks carried over"
    epoch = 0x1234
    outcomes = [events.take("esme", meter_event(seq, epoch)) for seq in (5, 6, 6)]
    assert outcomes == [Intake.AGAIN, Intake.TAKEN, Intake.AGAIN]
    assert [m.event().seq for m in outbox.pending("esme")] == [6], "5 was taken before"
    assert events.taken("esme", epoch) == 6
    # The meter's events after 1000 more logged while the hub was away still go.
    assert events.take("gsme", meter_event(2 + 1500, epoch)) is Intake.TAKEN
    store.close()

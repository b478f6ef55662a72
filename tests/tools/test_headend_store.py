"""The head-end's records (tools/headend/store.py): outbox messages kept once and in order per
(hub, source), acknowledged by their high-water mark; a bad body set aside without blocking the
stream; every record with its supplier; a version 2 database upgraded in place (clause 19.1.6)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from protocol.event_codes import EventCode
from protocol.event_report import EventReport
from protocol.wan import CommandResult, CommandType, UplinkKind, UplinkMessage, WanCommand
from tools.headend.store import HeadendStore

AT = datetime(2026, 1, 1, tzinfo=UTC)
REQUEST = "0f8fad5b-d9cb-469f-a165-70867728950e"


def reading(seq: int, source: str = "esme") -> UplinkMessage:
    return UplinkMessage(source, seq, UplinkKind.READING, AT, {"device": source, "n": seq})


@pytest.mark.req("19.1.6")
def test_only_the_next_message_of_a_stream_is_kept(tmp_path: Path) -> None:
    store = HeadendStore(tmp_path / "headend.sqlite")
    assert store.record_uplink("hub-1", reading(1), AT) == (1, True)
    assert store.record_uplink("hub-1", reading(1), AT) == (1, False), "a repeat"
    assert store.record_uplink("hub-1", reading(3), AT) == (1, False), "ahead of a gap"
    assert store.record_uplink("hub-1", reading(2), AT) == (2, True)
    assert store.record_uplink("hub-2", reading(1), AT) == (1, True), "streams are per hub"
    assert store.record_uplink("hub-1", reading(1, "gsme"), AT) == (1, True)
    assert [u["seq"] for u in store.uplinks("hub-1", "esme")] == [1, 2]
    assert store.count("readings") == 4
    store.close()


@pytest.mark.req("19.1.6", "18.11.j")
def test_a_bad_body_is_set_aside_and_the_stream_moves_on(tmp_path: Path) -> None:
    store = HeadendStore(tmp_path / "headend.sqlite")
    bad = UplinkMessage("hub", 1, UplinkKind.ALERT, AT, {"seq": "not an event"})
    assert store.record_uplink("hub-1", bad, AT) == (1, True)
    assert store.count("rejected") == 1 and store.count("events") == 0
    event = EventReport.of(EventCode.SIM_REMOVED, seq=9, utc=AT, source="hub", module="wan")
    alert = UplinkMessage("hub", 2, UplinkKind.ALERT, AT, event.to_dict())
    assert store.record_uplink("hub-1", alert, AT, supplier="s1") == (2, True)
    [kept] = store.recent_alerts(10, supplier="s1")
    assert (kept["code"], kept["module"], kept["supplier"]) == (2009, "wan", "s1")
    assert store.recent_alerts(10, supplier="s2") == []
    store.close()


@pytest.mark.req("6.1.4")
def test_results_carry_the_supplier_of_their_command(tmp_path: Path) -> None:
    store = HeadendStore(tmp_path / "headend.sqlite")
    command = WanCommand(REQUEST, CommandType.READ, "esme", AT)
    store.record_command("hub-1", command, AT, supplier="s1")
    result = CommandResult(REQUEST, ok=True, data={})
    message = UplinkMessage("hub", 1, UplinkKind.RESULT, AT, result.to_dict())
    store.record_uplink("hub-1", message, AT, store.supplier_of_request(REQUEST))
    db = sqlite3.connect(tmp_path / "headend.sqlite")
    assert db.execute("SELECT supplier FROM results").fetchall() == [("s1",)]
    assert db.execute("SELECT supplier FROM uplinks").fetchall() == [("s1",)]
    db.close()
    store.close()


def test_a_version_2_database_gains_the_new_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "headend.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        """
        CREATE TABLE commands (request_id TEXT PRIMARY KEY, hub_id TEXT NOT NULL,
            device TEXT NOT NULL, type TEXT NOT NULL, payload TEXT NOT NULL, sent_at TEXT NOT NULL);
        INSERT INTO commands VALUES ('r', 'hub-1', 'esme', 'read', '{}', '2026-01-01');
        CREATE TABLE events (id INTEGER PRIMARY KEY, hub_id TEXT NOT NULL, source TEXT NOT NULL,
            seq INTEGER NOT NULL, code INTEGER NOT NULL, ref TEXT NOT NULL, title TEXT NOT NULL,
            utc TEXT NOT NULL, detail TEXT NOT NULL, received_at TEXT NOT NULL,
            UNIQUE (hub_id, source, seq));
        PRAGMA user_version=2;
        """
    )
    old.close()
    store = HeadendStore(path)
    assert store.count("commands") == 1
    store.record_event("hub-1", EventReport.of(EventCode.POWER_UP, seq=1, utc=AT, source="hub"), AT)
    assert store.recent_events(5)[0]["kind"] == "event"
    store.close()
    HeadendStore(path).close()  # and opening it again changes nothing

"""The hub's durable outbox: every uplink stays until the head-end acknowledges it (19.1.6).

Results, events, alerts, pushed readings, configuration-change messages (12.2) and sync messages
(12.4) are written to the hub's non-volatile store, numbered per source (a stream: the component
a message is about) from 1 with no gaps, in the same transaction as whatever caused them when the
caller passes one. The sender publishes each stream's messages in order, a window of them at a
time, and deletes them when the head-end's cumulative `UplinkAck` comes back. The head-end keeps
a message only if it is the next of its stream, so whatever the link loses, repeats or the hub
re-sends after a restart, each message is kept exactly once and in order (`tools.headend.store`).

Retries (19.1.7): an unacknowledged window is sent again every `interval_s` seconds of the hub's
clock; with a `count` the stream then rests ("parked") after that many retries until the link
comes back or the next scheduled exchange releases it, because the default is the hub's duty to
retry continuously (`count` 0). Nothing is ever dropped: an outage of any length ends with the
whole backlog delivered in order. Both numbers are remotely configurable (`hub.hub_config`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from firmware.clock_waits import wait_on_clock
from hal.ports import Clock, NonVolatileStore, Tx
from hal.wan import WanLink
from protocol.errors import TransientLinkError
from protocol.json_fields import JsonObject
from protocol.wan import UplinkAck, UplinkKind, UplinkMessage

__all__ = ["Addressing", "Outbox", "RetryPolicy"]

LOGGER = logging.getLogger(__name__)

SCHEMA_COMPONENT = "outbox"
SCHEMA_VERSION = 2
SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    source TEXT NOT NULL,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL,
    at TEXT NOT NULL,
    body TEXT NOT NULL,
    party TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (source, seq)
);
CREATE TABLE IF NOT EXISTS outbox_held (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    source TEXT NOT NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    party TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS outbox_streams (
    source TEXT PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    acked_seq INTEGER NOT NULL
);
"""
#: Tables a version-1 store lacks the `party` column in (added in place, idempotently).
_PARTY_TABLES = ("outbox", "outbox_held")
#: Messages of one stream in flight at once (sent, not yet acknowledged).
WINDOW = 32
#: Real seconds between looks at the link while it is down or something is unacknowledged (a
#: new connection sends the windows again at once).
IDLE_S = 1.0
#: Real seconds between looks while the link is up and everything is acknowledged: nothing to
#: do until a message is put in (which wakes the sender); the look is only a safety net.
QUIET_S = 30.0


@dataclass(frozen=True)
class RetryPolicy:
    """Retry timing and count of the outbox (clause 19.1.7), in seconds of the hub's clock."""

    interval_s: float = 30.0
    #: Retries of an unacknowledged window before the stream rests; 0 retries continuously.
    count: int = 0


#: Where a message goes: (the stream it is numbered in, the party it is sealed to; "" unsealed).
Addressing = Callable[[str, UplinkKind, JsonObject], tuple[str, str]]


def _unaddressed(source: str, _kind: UplinkKind, _body: JsonObject) -> tuple[str, str]:
    return source, ""


@dataclass
class _Stream:
    """The sender's view of one stream (not persisted: a restart sends the window again)."""

    sent_upto: int = 0
    head_sent_at: float = 0.0
    attempts: int = 0
    parked: bool = False


class Outbox:
    """The hub's outbox in `store`, sent over `wan` with the retry policy `policy()`."""

    def __init__(
        self,
        store: NonVolatileStore,
        wan: WanLink,
        clock: Clock,
        policy: Callable[[], RetryPolicy] = RetryPolicy,
    ) -> None:
        self._store, self._wan, self._clock, self._policy = store, wan, clock, policy
        store.ensure_schema(SCHEMA_COMPONENT, SCHEMA_VERSION, SCHEMA)
        self._add_party_column()
        #: Set by the sealed WAN (`hub.wan_security`): each message's stream and recipient,
        #: fixed when it is written, so a cumulative ack never covers another party's message
        #: and a change of supplier does not redirect what was written before it (6.1.4).
        self.addressing: Addressing = _unaddressed
        self._streams: dict[str, _Stream] = {}
        self._wake = asyncio.Event()
        self._was_connected = False
        #: The last send round found nothing unacknowledged.
        self._all_acked = False

    def _add_party_column(self) -> None:
        with self._store.transaction() as tx:
            for table in _PARTY_TABLES:
                columns = {row[1] for row in tx.execute(f"PRAGMA table_info({table})")}
                if "party" not in columns:
                    tx.execute(f"ALTER TABLE {table} ADD COLUMN party TEXT NOT NULL DEFAULT ''")

    # -- writing -----------------------------------------------------------------------------

    def enqueue(
        self, source: str, kind: UplinkKind, body: JsonObject, tx: Tx | None = None
    ) -> UplinkMessage:
        """Put a message in the outbox, inside `tx` if given (it commits with the cause). It
        is numbered in the stream `addressing` gives, which is its `source` on the wire."""
        stream, party = self.addressing(source, kind, body)
        return self._append(stream, party, kind, body, tx)

    def _append(
        self, source: str, party: str, kind: UplinkKind, body: JsonObject, tx: Tx | None
    ) -> UplinkMessage:
        if tx is None:
            with self._store.transaction() as own:
                return self._append(source, party, kind, body, own)
        row = tx.execute(
            "SELECT last_seq FROM outbox_streams WHERE source = ?", (source,)
        ).fetchone()
        seq = 1 if row is None else int(row[0]) + 1
        at = self._clock.now().astimezone(UTC)
        message = UplinkMessage(source, seq, kind, at, body)
        text = json.dumps(body, separators=(",", ":"), allow_nan=False)
        tx.execute(
            "INSERT INTO outbox (source, seq, kind, at, body, party) VALUES (?, ?, ?, ?, ?, ?)",
            (source, seq, kind.value, at.isoformat(), text, party),
        )
        tx.execute(
            "INSERT INTO outbox_streams (source, last_seq, acked_seq) VALUES (?, ?, 0)"
            " ON CONFLICT (source) DO UPDATE SET last_seq = excluded.last_seq",
            (source, seq),
        )
        # The sender runs only once the caller is back in the loop, after its commit.
        self._wake.set()
        return message

    def hold(self, source: str, kind: UplinkKind, body: JsonObject, tx: Tx | None = None) -> None:
        """Keep a message for the next scheduled exchange (treatment 'send at the next
        exchange', clause 18.8): it is numbered and sent when `release` moves it to the outbox."""
        if tx is None:
            with self._store.transaction() as own:
                self.hold(source, kind, body, own)
                return
        stream, party = self.addressing(source, kind, body)
        text = json.dumps(body, separators=(",", ":"), allow_nan=False)
        tx.execute(
            "INSERT INTO outbox_held (source, kind, body, party) VALUES (?, ?, ?, ?)",
            (stream, kind.value, text, party),
        )

    def address_unaddressed(self, source: str, party: str) -> int:
        """Give `party` to every message of stream `source` written without one (schema 1),
        waiting or held, in one transaction; returns how many."""
        with self._store.transaction() as tx:
            count = 0
            for table in _PARTY_TABLES:
                count += tx.execute(
                    f"UPDATE {table} SET party = ? WHERE source = ? AND party = ''",
                    (party, source),
                ).rowcount
        return count

    def held_count(self) -> int:
        with self._store.transaction() as tx:
            return int(tx.execute("SELECT COUNT(*) FROM outbox_held").fetchone()[0])

    def on_ack(self, ack: UplinkAck) -> None:
        """The head-end holds `ack.source` up to `ack.upto`: forget those messages."""
        with self._store.transaction() as tx:
            row = tx.execute(
                "SELECT last_seq, acked_seq FROM outbox_streams WHERE source = ?", (ack.source,)
            ).fetchone()
            if row is None or ack.upto <= int(row[1]):
                return  # an old or repeated ack, or a stream this hub never had
            last, acked = int(row[0]), int(row[1])
            if ack.upto > last:
                self._renumber(tx, ack.source, ack.upto - acked)
            else:
                tx.execute(
                    "DELETE FROM outbox WHERE source = ? AND seq <= ?", (ack.source, ack.upto)
                )
                tx.execute(
                    "UPDATE outbox_streams SET acked_seq = ? WHERE source = ?",
                    (ack.upto, ack.source),
                )
        stream = self._streams.setdefault(ack.source, _Stream())
        stream.attempts, stream.parked = 0, False
        stream.head_sent_at = self._clock.monotonic()
        self._wake.set()

    @staticmethod
    def _renumber(tx: Tx, source: str, shift: int) -> None:
        """The head-end holds more of `source` than this store ever numbered: the hub's store
        was replaced (a new hub under the same id). What is pending is numbered on from the
        head-end's mark, so none of it is taken for a repeat and dropped."""
        LOGGER.warning("outbox %s: the head-end is %d ahead; numbering on from it", source, shift)
        # Through negative numbers, so no row meets another's key half-way.
        tx.execute("UPDATE outbox SET seq = -(seq + ?) WHERE source = ?", (shift, source))
        tx.execute("UPDATE outbox SET seq = -seq WHERE source = ?", (source,))
        tx.execute(
            "UPDATE outbox_streams SET last_seq = last_seq + ?, acked_seq = acked_seq + ?"
            " WHERE source = ?",
            (shift, shift, source),
        )

    def release(self, source: str | None = None, tx: Tx | None = None) -> int:
        """A scheduled exchange: held messages join the outbox, in the order they were held,
        in one transaction, and rested streams try again (19.1.7). Returns how many joined.

        With a `source`, only that stream's held messages join (inside `tx` if given): what a
        message sent at once takes along, so that its stream stays in order."""
        if tx is None:
            with self._store.transaction() as own:
                count = self.release(source, own)
            if source is None:
                for stream in self._streams.values():
                    stream.attempts, stream.parked = 0, False
            self._wake.set()
            return count
        # A component's held messages, in whichever of its streams (`protocol.wan.stream_of`) they wait.
        where, params = (
            (
                "WHERE source = ? OR substr(source, 1, ?) = ?",
                (source, len(source) + 1, source + "@"),
            )
            if source is not None
            else ("", ())
        )
        rows = tx.execute(
            f"SELECT n, source, kind, body, party FROM outbox_held {where} ORDER BY n", params
        ).fetchall()
        for _n, held_source, kind, body, party in rows:
            self._append(str(held_source), str(party), UplinkKind(kind), json.loads(body), tx)
        tx.execute(f"DELETE FROM outbox_held {where}", params)
        return len(rows)

    # -- reading -----------------------------------------------------------------------------

    def pending(self, source: str | None = None, limit: int = -1) -> list[UplinkMessage]:
        """Messages not yet acknowledged, in order per source."""
        where, params = ("WHERE source = ?", (source, limit)) if source else ("", (limit,))
        with self._store.transaction() as tx:
            rows = tx.execute(
                f"SELECT source, seq, kind, at, body FROM outbox {where}"
                " ORDER BY source, seq LIMIT ?",
                params,
            ).fetchall()
        return [
            UplinkMessage(
                str(src), int(seq), UplinkKind(kind), datetime.fromisoformat(at), json.loads(body)
            )
            for src, seq, kind, at, body in rows
        ]

    def message(self, source: str, seq: int) -> UplinkMessage | None:
        """Message `seq` of `source` if it waits for its acknowledgement."""
        with self._store.transaction() as tx:
            row = tx.execute(
                "SELECT kind, at, body FROM outbox WHERE source = ? AND seq = ?", (source, seq)
            ).fetchone()
        if row is None:
            return None
        kind, at, body = row
        return UplinkMessage(
            source, seq, UplinkKind(kind), datetime.fromisoformat(at), json.loads(body)
        )

    def parties(self, source: str, after: int, upto: int) -> dict[int, str]:
        """The party each waiting message of `source` in (after, upto] was written for."""
        with self._store.transaction() as tx:
            rows = tx.execute(
                "SELECT seq, party FROM outbox WHERE source = ? AND seq > ? AND seq <= ?",
                (source, after, upto),
            ).fetchall()
        return {int(seq): str(party) for seq, party in rows}

    def marks(self, source: str) -> tuple[int, int] | None:
        """(last numbered, last acknowledged) of a stream; None for a stream it never had."""
        with self._store.transaction() as tx:
            row = tx.execute(
                "SELECT last_seq, acked_seq FROM outbox_streams WHERE source = ?", (source,)
            ).fetchone()
        return None if row is None else (int(row[0]), int(row[1]))

    def pending_count(self) -> int:
        with self._store.transaction() as tx:
            return int(tx.execute("SELECT COUNT(*) FROM outbox").fetchone()[0])

    def _sources(self) -> list[str]:
        with self._store.transaction() as tx:
            rows = tx.execute("SELECT DISTINCT source FROM outbox ORDER BY source").fetchall()
        return [str(row[0]) for row in rows]

    # -- sending -----------------------------------------------------------------------------

    def poke(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        """Send what is pending whenever the link is up; runs until cancelled."""
        while True:
            self._wake.clear()
            wait_s = IDLE_S * self._clock.scale
            connected = self._wan.connected
            if connected and not self._was_connected:
                # A new connection: whatever was in flight may be lost; send every window again.
                self._streams.clear()
            self._was_connected = connected
            if connected:
                with contextlib.suppress(TransientLinkError):
                    wait_s = min(wait_s, await self._send_round())
                    if self._all_acked:
                        wait_s = QUIET_S * self._clock.scale
            with contextlib.suppress(TimeoutError):
                await wait_on_clock(self._clock, self._wake.wait(), max(wait_s, 0.0))

    async def _send_round(self) -> float:
        """Send new messages and due retries; returns clock seconds until the next retry."""
        policy = self._policy()
        next_due = float("inf")
        self._all_acked = False
        pending = False
        for source in self._sources():
            stream = self._streams.setdefault(source, _Stream())
            window = self.pending(source, WINDOW)
            if not window:
                continue
            pending = True
            now = self._clock.monotonic()
            head = window[0].seq
            if stream.sent_upto >= head:  # something in flight, unacknowledged
                due = stream.head_sent_at + policy.interval_s
                if now >= due and not stream.parked:
                    if policy.count and stream.attempts >= policy.count:
                        stream.parked = True
                        LOGGER.info(
                            "outbox %s: %d retries unanswered; resting", source, policy.count
                        )
                    else:
                        stream.attempts += 1
                        stream.sent_upto = head - 1  # go back: send the window again
                elif not stream.parked:
                    next_due = min(next_due, due - now)
            if stream.parked:
                continue
            for message in window:
                if message.seq <= stream.sent_upto:
                    continue
                await self._wan.publish_uplink(message)
                if message.seq == head:
                    stream.head_sent_at = self._clock.monotonic()
                stream.sent_upto = message.seq
            next_due = min(next_due, policy.interval_s)
        self._all_acked = not pending
        return next_due

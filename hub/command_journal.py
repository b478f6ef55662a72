"""The hub's command journal: each head-end command carried out at most once, answered every
time it is delivered, across restarts of the hub (clause 19.1.6).

A command's request id is journalled in the hub's store before the command runs. Its result is
written with the journal entry's completion and the result's outbox message in one transaction,
so a redelivered command (a QoS 1 redelivery, a head-end retry, a redelivery after a crash) is
answered again with the stored result and never run twice.

Two kinds of command:

- the hub's own (`register_local`): their effect is in the hub's store, written in the same
  transaction as the journal entry and the result, so a crash leaves all three or none;
- those carried to a device over the HAN (everything else, through `execute`): a crash between
  sending the request and journalling its result leaves the entry "running"; the command is then
  sent again when redelivered, with the same request id, and the device answers it from its
  own memory of that id without doing it again (`devices.core.request_memory`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from hal.ports import Clock, NonVolatileStore, Tx
from protocol.errors import SmartMeterError
from protocol.wan import CommandResult, CommandType, UplinkKind, WanCommand, fit_text

from .outbox import Outbox

__all__ = ["CommandJournal", "LocalCommand"]

LOGGER = logging.getLogger(__name__)
SCHEMA_COMPONENT = "command_journal"
SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS command_journal (
    n INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    device TEXT NOT NULL,
    received_at TEXT NOT NULL,
    result TEXT
);
"""
#: Journal entries kept; a head-end does not redeliver a command thousands of commands later.
KEEP = 10_000
#: The outbox stream of results.
SOURCE = "hub"

#: A command whose effect is the hub's own: runs inside the journal's transaction.
LocalCommand = Callable[[WanCommand, Tx], dict[str, Any]]


class CommandJournal:
    def __init__(
        self,
        store: NonVolatileStore,
        outbox: Outbox,
        clock: Clock,
        execute: Callable[[WanCommand], Awaitable[dict[str, Any]]],
    ) -> None:
        self._store, self._outbox, self._clock, self._execute = store, outbox, clock, execute
        store.ensure_schema(SCHEMA_COMPONENT, SCHEMA_VERSION, SCHEMA)
        self._local: dict[CommandType, LocalCommand] = {}
        self._running: set[str] = set()

    def register_local(self, kind: CommandType, handler: LocalCommand) -> None:
        if kind in self._local:
            raise ValueError(f"command type {kind} already has a local handler")
        self._local[kind] = handler

    def executions(self) -> int:
        """Commands journalled (for tests and the bench)."""
        with self._store.transaction() as tx:
            return int(tx.execute("SELECT COUNT(*) FROM command_journal").fetchone()[0])

    async def handle(self, command: WanCommand) -> None:
        """Carry out `command` once and answer it through the outbox; answer a repeat again."""
        if command.id in self._running:
            LOGGER.info("command %s delivered again while running; answered when done", command.id)
            return
        local = self._local.get(command.type)
        if local is not None:
            self._handle_local(command, local)
            return
        with self._store.transaction() as tx:
            if self._answered_again(command, tx):
                return
            self._journal(command, tx)
        self._running.add(command.id)
        try:
            result = await self._run(command)
        finally:
            self._running.discard(command.id)
        with self._store.transaction() as tx:
            self._finish(command, result, tx)

    def _handle_local(self, command: WanCommand, local: LocalCommand) -> None:
        try:
            with self._store.transaction() as tx:
                if self._answered_again(command, tx):
                    return
                self._journal(command, tx)
                data = local(command, tx)
                self._finish(command, CommandResult(command.id, ok=True, data=data), tx)
                return
        except SmartMeterError as exc:  # the effect rolled back; the refusal is the answer
            failed = CommandResult(command.id, ok=False, error=fit_text(str(exc)))
        with self._store.transaction() as tx:
            self._journal(command, tx)
            self._finish(command, failed, tx)

    def _journal(self, command: WanCommand, tx: Tx) -> None:
        tx.execute(
            "INSERT OR IGNORE INTO command_journal (request_id, type, device, received_at)"
            " VALUES (?, ?, ?, ?)",
            (command.id, command.type.value, command.device, self._clock.now().isoformat()),
        )

    def _answered_again(self, command: WanCommand, tx: Tx) -> bool:
        row = tx.execute(
            "SELECT result FROM command_journal WHERE request_id = ?", (command.id,)
        ).fetchone()
        if row is None or row[0] is None:
            return False
        LOGGER.info("command %s delivered again: answered from the journal", command.id)
        self._outbox.enqueue(SOURCE, UplinkKind.RESULT, json.loads(row[0]), tx)
        return True

    async def _run(self, command: WanCommand) -> CommandResult:
        try:
            data = await self._execute(command)
            if not isinstance(data, dict):
                raise TypeError(f"handler returned {type(data).__name__}, not a dict")
            return CommandResult(command.id, ok=True, data=data)
        except SmartMeterError as exc:
            return CommandResult(command.id, ok=False, error=fit_text(str(exc) or repr(exc)))
        except Exception as exc:  # a firmware bug must still answer the head-end, not time out
            LOGGER.exception("command %s failed", command.id)
            return CommandResult(command.id, ok=False, error=fit_text(f"internal error: {exc!r}"))

    def _finish(self, command: WanCommand, result: CommandResult, tx: Tx) -> None:
        body = result.to_dict()
        tx.execute(
            "UPDATE command_journal SET result = ? WHERE request_id = ?",
            (json.dumps(body, separators=(",", ":")), command.id),
        )
        self._outbox.enqueue(SOURCE, UplinkKind.RESULT, body, tx)
        tx.execute(
            "DELETE FROM command_journal WHERE n <= (SELECT MAX(n) FROM command_journal) - ?",
            (KEEP,),
        )

"""A hub's WAN back end for link and head-end tests: the real command journal and outbox on a
real SQLite store, in front of a stand-in for the HAN (`execute`)."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from hal.real.clock import SystemClock
from hal.real.mqtt_wan import MqttWanLink
from hal.real.sqlite_store import SqliteStore
from hub.command_journal import CommandJournal
from hub.outbox import Outbox, RetryPolicy
from protocol.wan import WanCommand

Execute = Callable[[WanCommand], Awaitable[dict[str, Any]]]


class WanHub:
    """Journal + outbox of a hub over `link`; `execute` carries out new commands."""

    def __init__(self, execute: Execute, store_path: Path | None = None) -> None:
        self._dir = None if store_path else tempfile.TemporaryDirectory()
        path = store_path or Path(self._dir.name) / "hub.sqlite"  # type: ignore[union-attr]
        self.store = SqliteStore(path)
        self.clock = SystemClock()
        self._execute = execute
        self.outbox: Outbox | None = None
        self.journal: CommandJournal | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, link: MqttWanLink, retry_s: float = 2.0) -> None:
        """Start (again, on another link) answering commands through the outbox."""
        await self._stop_sending()
        self.outbox = Outbox(self.store, link, self.clock, lambda: RetryPolicy(retry_s))
        self.journal = CommandJournal(self.store, self.outbox, self.clock, self._execute)
        self._task = asyncio.get_running_loop().create_task(self.outbox.run())
        await link.start(self.journal.handle, on_uplink_ack=self.outbox.on_ack)

    async def _stop_sending(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def stop(self) -> None:
        await self._stop_sending()
        self.store.close()
        if self._dir is not None:
            self._dir.cleanup()

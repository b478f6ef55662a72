"""The hub's command journal (hub/command_journal.py): a command is carried out at most once and
answered every time it is delivered, across restarts of the hub (clause 19.1.6)."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hal.emulated.clock import ManualClock
from hal.ports import Tx
from hal.real.sqlite_store import SqliteStore
from hub.command_journal import CommandJournal
from hub.outbox import Outbox
from protocol.errors import SmartMeterError
from protocol.wan import CommandType, UplinkKind, WanCommand, request_id
from tests.hub.loopback_wan import LoopbackWan


def command(kind: CommandType = CommandType.READ, **args: Any) -> WanCommand:
    return WanCommand(
        request_id(secrets.token_bytes(16)), kind, "esme", datetime.now(UTC), dict(args)
    )


class Han:
    """Stands in for the HAN: counts what is carried out."""

    def __init__(self) -> None:
        self.done: list[str] = []

    async def __call__(self, command: WanCommand) -> dict[str, Any]:
        self.done.append(command.id)
        return {"reading": len(self.done)}


def build(path: Path, han: Han) -> tuple[SqliteStore, Outbox, CommandJournal]:
    store = SqliteStore(path)
    clock = ManualClock()
    outbox = Outbox(store, LoopbackWan(path.with_suffix(".headend")), clock)
    return store, outbox, CommandJournal(store, outbox, clock, han)


def results(outbox: Outbox) -> list[dict[str, Any]]:
    return [m.body for m in outbox.pending() if m.kind is UplinkKind.RESULT]


@pytest.mark.req("19.1.6")
async def test_a_command_redelivered_after_a_restart_is_answered_again_not_run_again(
    tmp_path: Path,
) -> None:
    han = Han()
    store, outbox, journal = build(tmp_path / "hub.sqlite", han)
    read = command()
    await journal.handle(read)
    first = results(outbox)
    store.close()
    store, outbox, journal = build(tmp_path / "hub.sqlite", han)  # the hub restarted
    await journal.handle(read)
    again = results(outbox)
    store.close()
    assert han.done == [read.id]
    assert len(again) == 2 and again[0] == again[1] == first[0]
    assert first[0] == {"id": read.id, "ok": True, "data": {"reading": 1}}


@pytest.mark.req("19.1.6")
async def test_a_hub_command_applies_its_effect_and_its_answer_in_one_transaction(
    tmp_path: Path,
) -> None:
    store, outbox, journal = build(tmp_path / "hub.sqlite", Han())

    def set_value(cmd: WanCommand, tx: Tx) -> dict[str, Any]:
        store.put("test", "value", cmd.args["value"], tx=tx)
        if cmd.args["value"] < 0:
            raise SmartMeterError("negative values are refused")
        return {"value": cmd.args["value"]}

    journal.register_local(CommandType.CONFIG_SET, set_value)
    good, bad = command(CommandType.CONFIG_SET, value=5), command(CommandType.CONFIG_SET, value=-1)
    for cmd in (good, bad, good):
        await journal.handle(cmd)
    assert store.get("test", "value") == 5, "the refused command's write was rolled back"
    answers = results(outbox)
    assert [a["ok"] for a in answers] == [True, False, True]
    assert answers[1]["error"] == "negative values are refused"
    assert answers[0] == answers[2]
    store.close()


@pytest.mark.req("19.1.6")
async def test_a_han_command_cut_short_by_a_crash_runs_when_redelivered(tmp_path: Path) -> None:
    """Journalled as running, never answered (the hub died while the meter was asked): the
    redelivery carries it to the meter again, whose own memory of the request id keeps it from
    being done twice."""
    han = Han()
    store, outbox, journal = build(tmp_path / "hub.sqlite", han)
    read = command()
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO command_journal (request_id, type, device, received_at)"
            " VALUES (?, 'read', 'esme', '2026-01-01T00:00:00+00:00')",
            (read.id,),
        )
    await journal.handle(read)
    assert han.done == [read.id] and len(results(outbox)) == 1
    store.close()

"""Non-volatile store: transactions, schema, key-value, a model-based property and crash safety."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hal.real.sqlite_store import SqliteStore, StoreError, split_sql

REPO_ROOT = Path(__file__).resolve().parents[2]


class Boom(Exception):
    pass


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqliteStore]:
    with SqliteStore(tmp_path / "component.db") as opened:
        yield opened


class TestSqliteStore:
    def test_durability_settings(self, store: SqliteStore) -> None:
        with store.transaction() as tx:
            assert tx.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert tx.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
            assert tx.execute("PRAGMA foreign_keys").fetchone()[0] == 1

    def test_key_value_round_trip(self, store: SqliteStore) -> None:
        value = {"mpan": "1234567890123", "rates": [1, 2.5, None], "ok": True}
        store.put("identity", "record", value)
        assert store.get("identity", "record") == value
        assert store.get("identity", "absent", default=7) == 7
        store.put("identity", "record", "updated")
        assert store.items("identity") == {"record": "updated"}
        store.delete("identity", "record")
        assert store.get("identity", "record") is None

    def test_transaction_commits_everything(self, store: SqliteStore) -> None:
        with store.transaction() as tx:
            store.put("a", "x", 1, tx=tx)
            store.put("a", "y", 2, tx=tx)
        assert store.items("a") == {"x": 1, "y": 2}

    def test_exception_rolls_back_everything(self, store: SqliteStore) -> None:
        store.put("a", "x", 1)
        with pytest.raises(Boom), store.transaction() as tx:
            store.put("a", "x", 99, tx=tx)
            tx.execute("INSERT INTO kv VALUES ('b', 'k', '1')")
            raise Boom
        assert store.items("a") == {"x": 1}
        assert store.items("b") == {}

    def test_nested_transaction_is_a_savepoint(self, store: SqliteStore) -> None:
        with store.transaction() as tx:
            store.put("a", "outer", 1, tx=tx)
            with pytest.raises(Boom), store.transaction() as inner:
                store.put("a", "inner", 2, tx=inner)
                raise Boom
            store.put("a", "after", 3)  # no tx: joins the open one on this task
        assert store.items("a") == {"outer": 1, "after": 3}

    def test_foreign_keys_enforced(self, store: SqliteStore) -> None:
        store.ensure_schema(
            "fk",
            1,
            "CREATE TABLE IF NOT EXISTS parent (id INTEGER PRIMARY KEY);"
            "CREATE TABLE IF NOT EXISTS child (pid INTEGER REFERENCES parent (id));",
        )
        with pytest.raises(sqlite3.IntegrityError), store.transaction() as tx:
            tx.execute("INSERT INTO child VALUES (42)")

    def test_ensure_schema_is_idempotent_and_versioned(self, store: SqliteStore) -> None:
        ddl = "CREATE TABLE IF NOT EXISTS reg (name TEXT PRIMARY KEY, value INTEGER);"
        assert store.ensure_schema("registers", 1, ddl) is None
        assert store.ensure_schema("registers", 1, ddl) == 1
        ddl2 = ddl + "CREATE TABLE IF NOT EXISTS reg_history (name TEXT, value INTEGER);"
        assert store.ensure_schema("registers", 2, ddl2) == 1
        with store.transaction() as tx:
            tx.execute("INSERT INTO reg_history VALUES ('a', 1)")
        with pytest.raises(StoreError, match="version 2"):
            store.ensure_schema("registers", 1, ddl)

    def test_bad_schema_leaves_nothing_behind(self, store: SqliteStore) -> None:
        ddl = "CREATE TABLE IF NOT EXISTS good (x);\nCREATE TABLE bad (;"
        with pytest.raises(sqlite3.OperationalError):
            store.ensure_schema("broken", 1, ddl)
        with store.transaction() as tx:
            tables = {r[0] for r in tx.execute("SELECT name FROM sqlite_master")}
            version = tx.execute("SELECT * FROM schema_version WHERE component = 'broken'")
            assert version.fetchone() is None
        assert "good" not in tables

    def test_split_sql_keeps_semicolons_in_strings(self) -> None:
        ddl = "CREATE TABLE t (x TEXT DEFAULT 'a;b');\n INSERT INTO t VALUES ('c;d');\n"
        assert len(split_sql(ddl)) == 2
        with pytest.raises(StoreError):
            split_sql("CREATE TABLE t (x TEXT DEFAULT 'unterminated;")

    def test_survives_reopen(self, tmp_path: Path) -> None:
        path = tmp_path / "meter.db"
        with SqliteStore(path) as first:
            first.put("prepayment", "balance_mGBP", 12_345)
        with SqliteStore(path) as second:
            assert second.get("prepayment", "balance_mGBP") == 12_345

    def test_closed_store_refuses_use(self, tmp_path: Path) -> None:
        opened = SqliteStore(tmp_path / "x.db")
        opened.close()
        opened.close()  # idempotent
        with pytest.raises(StoreError):
            opened.get("a", "b")

    async def test_transaction_held_across_await_is_refused(self, store: SqliteStore) -> None:
        holding = asyncio.Event()
        release = asyncio.Event()

        async def careless() -> None:
            with store.transaction() as tx:
                store.put("a", "careless", 1, tx=tx)
                holding.set()
                await release.wait()

        task = asyncio.create_task(careless())
        await holding.wait()
        with pytest.raises(StoreError, match="never await"):
            store.put("a", "other", 2)
        release.set()
        await task
        assert store.items("a") == {"careless": 1}

    def test_usable_from_another_thread(self, store: SqliteStore) -> None:
        def writer(prefix: str) -> None:
            for n in range(50):
                with store.transaction() as tx:
                    store.put(prefix, str(n), n, tx=tx)

        threads = [threading.Thread(target=writer, args=(name,)) for name in ("paho", "main")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(store.items("paho")) == len(store.items("main")) == 50


# --- model-based property ------------------------------------------------------------------------

_keys = st.sampled_from(["a", "b", "c", "d"])
_values = st.none() | st.integers(-(2**40), 2**40) | st.text(max_size=5) | st.lists(st.booleans())
_put = st.tuples(st.just("put"), _keys, _values)
_ops = st.recursive(
    _put,
    lambda inner: st.tuples(st.just("tx"), st.lists(inner, max_size=4), st.booleans()),
    max_leaves=12,
)


def _apply(store: SqliteStore, model: dict[str, Any], op: tuple[Any, ...]) -> None:
    """Apply `op` to the store, and to the model only what should survive."""
    if op[0] == "put":
        store.put("p", op[1], op[2])
        model[op[1]] = op[2]
        return
    _, body, fails = op
    scratch = dict(model)
    try:
        with store.transaction():
            for inner in body:
                _apply(store, scratch, inner)
            if fails:
                raise Boom
    except Boom:
        return
    model.clear()
    model.update(scratch)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_ops, max_size=8))
def test_store_holds_exactly_what_was_committed(ops: list[tuple[Any, ...]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.db"
        model: dict[str, Any] = {}
        with SqliteStore(path) as store:
            for op in ops:
                _apply(store, model, op)
                assert store.items("p") == model
        with SqliteStore(path) as reopened:
            assert reopened.items("p") == model


# --- crash safety ----------------------------------------------------------------------------------

_CHILD_MID_TRANSACTION = """
import sys, time
from pathlib import Path
from hal.real.sqlite_store import SqliteStore
store = SqliteStore(Path(sys.argv[1]))
store.put("crash", "committed", 1)
with store.transaction() as tx:
    # 4 MB is more than SQLite's page cache, so uncommitted pages spill into the WAL file.
    for n in range(2000):
        store.put("half", str(n), "x" * 2000, tx=tx)
    store.put("crash", "committed", 2, tx=tx)
    print("mid", flush=True)
    time.sleep(60)  # hold the transaction open until the test kills us
"""

_CHILD_COMMIT_LOOP = """
import sys
from pathlib import Path
from hal.real.sqlite_store import SqliteStore
store = SqliteStore(Path(sys.argv[1]))
n = 0
while True:
    n += 1
    with store.transaction() as tx:
        store.put("pair", "a", n, tx=tx)
        for k in range(20):
            store.put("bulk", str(k), n, tx=tx)
        store.put("pair", "b", n, tx=tx)
    print(n, flush=True)
"""


def _spawn(code: str, path: Path) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    return subprocess.Popen(
        [sys.executable, "-c", code, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )


def _kill(child: subprocess.Popen[str]) -> None:
    child.send_signal(signal.SIGKILL)
    child.wait(timeout=10)
    assert child.stdout is not None
    child.stdout.close()


def test_kill_mid_transaction_keeps_last_commit(tmp_path: Path) -> None:
    path = tmp_path / "crash.db"
    child = _spawn(_CHILD_MID_TRANSACTION, path)
    try:
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "mid"
        assert Path(f"{path}-wal").stat().st_size > 1_000_000
    finally:
        _kill(child)
    with SqliteStore(path) as store:
        assert store.get("crash", "committed") == 1
        assert store.items("half") == {}
        with store.transaction() as tx:
            assert tx.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_kill_while_committing_loses_nothing_committed(tmp_path: Path) -> None:
    path = tmp_path / "loop.db"
    child = _spawn(_CHILD_COMMIT_LOOP, path)
    last_reported = 0
    try:
        assert child.stdout is not None
        while last_reported < 200:
            last_reported = int(child.stdout.readline())
    finally:
        _kill(child)
    with SqliteStore(path) as store:
        a, b = store.get("pair", "a"), store.get("pair", "b")
        assert a == b >= last_reported
        assert set(store.items("bulk").values()) == {a}
        with store.transaction() as tx:
            assert tx.execute("PRAGMA integrity_check").fetchone()[0] == "ok"

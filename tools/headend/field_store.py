"""The head-end's records for field work: engineers, meters' passwords, installations.

Kept in the head-end's database file, in tables of their own:

- `engineers`: each engineer's code (D.2.1), role (read or configure, D.2.2), the hash of the
  token their HHT holds, the end of its authorisation (D.1.3) and whether it was disabled
  (D.1.5). Only the token's hash is kept.
- `local_passwords`: each meter's local-access password (Appendix F), encrypted at rest with
  the head-end's key (a 0600 file beside the database): the head-end issues it to an
  authorised engineer for a job (F.1.d) and replaces it (17.2.21.b.2).
- `installations`: what an installation or a decommissioning synchronised with the head-end
  (20.2.4: identifiers, registers, configuration, signal; 20.5.1: final readings), as JSON.
- `accounts`: the head-end's choice for each meter: payment mode (20.2.8) and MPAN/MPRN.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import secrets
import sqlite3
from datetime import datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tools.headend.sqlite_tx import transaction

__all__ = ["FieldStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS engineers (
    code TEXT PRIMARY KEY, role TEXT NOT NULL, token_hash TEXT NOT NULL,
    expires_at TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0, issued_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS local_passwords (
    device TEXT PRIMARY KEY, sealed BLOB NOT NULL, set_at TEXT NOT NULL, source TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS installations (
    id INTEGER PRIMARY KEY, device TEXT NOT NULL, kind TEXT NOT NULL, engineer TEXT NOT NULL,
    data TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS accounts (
    device TEXT PRIMARY KEY, payment_mode TEXT NOT NULL, mpxn TEXT NOT NULL);
"""
_NONCE = 12


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class FieldStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._aead = AESGCM(self._key(path.with_suffix(".key")))

    @staticmethod
    def _key(path: Path) -> bytes:
        with contextlib.suppress(FileNotFoundError):
            return path.read_bytes()
        key = AESGCM.generate_key(bit_length=128)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(key)
        return key

    def close(self) -> None:
        self._db.close()

    def _tx(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)

    # -- engineers -------------------------------------------------------------------------

    def put_engineer(
        self, code: str, role: str, token: str, expires: datetime, now: datetime
    ) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO engineers (code, role, token_hash, expires_at, disabled, issued_at) "
                "VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (code) DO UPDATE SET role = excluded.role,"
                " token_hash = excluded.token_hash, expires_at = excluded.expires_at,"
                " disabled = 0, issued_at = excluded.issued_at",
                (code, role, token_hash(token), expires.isoformat(), now.isoformat()),
            )

    def engineer(self, code: str) -> dict[str, Any] | None:
        row = self._db.execute("SELECT * FROM engineers WHERE code = ?", (code,)).fetchone()
        return None if row is None else dict(row)

    def engineers(self) -> list[dict[str, Any]]:
        rows = self._db.execute("SELECT * FROM engineers ORDER BY code").fetchall()
        return [{k: v for k, v in dict(row).items() if k != "token_hash"} for row in rows]

    def update_engineer(self, code: str, **fields: Any) -> None:
        with self._tx() as db:
            for key, value in fields.items():
                db.execute(f"UPDATE engineers SET {key} = ? WHERE code = ?", (value, code))

    # -- passwords -------------------------------------------------------------------------

    def put_password(self, device: str, password: str, now: datetime, source: str) -> None:
        nonce = secrets.token_bytes(_NONCE)
        sealed = nonce + self._aead.encrypt(nonce, password.encode(), device.encode())
        with self._tx() as db:
            db.execute(
                "INSERT INTO local_passwords (device, sealed, set_at, source) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (device) DO UPDATE SET sealed = excluded.sealed,"
                " set_at = excluded.set_at, source = excluded.source",
                (device, sealed, now.isoformat(), source),
            )

    def password(self, device: str) -> str | None:
        row = self._db.execute(
            "SELECT sealed FROM local_passwords WHERE device = ?", (device,)
        ).fetchone()
        if row is None:
            return None
        sealed = bytes(row[0])
        return self._aead.decrypt(sealed[:_NONCE], sealed[_NONCE:], device.encode()).decode()

    # -- installations and accounts ------------------------------------------------------------

    def record(self, device: str, kind: str, engineer: str, data: Any, now: datetime) -> int:
        with self._tx() as db:
            cursor = db.execute(
                "INSERT INTO installations (device, kind, engineer, data, at) VALUES (?, ?, ?, ?, ?)",
                (device, kind, engineer, json.dumps(data), now.isoformat()),
            )
            return int(cursor.lastrowid or 0)

    def records(self, device: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        sql, params = "SELECT * FROM installations", tuple[str, ...]()
        if device is not None:
            sql, params = sql + " WHERE device = ?", (device,)
        rows = self._db.execute(f"{sql} ORDER BY id DESC LIMIT {int(limit)}", params).fetchall()
        return [{**dict(row), "data": json.loads(row["data"])} for row in reversed(rows)]

    def account(self, device: str) -> dict[str, str] | None:
        row = self._db.execute("SELECT * FROM accounts WHERE device = ?", (device,)).fetchone()
        return None if row is None else {"payment_mode": row[1], "mpxn": row[2]}

    def put_account(self, device: str, payment_mode: str, mpxn: str) -> None:
        with self._tx() as db:
            db.execute(
                "INSERT INTO accounts (device, payment_mode, mpxn) VALUES (?, ?, ?) ON CONFLICT"
                " (device) DO UPDATE SET payment_mode = excluded.payment_mode,"
                " mpxn = excluded.mpxn",
                (device, payment_mode, mpxn),
            )

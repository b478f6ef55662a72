"""Who may change the meter locally, and the record of what they changed (clause 17.2.21).

- The meter keeps only the verifier of its local-access password (17.2.21.c, `protocol.
  local_auth`): a salted hash, unique to the meter (17.2.21.d) because the password is. The
  factory sets one (the board's `factory_verifier`); the head-end replaces it remotely
  (17.2.21.b.2) or an authorised engineer locally. Until one is set, programming is refused.
- Wrong passwords are counted: `MAX_WRONG` in a row lock programming for `LOCKOUT_S` of clock
  time, and the meter logs "'n' times wrong password" (B.6.7), the tamper of clause 18.11.d.
  The count and the lock survive a restart, so pulling the power does not reset them.
- Every local change is logged with its time, who made it, the item, and the values before and
  after (17.2.21.e), in the meter's store; the log is kept through decommissioning (18.5).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from firmware.event_log import EventLog
from hal.ports import Clock, NonVolatileStore, Tx, require_utc
from protocol.errors import DecodeError
from protocol.event_codes import EventCode
from protocol.local_auth import Challenge, Verifier, verify_proof

__all__ = ["LOCKOUT_S", "MAX_WRONG", "Change", "LocalAccess"]

MAX_WRONG = 3
LOCKOUT_S = 600.0
NAMESPACE = "local_access"
SCHEMA = """
CREATE TABLE IF NOT EXISTS local_change (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    utc TEXT NOT NULL,
    engineer TEXT NOT NULL,
    channel TEXT NOT NULL,
    item TEXT NOT NULL,
    old TEXT NOT NULL,
    new TEXT NOT NULL
);
"""


@dataclass(frozen=True)
class Change:
    """One local change (17.2.21.e)."""

    seq: int
    utc: datetime
    engineer: str
    channel: str
    item: str
    old: str
    new: str

    def to_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "utc": self.utc.isoformat()}


class LocalAccess:
    def __init__(
        self,
        store: NonVolatileStore,
        clock: Clock,
        events: EventLog,
        factory_verifier: Verifier | None = None,
    ) -> None:
        self._store, self._clock, self._events = store, clock, events
        store.ensure_schema("local_access", 1, SCHEMA)
        if factory_verifier is not None and self.verifier is None:
            self.set_verifier(factory_verifier, engineer="factory", channel="factory")

    # -- the password ------------------------------------------------------------------

    @property
    def verifier(self) -> Verifier | None:
        saved = self._store.get(NAMESPACE, "verifier")
        if saved is None:
            return None
        try:
            return Verifier.from_json(saved)
        except DecodeError:
            return None  # a damaged verifier locks programming until it is reset

    def set_verifier(self, verifier: Verifier, *, engineer: str, channel: str) -> None:
        """Replace the password (its verifier only); logged as a local or remote change."""
        with self._store.transaction() as tx:
            self._store.put(NAMESPACE, "verifier", verifier.to_json(), tx=tx)
            self._store.put(NAMESPACE, "wrong", 0, tx=tx)
            self.log_in(tx, engineer, channel, "password", "(set)", "(set)")

    def challenge(self, nonce: bytes) -> Challenge | None:
        verifier = self.verifier
        return None if verifier is None else Challenge(verifier.salt, verifier.iterations, nonce)

    def locked_until(self) -> datetime | None:
        """When programming opens again after too many wrong passwords; None if not locked."""
        until = self._store.get(NAMESPACE, "locked_until")
        if until is None:
            return None
        stamp = datetime.fromisoformat(until)
        return stamp if stamp > self._clock.now() else None

    def check(self, nonce: bytes, engineer: str, proof_text: str) -> bool:
        """Verify a P2 proof; count a wrong one, and lock after `MAX_WRONG` (18.11.d)."""
        verifier = self.verifier
        if verifier is not None and verify_proof(verifier, nonce, engineer, proof_text):
            self._store.put(NAMESPACE, "wrong", 0)
            return True
        wrong = int(self._store.get(NAMESPACE, "wrong", 0)) + 1
        with self._store.transaction() as tx:
            if wrong >= MAX_WRONG:
                until = self._clock.now() + timedelta(seconds=LOCKOUT_S)
                self._store.put(NAMESPACE, "locked_until", until.isoformat(), tx=tx)
                self._store.put(NAMESPACE, "wrong", 0, tx=tx)
                self._events.record(
                    EventCode.WRONG_PASSWORD_N_TIMES,
                    {"attempts": wrong, "engineer": engineer, "locked_until": until},
                    tx=tx,
                )
            else:
                self._store.put(NAMESPACE, "wrong", wrong, tx=tx)
        return False

    # -- the change log ----------------------------------------------------------------

    def log_change(self, engineer: str, channel: str, item: str, old: str, new: str) -> None:
        with self._store.transaction() as tx:
            self.log_in(tx, engineer, channel, item, old, new)

    def log_in(self, tx: Tx, engineer: str, channel: str, item: str, old: str, new: str) -> None:
        """Log a change inside `tx`: the transaction that makes the change."""
        tx.execute(
            "INSERT INTO local_change (utc, engineer, channel, item, old, new) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (require_utc(self._clock.now()).isoformat(), engineer, channel, item, old, new),
        )

    def changes(self, limit: int = 100) -> list[Change]:
        with self._store.transaction() as tx:
            rows = tx.execute(
                "SELECT seq, utc, engineer, channel, item, old, new FROM local_change "
                "ORDER BY seq DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [
            Change(int(r[0]), datetime.fromisoformat(r[1]), *map(str, r[2:]))
            for r in reversed(rows)
        ]

    def summary(self) -> dict[str, Any]:
        """For the bench port: no verifier, only whether one is set (17.2.20)."""
        until = self.locked_until()
        return {
            "password_set": self.verifier is not None,
            "wrong_in_a_row": int(self._store.get(NAMESPACE, "wrong", 0)),
            "locked_until": None if until is None else until.isoformat(),
            "changes": [change.to_dict() for change in self.changes(20)],
        }


def verifier_text(verifier: Verifier) -> str:
    """The verifier as one data set value (W5 of the password object): salt.iterations.key."""
    return f"{verifier.salt.hex()}.{verifier.iterations}.{verifier.stored_key.hex()}"


def parse_verifier_text(text: str) -> Verifier:
    """Inverse of `verifier_text`; DecodeError if `text` is not one."""
    parts = text.split(".")
    if len(parts) != 3:
        raise DecodeError("password verifier", "salt.iterations.stored_key", text)
    try:
        iterations = int(parts[1])
    except ValueError:
        raise DecodeError("password verifier", "a number of iterations", text) from None
    return Verifier.from_json({"salt": parts[0], "iterations": iterations, "stored_key": parts[2]})

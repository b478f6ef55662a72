"""The head-end's end of the sealed WAN (`protocol.wan_security`; README "WAN security").

The simulator stands for every supplier's head-end and the network operator's at once, each with
its own keys: a command is sealed by the party that gives it (`--supplier NAME`, or the
operator for its own commands) to the device's identity behind its hub; what comes up is opened
with the keys of the party it is encrypted to, so a result or an event of one supplier's meter
can only be read with that supplier's key (6.1.4).

Kept in the head-end's database, in tables of its own: the counter ceilings of each party's
commands (reserved in blocks before use, so a restart never repeats one), each originator's
replay window per channel (saved in the transaction that accepts the message) and which supplier
each device belongs to as the head-end knows it (updated by a successful change of supplier).
"""

from __future__ import annotations

import contextlib
import secrets
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from protocol.errors import ConfigError
from protocol.wan import Channel, CommandType, WanCommand
from protocol.wan_security import (
    KeyRing,
    Opened,
    Refusal,
    ReplayWindow,
    SecurityRefusal,
    device_party,
    hub_party,
    open_envelope,
    operator_party,
    peek_header,
    seal,
    supplier_party,
)
from tools.headend.sqlite_tx import transaction

__all__ = ["OPERATOR_ONLY", "HeadendSecurity", "Roles"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS wan_counters (stream TEXT PRIMARY KEY, ceiling INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS wan_windows (stream TEXT PRIMARY KEY, highest INTEGER NOT NULL,
    seen TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS wan_owners (device TEXT PRIMARY KEY, supplier TEXT NOT NULL);
"""
COUNTER_BLOCK = 64
#: What only the network operator gives (the hub refuses them from a supplier anyway).
OPERATOR_ONLY = frozenset(
    {CommandType.CHANGE_SUPPLIER, CommandType.DISABLE_COMMS, CommandType.RESTORE_COMMS}
)


@dataclass(frozen=True)
class Roles:
    """The suppliers and network operator the head-end acts for, and each device's first
    supplier (from the inventory the launcher writes)."""

    suppliers: tuple[str, ...]
    network_operator: str
    first_supplier: dict[str, str]


class HeadendSecurity:
    """Seals commands and opens what hubs send; owned by the head-end's event loop."""

    def __init__(
        self,
        ring: KeyRing,
        roles: Roles,
        db_path: Path,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._ring, self.roles, self._random = ring, roles, random_bytes
        self.operator = operator_party(roles.network_operator)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(db_path, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # As the head-end's own records (tools/headend/store.py): durable across a crash of the
        # process, which is what a counter must survive here.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._next: dict[str, int] = {}
        self._ceiling: dict[str, int] = {}

    def close(self) -> None:
        self._db.close()

    def _transaction(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return transaction(self._db)

    # -- who acts ------------------------------------------------------------------------------

    def owner(self, device: str) -> str:
        """The supplier `device` belongs to, as far as the head-end knows."""
        row = self._db.execute("SELECT supplier FROM wan_owners WHERE device = ?", (device,))
        found = row.fetchone()
        return str(found[0]) if found else self.roles.first_supplier.get(device, "")

    def set_owner(self, device: str, supplier: str) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO wan_owners VALUES (?, ?) ON CONFLICT (device) DO UPDATE "
                "SET supplier = excluded.supplier",
                (device, supplier),
            )

    def acting_party(self, kind: CommandType, device: str, supplier: str | None) -> str:
        """Who gives a command: the operator for its own commands, else the supplier named (or
        the device's own); ConfigError naming the known suppliers for an unknown one."""
        if kind in OPERATOR_ONLY and supplier is None:
            return self.operator
        name = supplier if supplier is not None else self.owner(device)
        if name not in self.roles.suppliers:
            known = ", ".join(self.roles.suppliers)
            raise ConfigError(f"unknown supplier {name!r}; known suppliers: {known}")
        return supplier_party(name)

    # -- down ----------------------------------------------------------------------------------

    def command_parties(self, command: WanCommand, hub_id: str, acting: str) -> tuple[str, str]:
        """(sender, recipient) of `command` given by `acting`: sealed to its device's identity
        behind hub `hub_id` (or to the hub for a device it does not know)."""
        recipient = device_party(hub_id, command.device)
        if recipient not in self._ring.directory:
            recipient = hub_party(hub_id)
        return acting, recipient

    def seal_command(self, command: WanCommand, hub_id: str, acting: str) -> bytes:
        """`command` sealed by `acting` to its device's identity behind hub `hub_id`."""
        sender, recipient = self.command_parties(command, hub_id, acting)
        return self.seal(Channel.CMD, command.to_json(), sender, recipient, command.id)

    def seal(
        self, channel: Channel, payload: bytes, sender: str, recipient: str, ref: str
    ) -> bytes:
        """`payload` sealed by `sender` (a party the head-end acts as) to `recipient`, with the
        next counter of the sender's stream on `channel`: a payload sent again (a command
        retried after a hub's or the broker's crash) is sealed again, never replayed."""
        return seal(
            payload,
            channel=channel.value,
            sender=sender,
            sender_keys=self._ring.own[sender],
            recipient=recipient,
            recipient_keys=self._ring.directory[recipient],
            counter=self._counter(f"{sender}|{channel.value}"),
            nonce=self._random(12),
            ref=ref,
        )

    def _counter(self, stream: str) -> int:
        if stream not in self._next:
            row = self._db.execute("SELECT ceiling FROM wan_counters WHERE stream = ?", (stream,))
            found = row.fetchone()
            self._next[stream] = self._ceiling[stream] = int(found[0]) if found else 0
        counter = self._next[stream]
        if counter >= self._ceiling[stream]:
            self._ceiling[stream] = counter + COUNTER_BLOCK
            with self._transaction() as db:
                db.execute(
                    "INSERT INTO wan_counters VALUES (?, ?) ON CONFLICT (stream) DO UPDATE "
                    "SET ceiling = excluded.ceiling",
                    (stream, self._ceiling[stream]),
                )
        self._next[stream] = counter + 1
        return counter

    # -- up ------------------------------------------------------------------------------------

    def open(self, channel: Channel, payload: bytes) -> Opened:
        """Check and decrypt what came up on `channel`; SecurityRefusal if refused. A message
        already taken (a QoS 1 duplicate, a retained status seen again) is `Refusal.REPLAYED`."""
        header = peek_header(payload)
        me = header.recipient if header is not None else ""
        if header is not None and me not in self._ring.own:
            raise SecurityRefusal(Refusal.WRONG_RECIPIENT, f"addressed to {me}", header)
        stream = f"{header.sender}|{channel.value}" if header is not None else ""
        row = self._db.execute("SELECT highest, seen FROM wan_windows WHERE stream = ?", (stream,))
        found = row.fetchone()
        window = ReplayWindow(int(found[0]), int(found[1])) if found else ReplayWindow()
        opened = open_envelope(
            payload,
            channel=channel.value,
            me=me or self.operator,
            my_keys=self._ring.own.get(me) or self._ring.own[self.operator],
            directory=self._ring.directory,
            window=window,
        )
        taken = window.accept(opened.header.counter)
        with self._transaction() as db:
            db.execute(
                "INSERT INTO wan_windows VALUES (?, ?, ?) ON CONFLICT (stream) DO UPDATE "
                "SET highest = excluded.highest, seen = excluded.seen",
                (stream, taken.highest, str(taken.seen)),
            )
        return opened


def roles_from_inventory(data: object, source: str, devices: list[str]) -> Roles:
    """The `roles` of the launcher's inventory, and each device's `supplier` (defaults: one
    supplier, "supplier", owning every device; network operator "operator")."""
    obj = data if isinstance(data, dict) else {}
    roles = obj.get("roles", {})
    if not isinstance(roles, dict):
        raise ConfigError(f"{source}: roles: expected an object")
    suppliers = roles.get("suppliers", ["supplier"])
    operator = roles.get("network_operator", "operator")
    if not isinstance(suppliers, list) or not all(isinstance(s, str) for s in suppliers):
        raise ConfigError(f"{source}: roles.suppliers: expected a list of names")
    if not isinstance(operator, str):
        raise ConfigError(f"{source}: roles.network_operator: expected a name")
    entries = obj.get("devices", {})
    first: dict[str, str] = {}
    for name in devices:
        entry = entries.get(name, {}) if isinstance(entries, dict) else {}
        supplier = entry.get("supplier", suppliers[0]) if isinstance(entry, dict) else None
        if supplier not in suppliers:
            raise ConfigError(f"{source}: devices.{name}.supplier: {supplier!r} is not declared")
        first[name] = str(supplier)
    return Roles(tuple(suppliers), operator, first)


def ring_parties(roles: Roles, hubs: dict[str, list[str]]) -> tuple[list[str], list[str]]:
    """(parties the head-end acts as, parties it accepts messages from), for `hubs` (hub id ->
    its devices): the same split as `firmware.wan_parties.headend_parties`."""
    own = [
        *(supplier_party(name) for name in roles.suppliers),
        operator_party(roles.network_operator),
    ]
    trusted = [
        party
        for hub_id, devices in hubs.items()
        for party in (hub_party(hub_id), *(device_party(hub_id, name) for name in devices))
    ]
    return own, trusted

"""The emulated NCP's non-volatile tokens: network membership, keys and frame counters.

EmberZNet keeps in flash tokens what must survive a reboot: the network parameters
(`TOKEN_STACK_NODE_DATA`), the network key and its sequence number (`TOKEN_STACK_KEYS`), the
outgoing frame counters (`TOKEN_STACK_NONCE_COUNTER`, `TOKEN_STACK_APS_FRAME_COUNTER`), the key
table and the child table. We keep the same items in one SQLite file per NCP
(`hal.real.sqlite_store`, DESIGN.md §6), one transaction per change.

Keys are never stored in clear (clause 17.2.10): every key is sealed with AES-256-GCM under a
per-NCP *device key*. A real chip keeps that key where the application cannot read it (the
Secure Vault / PSA ITS key storage of an EFR32, or a secure element) and a real meter would do
the same with its MCU's key storage. An emulator has no such hardware, so the device key lives in
a file beside the database (`<store>.key`, mode 0600): this protects the database when copied or
inspected on its own, not against someone who can read both files. That is the honest limit.

Outgoing frame counters must never go back (ZigBee spec 4.3.1.1, clause 17.2.12): they are
reserved in blocks of `COUNTER_BLOCK`. The ceiling (counter + block) is committed *before* any
counter of the block is used; after a restart, even one after kill -9, the NCP resumes from the
stored ceiling, skipping the unused rest of the block rather than repeating a counter. EmberZNet
does the same with its nonce-counter token (it writes every 4096 frames).

The per-sender incoming NWK frame counters (replay protection, clause 17.2.12) are saved lazily:
every `INCOMING_SAVE_EVERY` accepted frames and at a clean stop.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hal.real.sqlite_store import SqliteStore, StoreError

from .state import LinkKeyEntry, NcpState, Neighbour, NetworkRole

__all__ = ["COUNTER_BLOCK", "NcpTokens"]

NAMESPACE = "ncp"
COUNTER_BLOCK = 256
INCOMING_SAVE_EVERY = 32
_NONCE = 12


class _Sealer:
    """AES-256-GCM under the device key; the associated data names what is sealed, so a
    sealed key cannot be moved to another field or another NCP's file unnoticed."""

    def __init__(self, key_path: Path, eui64: int) -> None:
        self._aead = AESGCM(_device_key(key_path))
        self._eui = eui64.to_bytes(8, "big")

    def seal(self, label: str, key: bytes) -> str:
        nonce = secrets.token_bytes(_NONCE)
        return (nonce + self._aead.encrypt(nonce, key, self._eui + label.encode())).hex()

    def open(self, label: str, sealed: str) -> bytes:
        raw = bytes.fromhex(sealed)
        try:
            return self._aead.decrypt(raw[:_NONCE], raw[_NONCE:], self._eui + label.encode())
        except InvalidTag:
            raise StoreError(
                f"sealed key {label!r} does not open with this NCP's device key"
            ) from None


def _device_key(path: Path) -> bytes:
    """Read the device key, creating it (0600, exclusive create) on first power-up."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_bytes()
        if len(key) != 32:
            raise StoreError(f"{path}: device key must be 32 bytes, found {len(key)}") from None
        return key
    key = secrets.token_bytes(32)
    with os.fdopen(fd, "wb") as out:
        out.write(key)
        out.flush()
        os.fsync(out.fileno())
    return key


class NcpTokens:
    """Non-volatile memory of one NCP; with `path=None` it keeps nothing (RAM only)."""

    def __init__(self, path: Path | None, eui64: int) -> None:
        self._store = SqliteStore(path) if path is not None else None
        self._sealer = _Sealer(Path(f"{path}.key"), eui64) if path is not None else None
        self._last_plain: dict[str, Any] | None = None
        self._unsaved_incoming = 0
        #: Counter ceilings reserved so far: "nwk" / "aps" -> first counter not reserved.
        self.ceilings = {"nwk": 0, "aps": 0}

    @property
    def persistent(self) -> bool:
        return self._store is not None

    # -- start-up --------------------------------------------------------------------

    def restore(self, state: NcpState) -> bool:
        """Load the tokens into `state`; True if the NCP had been on a network."""
        if self._store is None or self._sealer is None:
            return False
        stored = self._store.items(NAMESPACE)
        ceilings = stored.get("frame_counters", {})
        self.ceilings = {"nwk": int(ceilings.get("nwk", 0)), "aps": int(ceilings.get("aps", 0))}
        # Resume at the ceiling: whatever of the last block was used before a crash is skipped.
        state.nwk_frame_counter = self.ceilings["nwk"]
        state.aps_frame_counter = self.ceilings["aps"]
        state.incoming_nwk_counters = {
            int(eui, 16): int(fc) for eui, fc in stored.get("incoming", {}).items()
        }
        tokens = stored.get("tokens")
        if tokens is None:
            return False
        self._apply(state, tokens)
        self._last_plain = _snapshot(state)
        return state.role is not None and state.network_key is not None

    def _apply(self, state: NcpState, tokens: dict[str, Any]) -> None:
        assert self._sealer is not None
        s, opened = state, self._sealer.open
        s.role = NetworkRole(tokens["role"]) if tokens["role"] is not None else None
        s.node_id, s.pan_id = tokens["node_id"], tokens["pan_id"]
        s.extended_pan_id, s.channel = tokens["extended_pan_id"], tokens["channel"]
        s.nwk_update_id, s.parent_id = tokens["nwk_update_id"], tokens["parent_id"]
        s.trust_center_eui64 = tokens["trust_center_eui64"]
        s.security_bitmask = tokens["security_bitmask"]
        s.preconfigured_key = opened("preconfigured", tokens["preconfigured_key"])
        nwk_key = tokens["network_key"]
        s.network_key = opened("network", nwk_key) if nwk_key is not None else None
        s.network_key_seq = tokens["network_key_seq"]
        s.key_table = [
            LinkKeyEntry(e["eui64"], opened(f"link:{e['eui64']:016x}", e["key"]), e["out"], e["in"])
            for e in tokens["key_table"]
        ]
        s.transient_keys = {
            e["eui64"]: LinkKeyEntry(e["eui64"], opened(f"transient:{e['eui64']:016x}", e["key"]))
            for e in tokens["transient_keys"]
        }
        s.children = {
            c["eui64"]: Neighbour(c["eui64"], c["nwk"], NetworkRole(c["role"]))
            for c in tokens["children"]
        }

    # -- changes ---------------------------------------------------------------------

    def sync(self, state: NcpState) -> None:
        """Commit the tokens if anything in them changed since the last commit."""
        if self._store is None:
            return
        plain = _snapshot(state)
        if plain == self._last_plain:
            return
        self._last_plain = plain
        self._store.put(NAMESPACE, "tokens", self._sealed(plain))

    def _sealed(self, plain: dict[str, Any]) -> dict[str, Any]:
        assert self._sealer is not None
        seal = self._sealer.seal
        out = dict(plain)
        out["preconfigured_key"] = seal("preconfigured", plain["preconfigured_key"])
        if plain["network_key"] is not None:
            out["network_key"] = seal("network", plain["network_key"])
        out["key_table"] = [
            {**e, "key": seal(f"link:{e['eui64']:016x}", e["key"])} for e in plain["key_table"]
        ]
        out["transient_keys"] = [
            {**e, "key": seal(f"transient:{e['eui64']:016x}", e["key"])}
            for e in plain["transient_keys"]
        ]
        return out

    def reserve(self, kind: str, counter: int) -> None:
        """Make sure `counter` (of "nwk" or "aps") lies below a committed ceiling."""
        if counter < self.ceilings[kind]:
            return
        self.ceilings[kind] = counter + COUNTER_BLOCK
        if self._store is not None:
            self._store.put(NAMESPACE, "frame_counters", self.ceilings)

    def incoming_accepted(self, state: NcpState) -> None:
        self._unsaved_incoming += 1
        if self._unsaved_incoming >= INCOMING_SAVE_EVERY:
            self.save_incoming(state)

    def save_incoming(self, state: NcpState) -> None:
        self._unsaved_incoming = 0
        if self._store is not None:
            table = {f"{eui:016x}": fc for eui, fc in state.incoming_nwk_counters.items()}
            self._store.put(NAMESPACE, "incoming", table)

    def close(self, state: NcpState) -> None:
        if self._store is not None:
            self.sync(state)
            self.save_incoming(state)
            self._store.close()
            self._store = None


def _snapshot(s: NcpState) -> dict[str, Any]:
    """The token items of `state`, keys still in clear (sealed only when written)."""
    return {
        "role": int(s.role) if s.role is not None else None,
        "node_id": s.node_id,
        "pan_id": s.pan_id,
        "extended_pan_id": s.extended_pan_id,
        "channel": s.channel,
        "nwk_update_id": s.nwk_update_id,
        "parent_id": s.parent_id,
        "trust_center_eui64": s.trust_center_eui64,
        "security_bitmask": s.security_bitmask,
        "preconfigured_key": s.preconfigured_key,
        "network_key": s.network_key,
        "network_key_seq": s.network_key_seq,
        "key_table": [
            {
                "eui64": e.eui64,
                "key": e.key,
                "out": e.outgoing_frame_counter,
                "in": e.incoming_frame_counter,
            }
            for e in s.key_table
        ],
        "transient_keys": [{"eui64": e.eui64, "key": e.key} for e in s.transient_keys.values()],
        "children": [
            {"eui64": c.eui64, "nwk": c.nwk, "role": int(c.role)} for c in s.children.values()
        ],
    }

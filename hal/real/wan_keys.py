"""The WAN parties' keys on disk: private keys sealed at rest, public keys in a directory.

A rig's `keys/` folder (`Rig.keys_dir`) holds, for each party (each supplier's head-end, the
network operator, the hub and each meter; `protocol.wan_security` names them):

- `<party>.sealed` (0600): its two private keys, each sealed with AES-256-GCM under the party's
  own *device key*, with the party id and the key's use as associated data, so a sealed key
  cannot be moved to another party or use unnoticed;
- `<party>.key` (0600): that device key. As with the NCP's tokens (hal/emulated/ncp/tokens.py),
  a real device keeps it in its MCU's protected storage; an emulator has a file, which protects
  a copied `.sealed` file on its own, not someone who can read both;
- `directory.json`: every party's public keys, which is what the parties exchange.

`provision` creates whatever is missing, under a lock, and never replaces a key: the rig runs it
before its first start and every process may run it again. No key is ever logged.
"""

from __future__ import annotations

import fcntl
import json
import os
import secrets
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from protocol.errors import ConfigError
from protocol.wan_security import KeyRing, PartyKeys, PublicKeys, check_party

__all__ = ["load_directory", "load_keys", "load_ring", "provision"]

DIRECTORY = "directory.json"
_NONCE = 12
_DEVICE_KEY = 32


def _file_stem(party: str) -> str:
    """A file name for a party id (`device:hub-1/esme` -> `device_hub-1_esme`)."""
    return check_party(party).replace(":", "_").replace("/", "_")


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path`, mode 0600, atomically (a crash leaves the old file or none)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(tmp, path)


@contextmanager
def _locked(keys_dir: Path) -> Iterator[None]:
    keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    with open(keys_dir / ".lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _aead(keys_dir: Path, party: str, create: bool) -> AESGCM:
    path = keys_dir / f"{_file_stem(party)}.key"
    if not path.exists():
        if not create:
            raise ConfigError(f"{path}: no device key for {party}")
        _write_private(path, secrets.token_bytes(_DEVICE_KEY))
    key = path.read_bytes()
    if len(key) != _DEVICE_KEY:
        raise ConfigError(f"{path}: a device key is {_DEVICE_KEY} bytes, found {len(key)}")
    return AESGCM(key)


def _seal(aead: AESGCM, party: str, use: str, secret: bytes) -> str:
    nonce = secrets.token_bytes(_NONCE)
    return (nonce + aead.encrypt(nonce, secret, f"{party}|{use}".encode())).hex()


def _unseal(aead: AESGCM, party: str, use: str, sealed: str, where: Path) -> bytes:
    try:
        raw = bytes.fromhex(sealed)
        return aead.decrypt(raw[:_NONCE], raw[_NONCE:], f"{party}|{use}".encode())
    except (ValueError, InvalidTag):
        raise ConfigError(f"{where}: the {use} key of {party} does not open") from None


def provision(keys_dir: Path, parties: Iterable[str]) -> None:
    """Give every party without keys a new pair each, and publish their public keys."""
    with _locked(keys_dir):
        directory = _read_directory(keys_dir)
        changed = False
        for party in parties:
            sealed = keys_dir / f"{_file_stem(party)}.sealed"
            if sealed.exists() and party in directory:
                continue
            keys = PartyKeys.from_random(secrets.token_bytes(64))
            aead = _aead(keys_dir, party, create=True)
            sign, agree = keys.to_secret_bytes()
            record = {
                "party": party,
                "sign": _seal(aead, party, "sign", sign),
                "agree": _seal(aead, party, "agree", agree),
            }
            _write_private(sealed, json.dumps(record).encode())
            directory[party] = keys.public.to_json()
            changed = True
        if changed:
            path = keys_dir / DIRECTORY
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(json.dumps(directory, indent=2, sort_keys=True) + "\n")
            os.replace(tmp, path)


def _read_directory(keys_dir: Path) -> dict[str, dict[str, str]]:
    path = keys_dir / DIRECTORY
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: not a key directory: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: not a key directory")
    return data


def load_directory(keys_dir: Path) -> dict[str, PublicKeys]:
    """Every party's public keys, as published."""
    path = keys_dir / DIRECTORY
    directory: dict[str, PublicKeys] = {}
    for party, entry in _read_directory(keys_dir).items():
        try:
            directory[check_party(party)] = PublicKeys.from_json(entry, f"{path}: {party}")
        except Exception as exc:  # LocalProtocolError from a hand-edited file
            raise ConfigError(str(exc)) from None
    return directory


def load_keys(keys_dir: Path, party: str) -> PartyKeys:
    """A party's private keys, opened with its device key."""
    path = keys_dir / f"{_file_stem(party)}.sealed"
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: no keys for {party}; the rig provisions them") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: unreadable: {exc}") from None
    if not isinstance(record, dict) or record.get("party") != party:
        raise ConfigError(f"{path}: not the keys of {party}")
    aead = _aead(keys_dir, party, create=False)
    sign = _unseal(aead, party, "sign", str(record.get("sign")), path)
    agree = _unseal(aead, party, "agree", str(record.get("agree")), path)
    return PartyKeys.from_secret_bytes(sign, agree)


def load_ring(keys_dir: Path, own: Iterable[str], trusted: Iterable[str]) -> KeyRing:
    """The private keys of the parties `own`, and the public keys of `trusted` (which must all
    have been provisioned)."""
    directory = load_directory(keys_dir)
    missing = [party for party in trusted if party not in directory]
    if missing:
        raise ConfigError(f"{keys_dir / DIRECTORY}: no public keys for {', '.join(missing)}")
    return KeyRing(
        own={party: load_keys(keys_dir, party) for party in own},
        directory={party: directory[party] for party in trusted},
    )

"""Local-access authentication of the optical port: a challenge and a proof, never a password.

Clause 17.2.20: no password crosses the optical port (or any interface) in clear; 17.2.21.c:
the meter keeps only "hashed" data; 17.2.21.b.2: the head-end can reset the password remotely.
The scheme is SCRAM's (RFC 5802) cut to one round trip over IEC 62056-21's password exchange:

- The verifier the meter stores: a random salt, an iteration count and
  ``StoredKey = SHA-256(ClientKey)``, where ``ClientKey = HMAC(PBKDF2-SHA256(password, salt,
  iterations), "Client Key")``. It cannot be turned back into the password, and knowing it is
  not enough to log in. The head-end can compute it and send it without the password.
- The meter's P0 operand is the challenge: ``salt.iterations.nonce`` (hex, a fresh 16-byte nonce
  every session, so no proof is ever good twice).
- The HHT answers P2 (IEC 62056-21: "operand is the result of a secure algorithm") with the
  engineer's code as the data set's address and ``ClientKey XOR HMAC(StoredKey, nonce|code)``
  as its value. The meter recomputes the signature, recovers ClientKey and checks its hash: the
  password is right and the engineer code was not changed on the way.

Sans-IO: salts and nonces are handed in by the caller.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from protocol.errors import DecodeError, LocalProtocolError

__all__ = [
    "ITERATIONS",
    "Challenge",
    "Verifier",
    "make_verifier",
    "proof",
    "verify_proof",
]

ITERATIONS = 20_000
SALT_BYTES = NONCE_BYTES = 16
_KEY_BYTES = 32
MAX_ITERATIONS = 1_000_000


@dataclass(frozen=True)
class Verifier:
    """What a meter stores of its password (17.2.21.c)."""

    salt: bytes
    iterations: int
    stored_key: bytes

    def to_json(self) -> dict[str, object]:
        return {
            "salt": self.salt.hex(),
            "iterations": self.iterations,
            "stored_key": self.stored_key.hex(),
        }

    @classmethod
    def from_json(cls, data: object) -> Verifier:
        """From the JSON object `to_json` gives; DecodeError if it is not one."""
        what = "local access verifier"
        if not isinstance(data, dict) or set(data) != {"salt", "iterations", "stored_key"}:
            raise DecodeError(what, "salt, iterations and stored_key", repr(data))
        try:
            salt, key = bytes.fromhex(data["salt"]), bytes.fromhex(data["stored_key"])
            iterations = data["iterations"]
        except (TypeError, ValueError):
            raise DecodeError(what, "hex salt and stored_key", repr(data)) from None
        if (
            len(salt) != SALT_BYTES
            or len(key) != _KEY_BYTES
            or type(iterations) is not int
            or not 1 <= iterations <= MAX_ITERATIONS
        ):
            raise DecodeError(what, "a 16-byte salt, a 32-byte key, 1..10^6 iterations", repr(data))
        return cls(salt, iterations, key)


def _client_key(password: str, salt: bytes, iterations: int) -> bytes:
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return hmac.digest(salted, b"Client Key", "sha256")


def make_verifier(password: str, salt: bytes, iterations: int = ITERATIONS) -> Verifier:
    """The verifier of `password` under `salt` (SALT_BYTES random bytes from the caller)."""
    if len(salt) != SALT_BYTES:
        raise LocalProtocolError(f"a salt is {SALT_BYTES} bytes")
    client_key = _client_key(password, salt, iterations)
    return Verifier(salt, iterations, hashlib.sha256(client_key).digest())


@dataclass(frozen=True)
class Challenge:
    """The P0 operand: the verifier's salt and iterations, and this session's nonce."""

    salt: bytes
    iterations: int
    nonce: bytes

    def encode(self) -> str:
        return f"{self.salt.hex()}.{self.iterations}.{self.nonce.hex()}"

    @classmethod
    def parse(cls, text: str) -> Challenge:
        what = "P0 challenge"
        parts = text.split(".")
        try:
            salt, nonce = bytes.fromhex(parts[0]), bytes.fromhex(parts[2])
            iterations = int(parts[1])
        except (IndexError, ValueError):
            raise DecodeError(what, "salt.iterations.nonce in hex", text) from None
        if len(parts) != 3 or len(salt) != SALT_BYTES or len(nonce) != NONCE_BYTES:
            raise DecodeError(what, "a 16-byte salt and a 16-byte nonce", text)
        if not 1 <= iterations <= MAX_ITERATIONS:
            raise DecodeError(what, f"1..{MAX_ITERATIONS} iterations", text)
        return cls(salt, iterations, nonce)


def _signature(stored_key: bytes, nonce: bytes, engineer: str) -> bytes:
    return hmac.digest(stored_key, nonce + b"|" + engineer.encode("ascii"), "sha256")


def proof(password: str, challenge: Challenge, engineer: str) -> str:
    """The P2 operand the HHT sends for `challenge`, bound to the engineer's code."""
    client_key = _client_key(password, challenge.salt, challenge.iterations)
    signature = _signature(hashlib.sha256(client_key).digest(), challenge.nonce, engineer)
    return bytes(a ^ b for a, b in zip(client_key, signature, strict=True)).hex()


def verify_proof(verifier: Verifier, nonce: bytes, engineer: str, text: str) -> bool:
    """True if `text` proves the password for this session's `nonce` and `engineer`."""
    try:
        sent = bytes.fromhex(text)
        engineer.encode("ascii")
    except (ValueError, UnicodeEncodeError):
        return False
    if len(sent) != _KEY_BYTES:
        return False
    signature = _signature(verifier.stored_key, nonce, engineer)
    client_key = bytes(a ^ b for a, b in zip(sent, signature, strict=True))
    return hmac.compare_digest(hashlib.sha256(client_key).digest(), verifier.stored_key)

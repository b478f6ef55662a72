"""The sealed envelope around every WAN payload: signed, encrypted, counted (17.2.1, 17.2.4, 18.11.j).

Sans-IO: keys, counters and nonces are handed in, and the replay window is a value the caller
stores. The layer works on bytes, whatever the payload (command, ack, result, event, status, or a
message kind added later), so it is the same on every channel and in both directions.

Wire layout (big-endian), built and parsed by `construct`:

| field     | size              | what |
|-----------|-------------------|------|
| magic     | 4 `SMWS`          | a sealed envelope, version below |
| version   | 1                 | 1 |
| channel   | 1 + up to 16      | the WAN channel it was sealed for (`cmd`, `result`...): moving an envelope to another topic is refused |
| sender    | 1 + up to 80      | the originator's party id (`supplier:alpha`, `hub:hub-0001`, `device:hub-0001/esme`) |
| recipient | 1 + up to 80      | the party it is encrypted to |
| counter   | 8                 | strictly increasing per originator and channel (replay protection) |
| nonce     | 12                | AES-GCM nonce, fresh per message (the caller draws it) |
| ref       | 1 + up to 36      | a correlation reference (the request id) in clear, so a refusal can name it |
| payload   | 4 + n             | AES-128-GCM ciphertext and tag; the header above is its associated data |
| signature | 64                | ECDSA P-256 / SHA-256 (r, s) of everything above, by the sender's signing key |

Keys. Each party holds two P-256 key pairs: one signs (ECDSA), one agrees keys (ECDH). The
message key is HKDF-SHA256(ECDH(sender's agreement key, recipient's agreement public key),
salt = nonce, info = header) cut to 128 bits: a fresh AES-128 key per message, bound to everything
the header says, that only the two ends can compute. The signature is checked before anything
is decrypted, so a forgery costs the receiver one verification and no plaintext is ever looked
at unauthenticated. ECDSA's per-signature secret is drawn inside OpenSSL (the only randomness
not handed in).

Every refusal is a `SecurityRefusal` carrying a `Refusal` reason, checked in this order: size
(before parsing), unsigned (not an envelope at all), malformed, wrong channel, not for me,
unknown originator, bad signature, replayed / beyond the window, undecryptable.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

import construct as c
from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "MAGIC",
    "MAX_ENVELOPE_BYTES",
    "NONCE_BYTES",
    "WINDOW",
    "Header",
    "KeyRing",
    "Opened",
    "PartyKeys",
    "PublicKeys",
    "Refusal",
    "ReplayWindow",
    "SecurityRefusal",
    "check_party",
    "device_party",
    "hub_party",
    "open_envelope",
    "operator_party",
    "peek_header",
    "seal",
    "supplier_party",
]

MAGIC = b"SMWS"
VERSION = 1
NONCE_BYTES = 12
SIGNATURE_BYTES = 64
AES_KEY_BYTES = 16  # AES-128 (17.2.4)
#: Largest envelope a receiver looks at: the largest WAN document plus the header, with margin.
MAX_ENVELOPE_BYTES = 64 * 1024 + 512
#: Counters this far below the highest accepted one are still taken once (reordering by the
#: broker or a retry); older ones are refused unread.
WINDOW = 64
_PARTY = re.compile(r"(supplier|operator|hub|device):[A-Za-z0-9._:/-]{1,72}")
_CHANNEL = re.compile(r"[a-z_]{1,16}")
_REF = re.compile(r"[A-Za-z0-9-]{0,36}")
_CURVE = ec.SECP256R1()
_COORD = 32


class Refusal(enum.StrEnum):
    """Why an envelope was refused; the text goes into the ack and the security event."""

    OVERSIZED = "oversized"
    UNSIGNED = "unsigned"
    MALFORMED = "malformed"
    WRONG_CHANNEL = "wrong channel"
    WRONG_RECIPIENT = "not addressed to this party"
    UNKNOWN_ORIGINATOR = "unknown originator"
    BAD_SIGNATURE = "bad signature"
    REPLAYED = "replayed"
    BEYOND_WINDOW = "out of order beyond the replay window"
    UNDECRYPTABLE = "cannot be decrypted"
    NOT_SERVED = "device not served by the originator"
    COMMS_DISABLED = "communications disabled"


class SecurityRefusal(RemoteProtocolError):
    """An envelope (or what it carries) was refused; `reason` says why, `header` is what could
    be read of it (None when not even the header parsed), `authentic` whether the originator's
    signature had been verified (then an answer can go back to it)."""

    def __init__(
        self, reason: Refusal, detail: str, header: Header | None = None, *, authentic: bool = False
    ) -> None:
        self.reason = reason
        self.detail = detail
        self.header = header
        self.authentic = authentic and header is not None
        super().__init__(f"{reason.value}: {detail}")


# -- parties and keys ------------------------------------------------------------------------------


def check_party(party: str) -> str:
    if not isinstance(party, str) or not _PARTY.fullmatch(party):
        raise LocalProtocolError(f"party id {party!r} must be <role>:<name> (role supplier, ...)")
    return party


def supplier_party(name: str) -> str:
    return check_party(f"supplier:{name}")


def operator_party(name: str) -> str:
    return check_party(f"operator:{name}")


def hub_party(wan_id: str) -> str:
    return check_party(f"hub:{wan_id}")


def device_party(wan_id: str, device: str) -> str:
    """A meter's WAN identity: its name behind its hub."""
    return check_party(f"device:{wan_id}/{device}")


def _point(key: ec.EllipticCurvePublicKey) -> bytes:
    return key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )


def _load_point(text: str, what: str) -> ec.EllipticCurvePublicKey:
    try:
        return ec.EllipticCurvePublicKey.from_encoded_point(_CURVE, bytes.fromhex(text))
    except ValueError:
        raise LocalProtocolError(f"{what}: not a P-256 point") from None


@dataclass(frozen=True)
class PublicKeys:
    """What a party publishes: its signature-verification and key-agreement public keys."""

    verify: ec.EllipticCurvePublicKey
    agree: ec.EllipticCurvePublicKey

    def to_json(self) -> dict[str, str]:
        return {"verify": _point(self.verify).hex(), "agree": _point(self.agree).hex()}

    @classmethod
    def from_json(cls, obj: Any, what: str) -> PublicKeys:
        if not isinstance(obj, dict) or not all(
            isinstance(obj.get(k), str) for k in ("verify", "agree")
        ):
            raise LocalProtocolError(f'{what}: expected {{"verify": hex, "agree": hex}}')
        return cls(_load_point(obj["verify"], what), _load_point(obj["agree"], what))

    def same_as(self, other: PublicKeys) -> bool:
        return self.to_json() == other.to_json()


@dataclass(frozen=True)
class PartyKeys:
    """A party's two private keys (never logged: no repr of the keys)."""

    sign: ec.EllipticCurvePrivateKey
    agree: ec.EllipticCurvePrivateKey

    @property
    def public(self) -> PublicKeys:
        return PublicKeys(self.sign.public_key(), self.agree.public_key())

    def __repr__(self) -> str:
        return "PartyKeys(<private>)"

    def to_secret_bytes(self) -> tuple[bytes, bytes]:
        """The two private scalars (32 octets each), for the caller to seal at rest."""
        return (
            self.sign.private_numbers().private_value.to_bytes(_COORD, "big"),
            self.agree.private_numbers().private_value.to_bytes(_COORD, "big"),
        )

    @classmethod
    def from_secret_bytes(cls, sign: bytes, agree: bytes) -> PartyKeys:
        return cls(
            ec.derive_private_key(int.from_bytes(sign, "big"), _CURVE),
            ec.derive_private_key(int.from_bytes(agree, "big"), _CURVE),
        )

    @classmethod
    def from_random(cls, random_bytes: bytes) -> PartyKeys:
        """Keys from 64 random octets the caller draws (sans-IO); reduced into the group."""
        if len(random_bytes) != 2 * _COORD:
            raise LocalProtocolError("party keys need 64 random bytes")
        order = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
        sign, agree = (
            int.from_bytes(random_bytes[i : i + _COORD], "big") % (order - 1) + 1
            for i in (0, _COORD)
        )
        return cls(ec.derive_private_key(sign, _CURVE), ec.derive_private_key(agree, _CURVE))


@dataclass(frozen=True)
class KeyRing:
    """What one end of the WAN holds: the private keys of the parties it acts as (`own`) and
    the public keys of the parties it accepts messages from (`directory`)."""

    own: dict[str, PartyKeys]
    directory: dict[str, PublicKeys]

    def __repr__(self) -> str:
        return f"KeyRing(own={sorted(self.own)}, trusted={sorted(self.directory)})"


# -- the envelope ----------------------------------------------------------------------------------

_HEADER = c.Struct(
    "magic" / c.Const(MAGIC),
    "version" / c.Const(VERSION, c.Int8ub),
    "channel" / c.PascalString(c.Int8ub, "ascii"),
    "sender" / c.PascalString(c.Int8ub, "ascii"),
    "recipient" / c.PascalString(c.Int8ub, "ascii"),
    "counter" / c.Int64ub,
    "nonce" / c.Bytes(NONCE_BYTES),
    "ref" / c.PascalString(c.Int8ub, "ascii"),
)
_ENVELOPE = c.Struct(
    "header" / c.RawCopy(_HEADER),
    "ciphertext" / c.Prefixed(c.Int32ub, c.GreedyBytes),
    "signature" / c.Bytes(SIGNATURE_BYTES),
    c.Terminated,
)


@dataclass(frozen=True)
class Header:
    """What an envelope says in clear (authenticated, not secret)."""

    channel: str
    sender: str
    recipient: str
    counter: int
    nonce: bytes
    ref: str


@dataclass(frozen=True)
class Opened:
    header: Header
    payload: bytes


def _message_key(
    mine: ec.EllipticCurvePrivateKey, theirs: ec.EllipticCurvePublicKey, nonce: bytes, header: bytes
) -> AESGCM:
    shared = mine.exchange(ec.ECDH(), theirs)
    key = HKDF(hashes.SHA256(), AES_KEY_BYTES, salt=nonce, info=b"smartmeter wan v1" + header)
    return AESGCM(key.derive(shared))


def seal(
    payload: bytes,
    *,
    channel: str,
    sender: str,
    sender_keys: PartyKeys,
    recipient: str,
    recipient_keys: PublicKeys,
    counter: int,
    nonce: bytes,
    ref: str = "",
) -> bytes:
    """Encrypt `payload` to `recipient` and sign it as `sender`; the envelope's bytes."""
    if len(nonce) != NONCE_BYTES:
        raise LocalProtocolError(f"a nonce is {NONCE_BYTES} bytes")
    if not 0 <= counter < 2**64:
        raise LocalProtocolError("counter out of range")
    if not _CHANNEL.fullmatch(channel) or not _REF.fullmatch(ref):
        raise LocalProtocolError(f"bad channel {channel!r} or ref {ref!r}")
    fields = {
        "channel": channel,
        "sender": check_party(sender),
        "recipient": check_party(recipient),
        "counter": counter,
        "nonce": nonce,
        "ref": ref,
    }
    header = bytes(_HEADER.build(fields))
    aead = _message_key(sender_keys.agree, recipient_keys.agree, nonce, header)
    ciphertext = aead.encrypt(nonce, payload, header)
    body = header + len(ciphertext).to_bytes(4, "big") + ciphertext
    r, s = decode_dss_signature(sender_keys.sign.sign(body, ec.ECDSA(hashes.SHA256())))
    envelope = body + r.to_bytes(_COORD, "big") + s.to_bytes(_COORD, "big")
    if len(envelope) > MAX_ENVELOPE_BYTES:
        raise LocalProtocolError(f"payload of {len(payload)} bytes is too large to seal")
    return envelope


def _parse(data: bytes) -> tuple[Header, bytes, bytes, bytes]:
    """(header, header bytes, signed body, signature); refusals for size, unsigned, malformed."""
    if len(data) > MAX_ENVELOPE_BYTES:
        raise SecurityRefusal(Refusal.OVERSIZED, f"{len(data)} bytes, at most {MAX_ENVELOPE_BYTES}")
    if not data.startswith(MAGIC):
        raise SecurityRefusal(Refusal.UNSIGNED, "not a sealed envelope")
    try:
        parsed = _ENVELOPE.parse(data)
    except (c.ConstructError, ValueError, UnicodeDecodeError) as exc:
        raise SecurityRefusal(Refusal.MALFORMED, str(exc).splitlines()[0][:120]) from None
    raw = parsed.header.value
    header = Header(raw.channel, raw.sender, raw.recipient, raw.counter, raw.nonce, raw.ref)
    for name, pattern in (("channel", _CHANNEL), ("sender", _PARTY), ("recipient", _PARTY)):
        if not pattern.fullmatch(getattr(header, name)):
            raise SecurityRefusal(Refusal.MALFORMED, f"bad {name}")
    if not _REF.fullmatch(header.ref):
        raise SecurityRefusal(Refusal.MALFORMED, "bad ref")
    header_bytes = bytes(parsed.header.data)
    body = data[: len(data) - SIGNATURE_BYTES]
    return header, header_bytes, body, bytes(parsed.signature)


def peek_header(data: bytes) -> Header | None:
    """The clear header of an envelope, or None (never raises): to name a refused message."""
    try:
        return _parse(data)[0]
    except SecurityRefusal:
        return None


def open_envelope(
    data: bytes,
    *,
    channel: str,
    me: str,
    my_keys: PartyKeys,
    directory: dict[str, PublicKeys],
    window: ReplayWindow,
) -> Opened:
    """Check and decrypt an envelope received on `channel` by party `me`.

    `directory` holds the public keys of every originator `me` accepts; `window` is the replay
    window of the envelope's originator on this channel (`ReplayWindow()` if none yet). Nothing
    is committed: the caller stores `window.accept(opened.header.counter)` with its acceptance.
    """
    header, header_bytes, body, signature = _parse(data)
    if header.channel != channel:
        raise SecurityRefusal(
            Refusal.WRONG_CHANNEL, f"sealed for {header.channel!r}, came on {channel!r}", header
        )
    if header.recipient != me:
        raise SecurityRefusal(Refusal.WRONG_RECIPIENT, f"addressed to {header.recipient}", header)
    sender_keys = directory.get(header.sender)
    if sender_keys is None:
        raise SecurityRefusal(Refusal.UNKNOWN_ORIGINATOR, header.sender, header)
    r = int.from_bytes(signature[:_COORD], "big")
    s = int.from_bytes(signature[_COORD:], "big")
    try:
        sender_keys.verify.verify(encode_dss_signature(r, s), body, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        raise SecurityRefusal(
            Refusal.BAD_SIGNATURE, f"not signed by {header.sender}'s key", header
        ) from None
    try:
        window.check(header.counter, header)
    except SecurityRefusal as exc:
        raise SecurityRefusal(exc.reason, exc.detail, header, authentic=True) from None
    aead = _message_key(my_keys.agree, sender_keys.agree, header.nonce, header_bytes)
    ciphertext = body[len(header_bytes) + 4 :]
    try:
        payload = aead.decrypt(header.nonce, ciphertext, header_bytes)
    except InvalidTag:
        raise SecurityRefusal(
            Refusal.UNDECRYPTABLE, "authentication tag mismatch", header
        ) from None
    return Opened(header, payload)


# -- replay window ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplayWindow:
    """The counters accepted from one originator on one channel: the highest, and which of the
    `WINDOW` below it were seen (bit i: highest - 1 - i), as IPsec's anti-replay window."""

    highest: int = -1
    seen: int = 0

    def check(self, counter: int, header: Header | None = None) -> None:
        """Refuse a counter already taken, or older than the window."""
        if counter > self.highest:
            return
        behind = self.highest - counter
        if behind == 0 or (behind <= WINDOW and self.seen >> (behind - 1) & 1):
            raise SecurityRefusal(Refusal.REPLAYED, f"counter {counter} already accepted", header)
        if behind > WINDOW:
            raise SecurityRefusal(
                Refusal.BEYOND_WINDOW,
                f"counter {counter} is {behind} behind {self.highest} (window {WINDOW})",
                header,
            )

    def accept(self, counter: int) -> ReplayWindow:
        """The window once `counter` (which passed `check`) is taken."""
        self.check(counter)
        mask = (1 << WINDOW) - 1
        if counter > self.highest:
            shift = counter - self.highest
            if self.highest < 0 or shift > WINDOW:  # nothing accepted yet, or all slid out
                return ReplayWindow(counter, 0)
            return ReplayWindow(counter, ((self.seen << shift) | 1 << (shift - 1)) & mask)
        return ReplayWindow(self.highest, self.seen | 1 << (self.highest - counter - 1))

    def to_json(self) -> list[int]:
        return [self.highest, self.seen]

    @classmethod
    def from_json(cls, value: Any) -> ReplayWindow:
        if (
            isinstance(value, list)
            and len(value) == 2
            and all(type(v) is int for v in value)
            and value[0] >= -1
            and 0 <= value[1] < 1 << WINDOW
        ):
            return cls(value[0], value[1])
        raise LocalProtocolError(f"not a stored replay window: {value!r}")

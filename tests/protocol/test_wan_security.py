"""The sealed WAN envelope (protocol/wan_security.py): round trips, every tamper refused, replay
window, with hypothesis for bit flips and counter order."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import LocalProtocolError
from protocol.wan_security import (
    MAX_ENVELOPE_BYTES,
    WINDOW,
    PartyKeys,
    PublicKeys,
    Refusal,
    ReplayWindow,
    SecurityRefusal,
    device_party,
    hub_party,
    open_envelope,
    peek_header,
    seal,
    supplier_party,
)


def keys(seed: str) -> PartyKeys:
    """Deterministic keys for tests (64 octets from a hash of the seed)."""
    digest = hashlib.sha512(seed.encode()).digest()
    return PartyKeys.from_random(digest)


ALPHA, BETA, HUB = supplier_party("alpha"), supplier_party("beta"), hub_party("hub-0001")
KEYS = {ALPHA: keys("alpha"), BETA: keys("beta"), HUB: keys("hub")}
DIRECTORY = {party: k.public for party, k in KEYS.items()}
NONCE = bytes(range(12))
FRESH = ReplayWindow()
PAYLOAD = b'{"v":1,"id":"x","type":"read","device":"esme"}'


def sealed(
    payload: bytes = PAYLOAD,
    *,
    counter: int = 1,
    sender: str = ALPHA,
    signer: PartyKeys | None = None,
    channel: str = "cmd",
    recipient: str = HUB,
) -> bytes:
    return seal(
        payload,
        channel=channel,
        sender=sender,
        sender_keys=signer or KEYS[sender],
        recipient=recipient,
        recipient_keys=DIRECTORY[recipient],
        counter=counter,
        nonce=NONCE,
        ref="0f8fad5b-d9cb-469f-a165-70867728950e",
    )


def opened(data: bytes, window: ReplayWindow = FRESH, channel: str = "cmd") -> bytes:
    return open_envelope(
        data, channel=channel, me=HUB, my_keys=KEYS[HUB], directory=DIRECTORY, window=window
    ).payload


def refusal(data: bytes, window: ReplayWindow = FRESH, channel: str = "cmd") -> Refusal:
    with pytest.raises(SecurityRefusal) as info:
        opened(data, window, channel)
    return info.value.reason


def test_round_trip_and_the_payload_is_not_in_clear() -> None:
    data = sealed()
    assert opened(data) == PAYLOAD
    assert b"esme" not in data and b"read" not in data
    header = peek_header(data)
    assert header is not None and (header.sender, header.counter) == (ALPHA, 1)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: PAYLOAD, Refusal.UNSIGNED),
        (lambda: b"SMWS\x01\x03cmd", Refusal.MALFORMED),
        (lambda: b"SMWS" + bytes(MAX_ENVELOPE_BYTES), Refusal.OVERSIZED),
        (lambda: sealed(signer=KEYS[BETA]), Refusal.BAD_SIGNATURE),
        (
            lambda: sealed(sender=supplier_party("mallory"), signer=KEYS[BETA]),
            Refusal.UNKNOWN_ORIGINATOR,
        ),
        (lambda: sealed(channel="result"), Refusal.WRONG_CHANNEL),
        (lambda: sealed(recipient=BETA), Refusal.WRONG_RECIPIENT),
        (lambda: sealed()[:-1], Refusal.MALFORMED),
        (lambda: sealed() + b"\x00", Refusal.MALFORMED),
    ],
    ids=[
        "unsigned",
        "malformed",
        "oversized",
        "forged",
        "unknown",
        "channel",
        "recipient",
        "cut",
        "extra",
    ],
)
def test_each_kind_of_bad_envelope_is_refused_with_its_reason(
    make: object, reason: Refusal
) -> None:
    assert callable(make)
    assert refusal(make()) is reason


def test_tampered_ciphertext_with_a_fresh_signature_still_cannot_be_decrypted() -> None:
    """Someone holding the sender's signing key but not the agreement keys cannot forge content."""
    impostor = PartyKeys(KEYS[ALPHA].sign, keys("other").agree)
    assert refusal(sealed(signer=impostor)) is Refusal.UNDECRYPTABLE


def test_replayed_and_too_old_counters_are_refused() -> None:
    window = ReplayWindow().accept(100)
    assert refusal(sealed(counter=100), window) is Refusal.REPLAYED
    assert refusal(sealed(counter=100 - WINDOW - 1), window) is Refusal.BEYOND_WINDOW
    assert opened(sealed(counter=100 - WINDOW), window) == PAYLOAD  # late but inside: taken once
    later = window.accept(100 - WINDOW)
    assert refusal(sealed(counter=100 - WINDOW), later) is Refusal.REPLAYED


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_bit_flip_anywhere_is_refused(data: st.DataObject) -> None:
    envelope = bytearray(sealed())
    bit = data.draw(st.integers(0, len(envelope) * 8 - 1))
    envelope[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(SecurityRefusal):
        opened(bytes(envelope))


@given(st.lists(st.integers(0, 300), max_size=60))
def test_the_window_takes_each_counter_at_most_once_and_never_goes_back(
    counters: list[int],
) -> None:
    window, taken = ReplayWindow(), set[int]()
    for counter in counters:
        try:
            window.check(counter)
        except SecurityRefusal as exc:
            assert counter in taken or counter < window.highest - WINDOW
            assert exc.reason in (Refusal.REPLAYED, Refusal.BEYOND_WINDOW)
            continue
        assert counter not in taken
        highest = window.highest
        window = window.accept(counter)
        taken.add(counter)
        assert window.highest == max(highest, counter)
        assert ReplayWindow.from_json(window.to_json()) == window


def test_keys_and_stored_forms_round_trip_and_do_not_show_secrets() -> None:
    party = KEYS[ALPHA]
    again = PartyKeys.from_secret_bytes(*party.to_secret_bytes())
    assert again.public.same_as(party.public)
    assert PublicKeys.from_json(party.public.to_json(), "x").same_as(party.public)
    assert "private" in repr(party) and party.to_secret_bytes()[0].hex() not in repr(party)
    with pytest.raises(LocalProtocolError):
        device_party("hub-0001", "bad name with spaces")

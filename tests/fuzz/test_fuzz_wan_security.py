"""Fuzz the sealed WAN envelope (protocol/wan_security.py): whatever comes, the receiver refuses
it with its own `SecurityRefusal` (or opens it, when it is a valid envelope) and nothing else."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.wan_security import SecurityRefusal, open_envelope, peek_header
from tests.fuzz.mutations import decode, fuzz_settings, fuzzed
from tests.protocol.test_wan_security import DIRECTORY, FRESH, HUB, KEYS, sealed

DECODER = "WAN envelope"

envelopes = st.builds(
    lambda payload, counter: sealed(payload, counter=counter),
    st.binary(max_size=120),
    st.integers(0, 2**64 - 1),
)


@fuzz_settings(300)
@given(fuzzed(envelopes, max_size=400))
def test_envelope(data: bytes) -> None:
    decode(
        DECODER,
        open_envelope,
        data,
        channel="cmd",
        me=HUB,
        my_keys=KEYS[HUB],
        directory=DIRECTORY,
        window=FRESH,
        allowed=(SecurityRefusal,),
    )
    decode(DECODER, peek_header, data)

"""Fuzz ZDO (protocol/zdo.py): every ZDO payload by its cluster, and clusters it does not know."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from protocol.zdo import ZDO_MESSAGES, ZdoMessage, parse_zdo
from tests.fuzz.mutations import decode, fuzz_settings, fuzzed
from tests.protocol.test_zdo import messages

DECODER = "ZDO"

# A payload with its own cluster, another known cluster, or one no message has.
clusters = st.sampled_from(sorted(ZDO_MESSAGES)) | st.integers(0, 0xFFFF)


@st.composite
def payloads(draw: st.DrawFn) -> tuple[int, bytes]:
    message: ZdoMessage = draw(messages)
    cluster = message.CLUSTER_ID if draw(st.booleans()) else draw(clusters)
    return cluster, draw(fuzzed(st.just(message.build()), max_size=40))


@fuzz_settings(600)
@given(payloads())
def test_zdo_payload(cluster_and_payload: tuple[int, bytes]) -> None:
    decode(DECODER, parse_zdo, *cluster_and_payload)

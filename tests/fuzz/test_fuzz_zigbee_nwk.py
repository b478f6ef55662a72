"""Fuzz ZigBee NWK (protocol/zigbee_nwk.py) and its frame security (protocol/zigbee_security.py):
frames, NWK commands, and secured frames through `unsecure_nwk_frame` as a receiver runs it.

A secured frame that fails its MIC is refused with `AuthenticationError`, the project's own
refusal of an unauthentic frame (a `RemoteProtocolError` beside `DecodeError`); the security
entry points may raise either, nothing else.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError
from protocol.zigbee_nwk import NwkFrame, parse_nwk_command
from protocol.zigbee_security import AuthenticationError, AuxSecurityHeader, secure_nwk_frame
from protocol.zigbee_security import unsecure_nwk_frame as unsecure
from tests.fuzz.mutations import decode, fuzz_settings, fuzzed, mutated
from tests.protocol.test_zigbee_nwk_aps import nwk_commands, nwk_frames
from tests.protocol.test_zigbee_security import aux_headers

DECODER = "ZigBee NWK"
NETWORK_KEY = bytes(range(16))
SECURED = (DecodeError, AuthenticationError)


def _secured(frame: NwkFrame) -> bytes:
    header = replace(frame, security=True).header_bytes()
    return secure_nwk_frame(header, frame.payload, NETWORK_KEY, 0x01020304, 0x00124B00AABBCCDD, 0)


secured_frames = nwk_frames.map(_secured)


@fuzz_settings(600)
@given(fuzzed(nwk_frames.map(NwkFrame.build) | secured_frames, max_size=100))
def test_nwk_frame(data: bytes) -> None:
    decode(DECODER, NwkFrame.parse, data)


@fuzz_settings(200)
@given(fuzzed(nwk_commands.map(lambda command: command.build()), max_size=8))
def test_nwk_command(data: bytes) -> None:
    decode(DECODER, parse_nwk_command, data)


@fuzz_settings(200)
@given(fuzzed(aux_headers.map(AuxSecurityHeader.build), max_size=20))
def test_auxiliary_security_header(data: bytes) -> None:
    decode(DECODER, AuxSecurityHeader.parse, data)


@fuzz_settings(400)
@given(st.one_of(secured_frames, mutated(secured_frames), st.binary(max_size=100)))
def test_secured_nwk_frame_as_received(data: bytes) -> None:
    """What a receiver does (hal/emulated/ncp/frame_receiver.py): parse, then unsecure."""
    frame = decode(DECODER, NwkFrame.parse, data)
    if frame is not None and frame.security:
        header = frame.header_bytes()
        decode(DECODER, unsecure, header, frame.payload, NETWORK_KEY, allowed=SECURED)


@fuzz_settings(200)
@given(st.binary(max_size=40), st.binary(max_size=60))
def test_unsecure_nwk_frame_on_anything(header: bytes, secured: bytes) -> None:
    decode(DECODER, unsecure, header, secured, NETWORK_KEY, allowed=SECURED)

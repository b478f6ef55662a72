"""Fuzz ZigBee APS (protocol/zigbee_aps.py) and its frame security (protocol/zigbee_security.py):
frames, APS commands, and secured frames through `unsecure_aps_frame` as a receiver runs it.

As for NWK, a MIC failure is refused with the project's `AuthenticationError`.
"""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given
from hypothesis import strategies as st

from protocol.errors import DecodeError
from protocol.zigbee_aps import ApsFrame, ApsFrameType, parse_aps_command
from protocol.zigbee_security import AuthenticationError, KeyId, secure_aps_frame
from protocol.zigbee_security import unsecure_aps_frame as unsecure
from tests.fuzz.mutations import decode, fuzz_settings, fuzzed, mutated
from tests.protocol.test_zigbee_nwk_aps import aps_commands, aps_frames

DECODER = "ZigBee APS"
LINK_KEY = bytes(range(16, 32))
SENDER = 0x00124B0001020304
SECURED = (DecodeError, AuthenticationError)


@st.composite
def secured_frames(draw: st.DrawFn) -> bytes:
    frame = draw(aps_frames())
    header = replace(frame, security=True).header_bytes()
    key_id = draw(st.sampled_from([KeyId.DATA, KeyId.KEY_TRANSPORT, KeyId.KEY_LOAD]))
    payload = draw(aps_commands.map(lambda command: command.build()))
    if frame.frame_type != ApsFrameType.COMMAND:
        payload = frame.payload
    return secure_aps_frame(header, payload, LINK_KEY, 7, SENDER, key_id, draw(st.booleans()))


@fuzz_settings(600)
@given(fuzzed(aps_frames().map(ApsFrame.build) | secured_frames(), max_size=100))
def test_aps_frame(data: bytes) -> None:
    decode(DECODER, ApsFrame.parse, data)


@fuzz_settings(300)
@given(fuzzed(aps_commands.map(lambda command: command.build()), max_size=40))
def test_aps_command(data: bytes) -> None:
    decode(DECODER, parse_aps_command, data)


@fuzz_settings(400)
@given(st.one_of(secured_frames(), mutated(secured_frames()), st.binary(max_size=100)))
def test_secured_aps_frame_as_received(data: bytes) -> None:
    """What a receiver does (hal/emulated/ncp/aps_security.py): parse, unsecure, then parse
    the command inside."""
    frame = decode(DECODER, ApsFrame.parse, data)
    if frame is None or not frame.security:
        return
    opened = decode(
        DECODER, unsecure, frame.header_bytes(), frame.payload, LINK_KEY, SENDER, allowed=SECURED
    )
    if opened is not None and frame.frame_type == ApsFrameType.COMMAND:
        decode(DECODER, parse_aps_command, opened[1])


@fuzz_settings(200)
@given(st.binary(max_size=12), st.binary(max_size=60))
def test_unsecure_aps_frame_on_anything(header: bytes, secured: bytes) -> None:
    decode(DECODER, unsecure, header, secured, LINK_KEY, SENDER, allowed=SECURED)

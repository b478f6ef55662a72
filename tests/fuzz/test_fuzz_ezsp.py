"""Fuzz EZSP (hal/emulated/ncp/ezsp_codec.py): command frames of every frame id bellows knows,
for each protocol version the NCP speaks, in both frame formats; only the codec's refusal may
come out (the NCP answers it with invalidCommand, never silence)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from hal.emulated.ncp.ezsp_codec import EzspCodec, commands_for
from tests.fuzz.mutations import decode, fuzz_settings, fuzzed

DECODER = "EZSP"
VERSIONS = (13, 18)


@st.composite
def frames(draw: st.DrawFn) -> tuple[int, bytes]:
    version = draw(st.sampled_from(VERSIONS))
    frame_id = draw(
        st.sampled_from(sorted({cmd_id for cmd_id, _tx, _rx in commands_for(version).values()}))
        | st.integers(0, 0xFFFF)
    )
    seq = draw(st.integers(0, 0xFF))
    if draw(st.booleans()):  # the extended format of EZSP 8 and later
        header = bytes([seq, 0x00, 0x01]) + frame_id.to_bytes(2, "little")
    else:  # the legacy format (a host's first `version`, and after every reset)
        header = bytes([seq, 0x00, frame_id & 0xFF])
    body = draw(st.binary(max_size=64))
    return version, draw(fuzzed(st.just(header + body), max_size=80))


@fuzz_settings(1500)
@given(frames())
def test_ezsp_command_frame(version_and_frame: tuple[int, bytes]) -> None:
    version, frame = version_and_frame
    decode(DECODER, EzspCodec(version).parse, frame)


def test_a_command_without_parameters_is_read_not_crashed_on() -> None:
    """v13's gpTranslationTableClear (0x010B): bellows declares its parameters as ()."""
    command = EzspCodec(13).parse(bytes([0x07, 0x00, 0x01, 0x0B, 0x01]))
    assert (command.name, command.params) == ("gpTranslationTableClear", {})

"""Fuzz IEEE 802.15.4 MAC (protocol/ieee802154.py): frames, MAC commands, beacon payloads."""

from __future__ import annotations

from hypothesis import given

from protocol.ieee802154 import BeaconPayload, MacFrame, fcs16, parse_mac_command
from tests.fuzz.mutations import decode, fuzz_settings, fuzzed, sealed_mutations
from tests.protocol.test_ieee802154 import beacons, mac_commands, mac_frames

DECODER = "IEEE 802.15.4 MAC"


def _with_fcs(body: bytes) -> bytes:
    return body + fcs16(body).to_bytes(2, "little")


bodies = mac_frames().map(lambda frame: frame.build(include_fcs=False))


@fuzz_settings(600)
@given(sealed_mutations(bodies, _with_fcs, max_size=140))
def test_mac_frame_with_fcs(data: bytes) -> None:
    decode(DECODER, MacFrame.parse, data)


@fuzz_settings(300)
@given(fuzzed(bodies, max_size=140))
def test_mac_frame_without_fcs(data: bytes) -> None:
    decode(DECODER, MacFrame.parse, data, False)


@fuzz_settings(200)
@given(fuzzed(mac_commands.map(lambda command: command.build()), max_size=8))
def test_mac_command(data: bytes) -> None:
    decode(DECODER, parse_mac_command, data)


@fuzz_settings(200)
@given(fuzzed(beacons.map(BeaconPayload.build), max_size=24))
def test_beacon_payload(data: bytes) -> None:
    decode(DECODER, BeaconPayload.parse, data)

"""The emulated NCP's tokens: a restarted NCP resumes its network without joining again, its
frame counters never go back (even after a crash), and no key is stored in clear."""

from __future__ import annotations

import asyncio
import stat
from pathlib import Path

import pytest

from hal.emulated.air_channel import AirChannel, InProcessRadioLink
from hal.emulated.ncp.aps_delivery import DUPLICATE_WINDOW_S
from hal.emulated.ncp.runner import EmulatedNcp
from hal.emulated.ncp.tokens import COUNTER_BLOCK
from hal.ezsp_node import EzspNodeRadio
from hal.real.ezsp_dongle import EzspDongle
from protocol.errors import DecodeError
from protocol.ieee802154 import FrameType, MacFrame
from protocol.zigbee_nwk import NwkFrame
from protocol.zigbee_security import AuxSecurityHeader, link_key_from_install_code
from tests.han_fixtures import METER_ENDPOINT, coordinator, joining_radio, permit
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(90)
KEY_A = link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))
KEY_B = bytes(range(16))
EUI_A = 0x000D6F000000A001
EUI_B = 0x000D6F000000B001


def nwk_counters_from(frames: list[bytes], eui64: int) -> list[int]:
    """Outgoing NWK frame counters of `eui64` in captured PSDUs (auxiliary headers, 4.5.1)."""
    counters = []
    for psdu in frames:
        try:
            mac = MacFrame.parse(psdu)
            if mac.frame_type != FrameType.DATA:
                continue
            nwk = NwkFrame.parse(mac.payload)
            if not nwk.security:
                continue
            aux, _rest = AuxSecurityHeader.parse_prefix(nwk.payload)
        except DecodeError:
            continue
        if aux.source == eui64:
            counters.append(aux.frame_counter)
    return counters


def mac_commands_from(frames: list[bytes], eui64: int) -> list[bytes]:
    out = []
    for psdu in frames:
        mac = MacFrame.parse(psdu)
        if mac.frame_type == FrameType.COMMAND and mac.src_addr in (eui64, None):
            out.append(psdu)
    return out


@pytest.mark.req("17.2.10")
async def test_a_restarted_ncp_resumes_without_joining_and_counters_go_forward(
    tmp_path: Path,
) -> None:
    air = AirChannel()
    store = tmp_path / "esme-ncp.sqlite"
    captured: list[bytes] = []
    air.add_monitor(lambda channel, psdu: captured.append(psdu))
    async with coordinator(air) as (app, _hub_ncp):
        await permit(app, EUI_A, KEY_A)
        await permit(app, EUI_B, KEY_B)
        async with joining_radio(air, EUI_B, "ihd") as (radio_b, _ncp_b, received_b):
            node_b = await radio_b.join(link_key=KEY_B, channel=15)
            ncp_a = EmulatedNcp(EUI_A, InProcessRadioLink(air, EUI_A, "esme"), 13, "esme", store)
            await ncp_a.start()
            radio_a = EzspNodeRadio(EzspDongle(ncp_a.url))
            await radio_a.connect(METER_ENDPOINT, router=True, on_message=lambda message: None)
            assert await radio_a.resume() is None  # fresh NCP: nothing to resume
            node_a = await radio_a.join(link_key=KEY_A, channel=15)
            await radio_a.send(node_b, 0x0702, 1, b"\x00\x01\x00")
            network_key = ncp_a.state.network_key
            assert network_key is not None
            before = nwk_counters_from(captured, EUI_A)
            await radio_a.close()
            await ncp_a.stop()
            # Outlast the peer's APS duplicate-rejection window, so that the 1-in-256 chance of
            # the rebooted node picking the same APS counter cannot eat the next frame. Not a
            # synchronisation sleep: the window runs on B's real-time loop timer and has no
            # observable end, so real time has to pass (as it does while a node reboots).
            await asyncio.sleep(DUPLICATE_WINDOW_S)

            raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.suffix != ".key")
            for key in (network_key, KEY_A):
                assert key not in raw
                assert key.hex().encode() not in raw
                assert key.hex().upper().encode() not in raw
            key_file = tmp_path / "esme-ncp.sqlite.key"
            assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

            captured.clear()
            ncp_a = EmulatedNcp(EUI_A, InProcessRadioLink(air, EUI_A, "esme"), 13, "esme", store)
            await ncp_a.start()
            radio_a = EzspNodeRadio(EzspDongle(ncp_a.url))
            try:
                await radio_a.connect(METER_ENDPOINT, router=True, on_message=lambda message: None)
                assert await radio_a.resume() == node_a
                assert ncp_a.state.network_key == network_key
                assert "joinNetwork" not in ncp_a.commands_seen
                await radio_a.send(node_b, 0x0702, 1, b"\x00\x02\x00")
                await eventually(
                    lambda: received_b and received_b[-1].payload == b"\x00\x02\x00",
                    5,
                    "B hearing the restarted A",
                )
            finally:
                await radio_a.close()
                await ncp_a.stop()
            assert mac_commands_from(captured, EUI_A) == []  # no beacon request, no association
            after = nwk_counters_from(captured, EUI_A)
            assert after and min(after) > max(before)
            assert [m.payload for m in received_b][-1] == b"\x00\x02\x00"


async def test_counters_skip_ahead_after_a_crash(tmp_path: Path) -> None:
    store = tmp_path / "ncp.sqlite"
    air = AirChannel()
    crashed = EmulatedNcp(EUI_A, InProcessRadioLink(air, EUI_A, "a"), 13, "a", store)
    used = [crashed.stack.next_frame_counter("nwk") for _ in range(COUNTER_BLOCK + 10)]
    aps_used = crashed.stack.next_frame_counter("aps")
    # kill -9: no stop(), no close(); the process's memory is simply gone.
    reborn = EmulatedNcp(EUI_A, InProcessRadioLink(air, EUI_A, "a"), 13, "a", store)
    try:
        assert reborn.stack.next_frame_counter("nwk") > max(used)
        assert reborn.stack.next_frame_counter("aps") > aps_used
    finally:
        assert crashed.tokens._store is not None
        crashed.tokens._store.close()  # only to release the file handle in this test process
        reborn.tokens.close(reborn.state)


async def test_a_ram_only_ncp_keeps_nothing(tmp_path: Path) -> None:
    ncp = EmulatedNcp(EUI_A, InProcessRadioLink(AirChannel(), EUI_A, "a"), 13, "a")
    assert not ncp.tokens.persistent
    assert ncp.stack.next_frame_counter("nwk") == 0
    assert list(tmp_path.iterdir()) == []

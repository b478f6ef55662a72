"""The energy scan takes 802.15.4's time per channel and reports what the air carries there.

Stacks on the manual timer (`ncp_harness`): each channel's result comes when its dwell,
aBaseSuperframeDuration * (2^n + 1) symbols of 16 us, is over; a channel on which another node
transmits reads that node's signal, an idle one the noise floor, and a node's own transmissions
never count as energy it measures.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import bellows.types as t
import pytest

from hal.emulated.air_channel import DEFAULT_RSSI
from hal.emulated.ncp.channel_energy import NOISE_FLOOR_DBM
from hal.emulated.ncp.network_management import scan_dwell_s
from protocol.ieee802154 import AddrMode, FrameType, MacFrame
from tests.hal.ncp_harness import CHANNEL, Bench

pytestmark = pytest.mark.timeout(30)
ENERGY = t.EzspNetworkScanType.ENERGY_SCAN
HUB, OTHER = 0x000D6F0000000001, 0x000D6F0000000002
#: Any frame will do: energy is energy, whatever it carries.
NOISE = MacFrame(
    FrameType.DATA,
    seq=1,
    dst_addr_mode=AddrMode.SHORT,
    dst_pan=0xABCD,
    dst_addr=0xFFFF,
    src_addr_mode=AddrMode.SHORT,
    src_addr=0x1234,
    pan_id_compression=True,
    payload=b"\x00\x01",
).build()


@pytest.fixture
async def bench() -> AsyncIterator[Bench]:
    bench = Bench()
    try:
        yield bench
    finally:
        await bench.close()


def test_the_dwell_is_the_802154_scan_duration() -> None:
    assert scan_dwell_s(0) == pytest.approx(960 * 2 * 16e-6)  # 30.72 ms
    assert scan_dwell_s(2) == pytest.approx(0.0768)  # zigpy-cli's energy-scan
    assert scan_dwell_s(14) == pytest.approx(960 * (2**14 + 1) * 16e-6)  # about 252 s


async def test_each_channel_reports_when_its_dwell_ends_with_the_energy_heard(
    bench: Bench,
) -> None:
    hub = await bench.coordinator(HUB)
    other = await bench.node(OTHER, "other")
    other.link.transmit(20, NOISE)  # someone else's traffic on channel 20
    hub.link.transmit(CHANNEL, NOISE)  # the hub's own, on its own channel
    await bench.settle()
    start = bench.timer.monotonic()
    assert hub.stack.start_scan(ENERGY, [CHANNEL, 20, 25], 3) == t.sl_Status.OK
    await bench.run_for(10)
    dwell = scan_dwell_s(3)
    results = [
        (at - start, v["channel"], v["maxRssiValue"])
        for at, v in hub.called("energyScanResultHandler")
    ]
    assert [channel for _, channel, _ in results] == [CHANNEL, 20, 25]
    assert [at for at, _, _ in results] == pytest.approx([dwell, 2 * dwell, 3 * dwell])
    assert [energy for _, _, energy in results] == [NOISE_FLOOR_DBM, DEFAULT_RSSI, NOISE_FLOOR_DBM]
    ((done_at, done),) = hub.called("scanCompleteHandler")
    assert done_at - start == pytest.approx(3 * dwell) and done["status"] == t.sl_Status.OK


async def test_energy_long_gone_is_not_reported(bench: Bench) -> None:
    hub = await bench.coordinator(HUB)
    other = await bench.node(OTHER, "other")
    other.link.transmit(20, NOISE)
    await bench.settle()
    await bench.run_for(5)
    assert hub.stack.start_scan(ENERGY, [20], 0) == t.sl_Status.OK
    await bench.run_for(1)
    ((_, result),) = hub.called("energyScanResultHandler")
    assert result == {"channel": 20, "maxRssiValue": NOISE_FLOOR_DBM}


async def test_scans_the_ncp_refuses(bench: Bench) -> None:
    hub = await bench.coordinator(HUB)
    assert hub.stack.start_scan(ENERGY, [11], 15) == t.sl_Status.BAD_SCAN_DURATION
    assert hub.stack.start_scan(ENERGY, [], 1) == t.sl_Status.INVALID_PARAMETER
    active = t.EzspNetworkScanType.ACTIVE_SCAN
    assert hub.stack.start_scan(active, [11], 1) == t.sl_Status.NOT_SUPPORTED
    assert hub.stack.start_scan(ENERGY, [11, 12], 1) == t.sl_Status.OK
    assert hub.stack.start_scan(ENERGY, [11], 1) == t.sl_Status.MAC_SCANNING
    await bench.run_for(1)
    assert len(hub.called("scanCompleteHandler")) == 1
    assert hub.stack.start_scan(ENERGY, [11], 1) == t.sl_Status.OK  # done: a new one may start


async def test_a_reboot_ends_a_scan_in_progress(bench: Bench) -> None:
    """Nothing the previous boot scheduled reaches the next host session."""
    hub = await bench.coordinator(HUB)
    assert hub.stack.start_scan(ENERGY, list(range(11, 27)), 5) == t.sl_Status.OK
    await bench.run_for(scan_dwell_s(5) * 1.5)
    assert len(hub.called("energyScanResultHandler")) == 1
    hub.stack.reboot()
    await bench.run_for(20)
    assert len(hub.called("energyScanResultHandler")) == 1
    assert hub.called("scanCompleteHandler") == []
    assert hub.stack.start_scan(ENERGY, [11], 0) == t.sl_Status.OK  # not stuck "scanning"

"""Benchmark (not a test): APS frames per second between two emulated NCPs through bellows.

    .venv/bin/python -m tests.perf.bench_channel [--frames 500] [--in-flight 1]

Two devices joined to a bellows/zigpy coordinator on an in-process air; one sends APS-acked
unicasts to the other through bellows (EZSP over ASH over a pseudo-terminal, NWK-secured on the
air), awaiting each delivery report. Measured for a cluster under the network key only (Time) and
for an APS-encrypted Smart Energy cluster (Metering).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from hal.emulated.air_channel import AirChannel
from hal.emulated.ncp.runner import HostLink
from protocol.zigbee_security import link_key_from_install_code
from tests.han_fixtures import coordinator, joining_radio, permit

KEY = link_key_from_install_code(bytes.fromhex("83FED3407A939723A5C639B26916D505C3B5"))
SENDER, RECEIVER = 0x000D6F0000003001, 0x000D6F0000001001


async def run(frames: int, in_flight: int) -> None:
    air = AirChannel()
    async with coordinator(air, host_link=HostLink.PTY) as (app, _hub):
        await permit(app, SENDER, KEY)
        await permit(app, RECEIVER, KEY)
        async with (
            joining_radio(air, RECEIVER, "esme", host_link=HostLink.PTY) as (meter, _m, inbox),
            joining_radio(air, SENDER, "ihd", router=False, host_link=HostLink.PTY) as (ihd, _i, _),
        ):
            await meter.join(link_key=KEY, channel=15)
            await ihd.join(link_key=KEY, channel=15)
            assert meter.node_id is not None, "the meter has joined, so it has a node id"
            meter_id = meter.node_id
            for cluster, label in (
                (0x000A, "Time (network key only)"),
                (0x0702, "Metering (APS-encrypted)"),
            ):
                await ihd.send(
                    meter_id, cluster, 1, b"\x00\x00\x00\x00\x00"
                )  # warm-up, key exchange
                before = len(inbox)
                started = time.perf_counter()
                gate = asyncio.Semaphore(in_flight)

                async def one(
                    index: int, cluster: int = cluster, gate: asyncio.Semaphore = gate
                ) -> None:
                    async with gate:
                        await ihd.send(
                            meter_id, cluster, 1, bytes([0x00, index & 0xFF, 0x00, 0x00, 0x00])
                        )

                await asyncio.gather(*(one(i) for i in range(frames)))
                elapsed = time.perf_counter() - started
                delivered = len(inbox) - before
                print(
                    f"{label}: {frames} APS-acked unicasts, {in_flight} in flight: {elapsed:.2f} s, "
                    f"{frames / elapsed:.0f} frames/s, {delivered} delivered"
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=500)
    parser.add_argument("--in-flight", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(run(args.frames, args.in_flight))


if __name__ == "__main__":
    main()

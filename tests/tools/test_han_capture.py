"""`smartmeter han capture|keys` without a rig: an in-process air served over TCP, and a
stand-in hub control socket. The whole-rig version with tshark is
tests/integration/test_han_capture.py."""

from __future__ import annotations

import asyncio
import json
import struct
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from hal.emulated.air_channel import AirChannel
from hal.emulated.air_server import AirServer
from protocol import pcap
from protocol.air_link import Transmit
from tests.ports import reserve_port
from tests.tools.test_cli import assert_user_error, fake_component, rig_file, run, run_dir
from tests.waiting import wait_until
from tools.han_capture import capture

__all__ = ["rig_file", "run_dir"]  # fixtures shared with test_cli.py

FRAMES = [bytes([0x41, 0x88, seq, 0x62, 0x1A, 0xFF, 0xFF, 0, 0, 0, 0]) for seq in range(5)]


@pytest.fixture
def air() -> Iterator[tuple[AirServer, asyncio.AbstractEventLoop]]:
    """An `AirServer` on a free port, on its own loop in a daemon thread."""
    server = AirServer(AirChannel(), "127.0.0.1", 0)
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(server.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(5)
    try:
        yield server, loop
    finally:
        asyncio.run_coroutine_threadsafe(server.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def records(path: Path) -> list[tuple[int, bytes]]:
    """(timestamp in µs, frame) for each record of a pcap file we wrote."""
    data = path.read_bytes()
    assert data[:24] == pcap.global_header()
    out, at = [], 24
    while at < len(data):
        seconds, micros, captured, _ = struct.unpack_from("<IIII", data, at)
        out.append((seconds * 1_000_000 + micros, data[at + 16 : at + 16 + captured]))
        at += 16 + captured
    return out


def test_a_monitor_gets_every_frame_on_every_channel_and_is_removed_when_it_leaves(
    air: tuple[AirServer, asyncio.AbstractEventLoop], tmp_path: Path
) -> None:
    server, loop = air
    node = server.channel.attach(1, "sender", lambda _m: None)
    out = tmp_path / "air.pcap"
    result: list[int] = []
    worker = threading.Thread(
        target=lambda: result.append(capture("127.0.0.1", server.port, out, 1.5))
    )
    before = time.time_ns() // 1000
    worker.start()
    wait_until(lambda: server.channel.monitor_count == 1, 5, "the capture attaching", interval=0.01)
    for i, frame in enumerate(FRAMES):  # channels 11..15: a monitor hears them all
        loop.call_soon_threadsafe(server.channel.transmit, node, Transmit(11 + i, frame))
    worker.join(10)
    after = time.time_ns() // 1000
    assert result == [len(FRAMES)]
    got = records(out)
    assert [frame for _, frame in got] == FRAMES
    assert all(before <= stamp <= after for stamp, _ in got)
    wait_until(lambda: server.channel.monitor_count == 0, 5, "the capture leaving", interval=0.01)
    assert node.frames_sent == len(FRAMES)  # the monitor is no node: it is not counted


def test_capture_without_an_air_says_the_rig_is_not_running(tmp_path: Path) -> None:
    from protocol.errors import TransientLinkError

    with pytest.raises(TransientLinkError, match="is the rig running"):
        capture("127.0.0.1", reserve_port(), tmp_path / "x.pcap", 1.0)


@pytest.mark.parametrize("duration", ["0", "-1", "3601", "nan", "inf", "soon"])
def test_duration_is_validated(
    capsys: pytest.CaptureFixture[str], rig_file: Path, duration: str
) -> None:
    status, _, err = run(
        capsys, "han", "capture", "x.pcap", f"--duration={duration}", "--rig", str(rig_file)
    )
    assert_user_error(status, err, "--duration")


def test_keys_prints_the_hubs_key(
    capsys: pytest.CaptureFixture[str], rig_file: Path, run_dir: Path
) -> None:
    reply = {"network_key": "01" * 16, "key_seq": 0}
    with fake_component(run_dir / "hub.sock", {"keys": reply}) as requests:
        status, out, err = run(capsys, "han", "keys", "--rig", str(rig_file))
    assert (status, err) == (0, "")
    assert json.loads(out) == reply
    assert requests == [{"cmd": "keys"}]


def test_keys_without_a_hub_is_a_user_error(
    capsys: pytest.CaptureFixture[str], rig_file: Path
) -> None:
    status, _, err = run(capsys, "han", "keys", "--rig", str(rig_file))
    assert_user_error(status, err, "nothing is listening")

"""`smartmeter ncp serve`: a standalone virtual dongle as a real process.

Mistakes on the command line are one line and exit status 1; a `--pty PATH` dongle is opened by
bellows through its stable symlink, which goes away with the process; `--rig` puts the dongle's
radio on the rig's air. zigpy-cli against it is tests/integration/test_zigpy_cli_oracle.py.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import zigpy.config as zc
from bellows.ezsp import EZSP

from hal.emulated.air_server import AirServer
from tests.ports import reserve_port
from tests.rig_files import demo_rig_copy
from tests.tools.test_cli import assert_user_error, run
from tests.tools.test_han_capture import air  # noqa: F401  (fixture)
from tests.waiting import eventually, wait_until

pytestmark = pytest.mark.timeout(60)
READY_S = 20.0


def smartmeter() -> str:
    return str(Path(sys.executable).with_name("smartmeter"))


class Served:
    """`smartmeter ncp serve ...` started as a process; `line` is its ready line."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [smartmeter(), "ncp", "serve", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        wait_until(self._ready, READY_S, "the NCP's ready line")

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.strip())

    def _ready(self) -> bool:
        assert self.process.poll() is None, f"ncp serve exited: {self.lines}"
        return any(" ready at " in line for line in self.lines)

    @property
    def line(self) -> str:
        return next(line for line in self.lines if " ready at " in line)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(10)


@pytest.fixture
def served() -> Iterator[list[Served]]:
    started: list[Served] = []
    yield started
    for one in started:
        if one.process.poll() is None:
            one.process.kill()
            one.process.wait(10)


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "exactly one of --tcp"),
        (["--tcp", "127.0.0.1:1", "--pty", "/tmp/x"], "exactly one of --tcp"),
        (["--tcp", "localhost"], "--tcp must be HOST:PORT"),
        (["--tcp", "127.0.0.1:70000"], "--tcp must be HOST:PORT"),
        (["--tcp", "127.0.0.1:1", "--ezsp-version", "12"], "--ezsp-version must be 13 or 18"),
        (["--tcp", "127.0.0.1:1", "--eui64", "00:11"], "--eui64 must be 16 hex digits"),
        (["--tcp", "127.0.0.1:1", "--rig", "/nonexistent/rig.toml"], "does not exist"),
        (["--tcp", "127.0.0.1:1", "--state", "/nonexistent/ncp.sqlite"], "does not exist"),
        (["--pty", "/nonexistent/ttyEZSP"], "is not a folder"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_1(
    capsys: pytest.CaptureFixture[str], argv: list[str], fragment: str
) -> None:
    status, _out, err = run(capsys, "ncp", "serve", *argv)
    assert_user_error(status, err, fragment)
    assert len(err.strip().splitlines()) == 1


def test_a_pty_path_that_is_not_a_symlink_is_left_alone(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    mine = tmp_path / "ttyEZSP"
    mine.write_text("not a tty")
    status, _out, err = run(capsys, "ncp", "serve", "--pty", str(mine))
    assert_user_error(status, err, "is not a symlink")
    assert mine.read_text() == "not a tty"


def test_a_busy_tcp_port_is_one_line(
    served: list[Served], capsys: pytest.CaptureFixture[str]
) -> None:
    port = reserve_port()
    served.append(Served("--tcp", f"127.0.0.1:{port}"))
    status, _out, err = run(capsys, "ncp", "serve", "--tcp", f"127.0.0.1:{port}")
    assert_user_error(status, err, "cannot open the host link")


async def test_a_pty_dongle_is_opened_through_its_stable_path(
    served: list[Served], tmp_path: Path
) -> None:
    link = tmp_path / "ttyEZSP"
    dongle = await asyncio.to_thread(Served, "--pty", str(link), "--ezsp-version", "18")
    served.append(dongle)
    assert dongle.line.endswith(f"ready at {link}")
    assert os.readlink(link).startswith("/dev/pts/")
    for _session in range(2):  # a USB dongle outlives its hosts
        ezsp = EZSP(zc.SCHEMA_DEVICE({zc.CONF_DEVICE_PATH: str(link)}))
        await ezsp.connect(use_thread=False)
        try:
            assert ezsp.ezsp_version == 18
            (eui64,) = await ezsp.getEui64()
            assert str(eui64) == "00:0d:6f:00:00:0d:00:01"
        finally:
            await ezsp.disconnect()
    assert await asyncio.to_thread(dongle.stop) == 0
    assert not link.is_symlink()


async def test_with_a_rig_the_dongle_is_on_the_rigs_air(
    served: list[Served],
    tmp_path: Path,
    air: tuple[AirServer, asyncio.AbstractEventLoop],  # noqa: F811
) -> None:
    server = air[0]
    rig = demo_rig_copy(tmp_path)
    text = rig.read_text()
    # the rig's [air] is where our in-test air server listens
    start = text.index("[air]")
    end = text.index("\n[", start + 1)
    section = text[start:end]
    port_line = next(line for line in section.splitlines() if line.startswith("port"))
    rig.write_text(text[:start] + section.replace(port_line, f"port = {server.port}") + text[end:])
    dongle = await asyncio.to_thread(
        Served,
        "--rig",
        str(rig),
        "--tcp",
        f"127.0.0.1:{reserve_port()}",
        "--eui64",
        "000d6f00000d0099",
    )
    served.append(dongle)
    assert f"on the rig's air at 127.0.0.1:{server.port}" in dongle.line
    channel = server.channel
    await eventually(
        lambda: any(node.eui64 == 0x000D6F00000D0099 for node in channel.nodes),
        10,
        "dongle on the air",
    )
    assert await asyncio.to_thread(dongle.stop) == 0
    await eventually(lambda: not channel.nodes, 10, "dongle off the air")

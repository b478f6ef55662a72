"""One contract per port, run against every backend the port has (STYLE.md: the zsmartsystems
habit). The clock, display, buttons, supply switch, metrology and store contracts live beside
their ports' own tests; these are the radio link, the NCP, the serial line and the small
peripherals."""

from __future__ import annotations

import asyncio
import os
import tty
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import zigpy.config as zigpy_config
from bellows.ezsp import EZSP

from hal.emulated.air_channel import AirChannel, InProcessRadioLink
from hal.emulated.air_server import AirServer
from hal.emulated.air_tcp_link import TcpRadioLink
from hal.emulated.aux_load import EmulatedAuxLoadSwitch
from hal.emulated.battery import EmulatedBattery
from hal.emulated.buzzer import EmulatedBuzzer
from hal.emulated.clock import ManualClock
from hal.emulated.ncp.dongle import EmulatedDongle
from hal.emulated.ncp.runner import EmulatedNcp, HostLink
from hal.emulated.pty_serial import PtySerialLine
from hal.emulated.tamper import EmulatedTamperSwitches
from hal.peripherals import AuxLoadSwitch, Battery, Buzzer, TamperInput, TamperSwitches, Tone
from hal.ports import PortError
from hal.radio import Ncp
from hal.radio_link import RadioLink
from hal.real.ezsp_dongle import EzspDongle
from hal.real.serial_device import SerialDeviceLine
from hal.serial_line import IEC_62056_21_SIGN_ON, LineSettings, SerialLine
from protocol.air_link import Receive
from tests.waiting import eventually

pytestmark = pytest.mark.timeout(60)

# -- radio link: how an emulated NCP reaches the air ---------------------------------------


@pytest.fixture(params=["tcp", "in-process"])
async def links(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[AirChannel, list[RadioLink]]]:
    """Two radio links of the given backend on one air channel."""
    channel = AirChannel()
    server: AirServer | None = None
    if request.param == "tcp":
        server = AirServer(channel, "127.0.0.1", 0)
        await server.start()
        made: list[RadioLink] = [
            TcpRadioLink("127.0.0.1", server.port, eui, f"n{eui}") for eui in (1, 2)
        ]
    else:
        made = [InProcessRadioLink(channel, eui, f"n{eui}") for eui in (1, 2)]
    yield channel, made
    for link in made:
        await link.close()
    if server is not None:
        await server.stop()


class TestRadioLinkContract:
    async def test_a_frame_sent_reaches_the_other_node_with_its_signal(
        self, links: tuple[AirChannel, list[RadioLink]]
    ) -> None:
        channel, (a, b) = links
        heard_a: list[Receive] = []
        heard_b: list[Receive] = []
        await a.open(heard_a.append)
        await b.open(heard_b.append)
        await eventually(lambda: len(channel.nodes) == 2, 5, "both nodes on the air")
        a.transmit(15, b"\x41\x88\x01psdu")
        await eventually(lambda: bool(heard_b), 5, "the frame arrives")
        [frame] = heard_b
        assert (frame.channel, frame.psdu) == (15, b"\x41\x88\x01psdu")
        assert frame.lqi == 255 and frame.rssi < 0
        assert heard_a == []  # a radio does not hear itself

    async def test_a_closed_link_leaves_the_air(
        self, links: tuple[AirChannel, list[RadioLink]]
    ) -> None:
        channel, (a, b) = links
        await a.open(lambda frame: None)
        await b.open(lambda frame: None)
        await eventually(lambda: len(channel.nodes) == 2, 5, "both nodes on the air")
        await a.close()
        await eventually(lambda: len(channel.nodes) == 1, 5, "one node left")


# -- NCP: what a host opens as an EZSP device ----------------------------------------------


@pytest.fixture(params=["emulated-pty", "dongle-socket"])
async def ncp(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Ncp]:
    """An NCP backend: the emulated dongle (pty), or a dongle reached at socket://, here an
    emulated NCP served over TCP as a network-attached dongle is."""
    channel = AirChannel()
    link = InProcessRadioLink(channel, 0x000D6F0000000042, "ncp")
    if request.param == "emulated-pty":
        dongle = EmulatedDongle(
            0x000D6F0000000042, link, 13, "ncp", store_path=tmp_path / "t.sqlite"
        )
        yield dongle
        await dongle.power_off()
        return
    served = EmulatedNcp(0x000D6F0000000042, link, 13, "ncp")
    await served.start(HostLink.TCP)
    yield EzspDongle(served.url)
    await served.stop()


async def ezsp_session(path: str) -> tuple[int, str]:
    """Open the NCP as bellows does; (EZSP version, EUI-64 text)."""
    ezsp = EZSP(zigpy_config.SCHEMA_DEVICE({zigpy_config.CONF_DEVICE_PATH: path}))
    await ezsp.connect(use_thread=False)
    try:
        (eui64,) = await ezsp.getEui64()
        return ezsp.ezsp_version, str(eui64)
    finally:
        await ezsp.disconnect()


class TestNcpContract:
    async def test_powered_on_it_is_a_device_bellows_can_open_twice(self, ncp: Ncp) -> None:
        path = await ncp.power_on()
        assert path.startswith(("/dev/", "socket://"))
        assert await ezsp_session(path) == (13, "00:0d:6f:00:00:00:00:42")
        # A second host session on the same NCP, as after a host restart.
        assert await ezsp_session(await ncp.power_on()) == (13, "00:0d:6f:00:00:00:00:42")
        assert ncp.name


# -- serial line: the optical port ----------------------------------------------------------


@pytest.fixture(params=["pty", "serial-device"])
async def line(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[SerialLine, int]]:
    """A serial line backend and a file descriptor of its far end (the probe's side)."""
    if request.param == "pty":
        pty = PtySerialLine(tmp_path / "esme.optical")
        await pty.open()
        far = os.open(pty.path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        yield pty, far
        os.close(far)
        await pty.close()
        return
    # A real serial device driven through pyserial, here the slave side of a pty: the probe
    # holds the master, as a USB adapter's far end would be the meter.
    master, slave = os.openpty()
    tty.setraw(slave)
    device = SerialDeviceLine(os.ttyname(slave))
    await device.open()
    os.set_blocking(master, False)
    yield device, master
    await device.close()
    os.close(master)
    os.close(slave)


async def far_read(fd: int, size: int) -> bytes:
    data = b""
    async with asyncio.timeout(5):
        while len(data) < size:
            try:
                data += os.read(fd, size - len(data))
            except BlockingIOError:
                await asyncio.sleep(0.01)  # polling a non-blocking fd, inside a deadline
    return data


class TestSerialLineContract:
    async def test_bytes_go_both_ways(self, line: tuple[SerialLine, int]) -> None:
        port, far = line
        os.write(far, b"/?!\r\n")
        received = b""
        async with asyncio.timeout(5):
            while len(received) < 5:
                received += await port.read()
        assert received == b"/?!\r\n"
        await port.write(b"/EMU5ESME\r\n")
        assert await far_read(far, 11) == b"/EMU5ESME\r\n"

    async def test_starts_at_the_sign_on_speed_and_keeps_what_it_is_set_to(
        self, line: tuple[SerialLine, int]
    ) -> None:
        port, _far = line
        assert port.settings == IEC_62056_21_SIGN_ON and str(port.settings) == "300 7E1"
        port.configure(LineSettings(9600))
        assert port.settings.baud == 9600

    def test_publishes_where_the_probe_plugs_in(self, line: tuple[SerialLine, int]) -> None:
        port, _far = line
        assert Path(port.path).exists()


async def test_the_emulated_port_publishes_a_stable_link(tmp_path: Path) -> None:
    link = tmp_path / "esme.optical"
    first = PtySerialLine(link)
    await first.open()
    assert link.is_symlink() and first.path == str(link)
    await first.close()
    assert not link.exists()


# -- small peripherals ---------------------------------------------------------------------


@pytest.fixture(params=["emulated"])
def buzzer(request: pytest.FixtureRequest) -> Buzzer:
    return EmulatedBuzzer(ManualClock(datetime(2026, 1, 15, tzinfo=UTC)))


class TestBuzzerContract:
    def test_a_confirmation_beep_is_over_at_once_an_alarm_lasts(self, buzzer: Buzzer) -> None:
        assert buzzer.sounding is None
        buzzer.sound(Tone.CONFIRM)
        assert buzzer.sounding is None
        buzzer.sound(Tone.ALARM)
        assert buzzer.sounding is Tone.ALARM
        buzzer.silence()
        assert buzzer.sounding is None


@pytest.fixture(params=["emulated"])
def aux_load(request: pytest.FixtureRequest) -> AuxLoadSwitch:
    return EmulatedAuxLoadSwitch(ManualClock(datetime(2026, 1, 15, tzinfo=UTC)))


class TestAuxLoadSwitchContract:
    @pytest.mark.req("16.12.1.d")
    def test_the_output_is_off_until_driven_and_reads_back_what_was_set(
        self, aux_load: AuxLoadSwitch
    ) -> None:
        assert isinstance(aux_load, AuxLoadSwitch)
        assert aux_load.on is False
        assert aux_load.set(True) is True
        assert aux_load.on is True
        assert aux_load.set(True) is False  # already on: not operated again
        assert aux_load.set(False) is True
        assert (aux_load.on, aux_load.operation_count) == (False, 2)


@pytest.fixture(params=["emulated"])
def tamper(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[TamperSwitches, EmulatedTamperSwitches]]:
    switches = EmulatedTamperSwitches({TamperInput.METER_COVER, TamperInput.TERMINAL_COVER})
    yield switches, switches


class TestTamperContract:
    async def test_changes_are_latched_in_order(
        self, tamper: tuple[TamperSwitches, EmulatedTamperSwitches]
    ) -> None:
        port, bench = tamper
        assert port.inputs == {TamperInput.METER_COVER, TamperInput.TERMINAL_COVER}
        bench.set(TamperInput.METER_COVER, True)
        bench.set(TamperInput.METER_COVER, False)  # opened and closed before anyone looked
        assert not port.active(TamperInput.METER_COVER)
        assert await port.next_change() == (TamperInput.METER_COVER, True)
        assert await port.next_change() == (TamperInput.METER_COVER, False)

    def test_an_input_the_device_lacks_is_refused(
        self, tamper: tuple[TamperSwitches, EmulatedTamperSwitches]
    ) -> None:
        _port, bench = tamper
        with pytest.raises(PortError, match="magnetic_field"):
            bench.set(TamperInput.MAGNETIC_FIELD, True)


@pytest.fixture(params=["emulated"])
def battery(request: pytest.FixtureRequest) -> EmulatedBattery:
    return EmulatedBattery(50)


class TestBatteryContract:
    def test_level_low_and_removal(self, battery: EmulatedBattery) -> None:
        port: Battery = battery
        assert (port.present, port.level_percent, port.low) == (True, 50, False)
        battery.set_level(5)
        assert port.low
        battery.set_present(False)
        assert (port.present, port.level_percent) == (False, 0)
        with pytest.raises(PortError):
            battery.set_level(101)

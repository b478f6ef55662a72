"""A device as an OS process: `python -m devices.esme --rig RIGFILE --name NAME`.

This is the board-support layer around the firmware: it reads the rig file, picks the HAL
backends the rig asks for and hands them to the firmware in a `DeviceContext`:

- clock: the rig's simulated clock (epoch and scale from the rig, the shared start instant from
  `SMARTMETER_START_WALL`, set by the launcher so every process of a rig agrees on the time) or
  the system clock;
- non-volatile store: the SQLite file `rig.store_path(name)`;
- radio: an emulated NCP on the rig's air (`radio = "emulated"`), or the dongle at the
  configured serial path or `socket://` URL, driven through bellows either way;
- bench port: a control socket at `rig.control_path(name)`.

SIGTERM and SIGINT stop the firmware cleanly: its state is persisted, Power down is logged, the
radio is closed and the control socket removed. Logging goes to stderr, tagged with the name.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence

from devices.core.firmware import DeviceContext, Firmware
from devices.core.rig import ClockKind, DeviceConfig, DeviceKind, Rig, load_rig
from hal.control_socket import ControlServer
from hal.emulated.clock import SimulatedClock
from hal.emulated.display import EmulatedDisplay
from hal.emulated.ncp.runner import EmulatedNcp, HostLink
from hal.emulated.sqlite_store import SqliteStore
from hal.ports import Clock
from hal.radio_link import TcpRadioLink
from hal.real.clock import SystemClock
from protocol.errors import SmartMeterError

__all__ = ["START_WALL_ENV", "build_clock", "main", "run_device"]

LOGGER = logging.getLogger(__name__)
START_WALL_ENV = "SMARTMETER_START_WALL"

#: Builds the firmware of one device kind from its context and its rig configuration (which
#: says e.g. what metrology backend a meter uses).
FirmwareFactory = Callable[[DeviceContext, DeviceConfig], Firmware]


def build_clock(rig: Rig) -> Clock:
    """The RTC backend the rig asks for (DESIGN.md §6: one epoch and start for the whole rig)."""
    if rig.clock is ClockKind.SYSTEM:
        return SystemClock()
    text = os.environ.get(START_WALL_ENV)
    try:
        start_wall = float(text) if text else time.time()
    except ValueError:
        raise SmartMeterError(f"{START_WALL_ENV}={text!r} is not a number of seconds") from None
    return SimulatedClock(rig.epoch, start_wall, rig.scale)


def parse_args(kind: DeviceKind, argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=f"python -m devices.{kind.value}",
        description=f"{kind.value.upper()} firmware on emulated or real hardware",
    )
    parser.add_argument("--rig", required=True, help="rig file (TOML)")
    parser.add_argument("--name", required=True, help="name of this device in the rig file")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(kind: DeviceKind, factory: FirmwareFactory, argv: Sequence[str] | None = None) -> int:
    """Entry point of a device process; returns the exit status."""
    args = parse_args(kind, argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=f"%(asctime)s {args.name} %(levelname)s %(name)s: %(message)s",
    )
    try:
        rig = load_rig(args.rig)
        config = rig.device(args.name)
        if config.kind is not kind:
            raise SmartMeterError(
                f"{rig.path}: device {args.name!r} is a {config.kind.value}, not a {kind.value}"
            )
        asyncio.run(run_device(rig, config, factory))
        # Everything is saved: a late second signal (Ctrl-C reaches the whole process group
        # before the launcher's SIGTERM) must not turn a clean stop into a kill.
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, signal.SIG_IGN)
    except SmartMeterError as exc:
        LOGGER.error("%s", exc)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


async def run_device(
    rig: Rig, config: DeviceConfig, factory: FirmwareFactory, stop: asyncio.Event | None = None
) -> None:
    """Run one device until SIGTERM/SIGINT (or until `stop` is set)."""
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    clock = build_clock(rig)
    store = SqliteStore(rig.store_path(config.name))
    ncp: EmulatedNcp | None = None
    control: ControlServer | None = None
    firmware: Firmware | None = None
    try:
        if config.radio.emulated:
            link = TcpRadioLink(rig.air_host, rig.air_port, config.eui64, config.name)
            # The NCP's tokens live beside the device's own store, so a restarted device
            # resumes its HAN membership instead of joining again.
            ncp_store = rig.store_path(config.name).with_suffix(".ncp.sqlite")
            ncp = EmulatedNcp(
                config.eui64, link, config.radio.ezsp_version, config.name, store_path=ncp_store
            )
            await ncp.start(HostLink.PTY)
            url = ncp.url
        else:
            url = config.radio.url
        context = DeviceContext(
            name=config.name,
            eui64=config.eui64,
            link_key=config.link_key,
            clock=clock,
            store=store,
            display=EmulatedDisplay(clock),
            radio_url=url,
            channel=rig.hub.channel,
            extended_pan_id=rig.hub.extended_pan_id,
        )
        firmware = factory(context, config)
        await firmware.start()
        control = ControlServer(rig.control_path(config.name), firmware.control_handlers())
        await control.start()
        LOGGER.info("bench port at %s", control.path)
        await stop.wait()
        LOGGER.info("stopping")
    finally:
        # The handlers stay until the state is saved: a second signal (Ctrl-C reaches the whole
        # process group, then the launcher sends SIGTERM) must not cut the shutdown short.
        if control is not None:
            await control.stop()
        if firmware is not None:
            await firmware.stop()
        if ncp is not None:
            await ncp.stop()
        store.close()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)

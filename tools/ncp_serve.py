"""`python -m tools.ncp_serve` (and `smartmeter ncp serve`): the emulated NCP as a virtual dongle.

A standalone EZSP network co-processor (`hal.emulated.ncp.runner.EmulatedNcp`) for any EZSP host
— zigpy/bellows (zigpy-cli, Home Assistant's ZHA), Zigbee2MQTT's ember adapter, our own hub —
reached like a network-attached dongle (`--tcp HOST:PORT`, the host opens
`socket://HOST:PORT` or `tcp://HOST:PORT`) or like a USB one (`--pty PATH`, a stable symlink to
a pseudo-terminal). Its radio is on a rig's air (`--rig RIG`: the `[air]` the rig's air process
serves, so the rig's emulated meters can join the host's network) or, without a rig, on an air
of its own in this process. Its tokens (network, keys, frame counters) live in `--state FILE`
across restarts; without one they live as long as the process. Every host session finds a
freshly booted dongle (see the runner), so hosts can come and go.

Runs until SIGTERM or SIGINT. Bad arguments are `UsageError`s: one line, exit status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from firmware.rig import load_rig
from hal.emulated.air_channel import AirChannel, InProcessRadioLink
from hal.emulated.air_tcp_link import TcpRadioLink
from hal.emulated.ncp.ezsp_codec import SUPPORTED_VERSIONS
from hal.emulated.ncp.runner import EmulatedNcp, HostLink
from hal.radio_link import RadioLink
from protocol.errors import LocalProtocolError, SmartMeterError
from protocol.ieee802154 import eui64_from_str, eui64_to_str
from tools.cli_common import UsageError

__all__ = ["DEFAULT_EUI64", "ServeOptions", "add_serve_arguments", "options_from", "serve"]

LOGGER = logging.getLogger("tools.ncp_serve")
#: The EUI-64 of a virtual dongle unless told otherwise (Silicon Labs' OUI, as on real sticks).
DEFAULT_EUI64 = 0x000D6F00000D0001
NODE_NAME = "dongle"


@dataclasses.dataclass(frozen=True)
class ServeOptions:
    """What `ncp serve` was asked for, validated."""

    host_link: HostLink
    #: TCP address to listen on (`HostLink.TCP`).
    host: str = "127.0.0.1"
    port: int = 0
    #: Stable path of the pty (`HostLink.PTY`).
    pty: Path | None = None
    version: int = 13
    eui64: int = DEFAULT_EUI64
    state: Path | None = None
    #: The rig's air (host, port), or None for an air of the NCP's own.
    air: tuple[str, int] | None = None


def add_serve_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of `ncp serve`; values are checked by `options_from`, not by argparse,
    so a mistake is one line naming the option."""
    parser.add_argument("--rig", metavar="RIG", help="join the air of this rig's running premises")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen for a host on TCP")
    parser.add_argument("--pty", metavar="PATH", help="offer a pty, symlinked at PATH")
    parser.add_argument(
        "--ezsp-version",
        metavar="|".join(str(v) for v in SUPPORTED_VERSIONS),
        default=str(SUPPORTED_VERSIONS[0]),
        help=f"EZSP protocol version to speak (default {SUPPORTED_VERSIONS[0]})",
    )
    parser.add_argument(
        "--eui64", metavar="EUI64", help=f"the NCP's EUI-64 (default {eui64_to_str(DEFAULT_EUI64)})"
    )
    parser.add_argument(
        "--state", metavar="FILE", help="token file (SQLite) kept across restarts; default: RAM"
    )


def options_from(args: argparse.Namespace) -> ServeOptions:
    """Validate the parsed arguments; `UsageError` says which one is wrong and why."""
    if (args.tcp is None) == (args.pty is None):
        raise UsageError("give exactly one of --tcp HOST:PORT or --pty PATH")
    try:
        version = int(args.ezsp_version)
    except ValueError:
        version = -1
    if version not in SUPPORTED_VERSIONS:
        choices = " or ".join(str(v) for v in SUPPORTED_VERSIONS)
        raise UsageError(f"--ezsp-version must be {choices}, not {args.ezsp_version!r}")
    eui64 = DEFAULT_EUI64
    if args.eui64 is not None:
        try:
            eui64 = eui64_from_str(args.eui64.removeprefix("0x"))
        except (LocalProtocolError, ValueError):
            raise UsageError(
                f"--eui64 must be 16 hex digits (00:0d:6f:00:00:00:00:01), not {args.eui64!r}"
            ) from None
    state = Path(args.state) if args.state else None
    if state is not None and not state.parent.is_dir():
        raise UsageError(f"--state {state}: folder {state.parent} does not exist")
    air = None
    if args.rig:
        rig = load_rig(args.rig)
        air = (rig.air.host, rig.air.port)
    if args.pty is not None:
        return ServeOptions(
            HostLink.PTY, pty=Path(args.pty), version=version, eui64=eui64, state=state, air=air
        )
    host, port = _host_port(args.tcp)
    return ServeOptions(
        HostLink.TCP, host=host, port=port, version=version, eui64=eui64, state=state, air=air
    )


def _host_port(text: str) -> tuple[str, int]:
    host, sep, port_text = text.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port_text.isdigit() or not 0 <= int(port_text) <= 65535:
        raise UsageError(f"--tcp must be HOST:PORT with a port 0..65535, not {text!r}")
    return host, int(port_text)


async def serve(
    options: ServeOptions,
    ready: Callable[[EmulatedNcp], None] | None = None,
    stop: asyncio.Event | None = None,
) -> None:
    """Run the NCP until `stop` is set (by default: until SIGTERM or SIGINT)."""
    radio: RadioLink
    if options.air is not None:
        radio = TcpRadioLink(*options.air, options.eui64, NODE_NAME)
    else:
        radio = InProcessRadioLink(AirChannel(), options.eui64, NODE_NAME)
    ncp = EmulatedNcp(options.eui64, radio, options.version, NODE_NAME, store_path=options.state)
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
    try:
        await ncp.start(options.host_link, options.host, options.port, pty_link=options.pty)
    except OSError as exc:
        await ncp.stop()
        raise UsageError(f"cannot open the host link: {exc.strerror or exc}") from None
    except SmartMeterError:
        await ncp.stop()
        raise
    try:
        if ready is not None:
            ready(ncp)
        await stop.wait()
    finally:
        await ncp.stop()


def describe(options: ServeOptions, ncp: EmulatedNcp) -> str:
    """The line a person (and a test) reads once the dongle is ready."""
    air = "the rig's air at {}:{}".format(*options.air) if options.air else "an air of its own"
    return (
        f"ncp: EZSP v{options.version} NCP {eui64_to_str(options.eui64)} on {air}, "
        f"ready at {ncp.url}"
    )


def run(options: ServeOptions) -> int:
    """Serve in the foreground; the status to exit with."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s ncp %(levelname)s %(message)s")

    def ready(ncp: EmulatedNcp) -> None:
        print(describe(options, ncp), flush=True)

    with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C during shutdown
        asyncio.run(serve(options, ready))
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.ncp_serve", description="A virtual EZSP dongle (emulated NCP)"
    )
    add_serve_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return run(options_from(args))
    except SmartMeterError as exc:
        print(f"ncp_serve: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())

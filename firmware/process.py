"""A component as an OS process: the bootstrap the hub and every device share.

`python -m hub --rig RIG` and `python -m devices.<kind> --rig RIG --name NAME` both come here:
arguments, logging (stderr, tagged with the component's name), the rig file, and a run that
starts the component, opens its bench port (a control socket at `rig.control_path(name)`),
waits for SIGTERM or SIGINT and stops it cleanly. The composition root of each process builds
the component and its ports (`firmware.wiring`) inside the `Build` it hands in, so that the
ports are released after the component has stopped.

Exit status: 0 after a clean stop, 2 for a configuration that cannot run (the message names the
file and the key), never a traceback for something a person at the bench can fix.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import signal
import sys
from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Protocol

from hal.control_socket import ControlServer, Handler
from protocol.errors import SmartMeterError

from .rig import Rig, load_rig

__all__ = ["Build", "Component", "main", "serve"]

LOGGER = logging.getLogger(__name__)
#: Libraries whose INFO chatter hides the component's own log lines.
QUIET_LOGGERS = ("bellows", "zigpy")


class Component(Protocol):
    """What the bootstrap runs: a hub or a device's firmware."""

    name: str

    async def start(self) -> None: ...

    async def stop(self) -> None: ...

    def control_handlers(self) -> dict[str, Handler]: ...


#: Builds the component named on the command line (None for the hub), with its ports.
Build = Callable[[Rig, str | None], AbstractAsyncContextManager[Component]]


def parse_args(
    prog: str, description: str, named: bool, argv: Sequence[str] | None
) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--rig", required=True, help="rig file (TOML)")
    if named:
        parser.add_argument("--name", required=True, help="name of this component in the rig file")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    return parser.parse_args(argv)


def main(
    prog: str,
    description: str,
    build: Build,
    argv: Sequence[str] | None = None,
    *,
    named: bool = True,
    tag: str = "",
) -> int:
    """Entry point of a component process; returns the exit status.

    `named`: the process runs the component `--name` of the rig (a device); otherwise the one
    component of its kind (the hub), and its log lines are tagged with `tag`.
    """
    args = parse_args(prog, description, named, argv)
    tag = args.name if named else tag
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.DEBUG if args.verbose else logging.INFO,
        format=f"%(asctime)s {tag} %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
    try:
        rig = load_rig(args.rig)
        asyncio.run(_run(rig, args.name if named else None, build))
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


async def _run(rig: Rig, name: str | None, build: Build) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        rig.run_dir.mkdir(parents=True, exist_ok=True)
        async with build(rig, name) as component:
            await serve(rig, component, stop)
    finally:
        # The handlers stay until the state is saved: a second signal must not cut it short.
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)


async def serve(rig: Rig, component: Component, stop: asyncio.Event) -> None:
    """Start `component`, serve its bench port until `stop` is set, then stop it cleanly."""
    control = ControlServer(rig.control_path(component.name), component.control_handlers())
    try:
        await component.start()
        await control.start()
        # What start-up made (modules, zigpy's cluster tables, the rig) lives as long as the
        # process: out of the collector's way, full collections stay short and so do the
        # pauses they put into a HAN exchange.
        gc.freeze()
        LOGGER.info("%s up; bench port at %s", component.name, control.path)
        await stop.wait()
        LOGGER.info("%s stopping", component.name)
    finally:
        await control.stop()
        await component.stop()  # also after a failed start: what did start is stopped

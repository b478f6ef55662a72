"""A device as an OS process: `python -m devices.<kind> --rig RIG --name NAME`.

Each device package's `__main__` is its composition root: it names the board builder of its
kind (`firmware.wiring`) and its firmware class, and `run_device` does the rest through the
shared bootstrap (`firmware.process`): the rig file, the device's section, logging, signals, the
bench port and a clean stop (state persisted, Power down logged, radio released).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import TypeVar

from firmware import process
from firmware.boards import DeviceBoard, Panel
from firmware.rig import DeviceConfig, DeviceKind, Rig
from protocol.errors import ConfigError

from .firmware import DeviceIdentity, Firmware

__all__ = ["identity_of", "run_device"]

B = TypeVar("B", bound=DeviceBoard)
#: A board builder of `firmware.wiring`, e.g. `electricity_meter_board`.
BoardBuilder = Callable[[Rig, DeviceConfig, Panel], AbstractAsyncContextManager[B]]


def identity_of(rig: Rig, config: DeviceConfig) -> DeviceIdentity:
    """A device's identity on the HAN, and the HAN (the hub's channel and PAN) it joins."""
    return DeviceIdentity(
        name=config.name,
        eui64=config.eui64,
        link_key=config.link_key,
        channel=rig.hub.channel,
        extended_pan_id=rig.hub.extended_pan_id,
        install_code=config.install_code,
        comms_loss=rig.hub.comms_loss,
    )


def run_device(
    kind: DeviceKind,
    firmware: type[Firmware],
    board: BoardBuilder[B],
    make: Callable[[DeviceIdentity, B, DeviceConfig], Firmware],
    argv: Sequence[str] | None = None,
) -> int:
    """Run the device `--name` of the rig, which must be a `kind`; returns the exit status."""

    @contextlib.asynccontextmanager
    async def build(rig: Rig, name: str | None) -> AsyncIterator[Firmware]:
        assert name is not None
        config = rig.device(name)
        if config.kind is not kind:
            raise ConfigError(f"{rig.path}: device {name!r} is a {config.kind.value}, not a {kind}")
        async with board(rig, config, firmware.panel) as ports:
            yield make(identity_of(rig, config), ports, config)

    return process.main(
        f"python -m devices.{kind.value}",
        f"{kind.value.upper()} firmware on emulated or real hardware",
        build,
        argv,
    )

"""The hub's WAN commands for tariffs (section 16; 12.1.a-e, q, aa; 13.2): carried to the meter.

The head-end's tariff commands (`protocol.wan.CommandType.SET_TARIFF` and the rest) name a
meter; the hub passes each, unchanged, through the meter's Tunneling server
(`hub.han.meter_tunnel`) and returns the meter's answer as the result. The meter owns its
tariff: it validates the document, applies it, logs the change and answers, so the hub needs no
knowledge of tariffs and a meter of any make that serves the tunnel takes the same commands.
A meter's refusal comes back as the result's error; a command for a device that is not a meter
is rejected outright.
"""

from __future__ import annotations

from typing import Any

from firmware.rig import DeviceConfig, DeviceKind
from protocol.errors import SmartMeterError
from protocol.wan import TARIFF_COMMANDS, WanCommand

from .han import HanNetwork
from .wan_bridge import CommandRejected, WanBridge

__all__ = ["MeterRefused", "register_tariff_commands"]

_METERS = (DeviceKind.ESME, DeviceKind.GSME)


class MeterRefused(SmartMeterError):
    """The meter answered the command with a refusal (its reason is the message)."""


def register_tariff_commands(bridge: WanBridge, han: HanNetwork) -> None:
    async def tunnelled(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        if config.kind not in _METERS:
            raise CommandRejected(f"{command.type} is for a meter; {config.name} is not one")
        answer = await han.tunnel(config, {"command": command.type.value, "args": command.args})
        if answer.get("ok") is not True or not isinstance(answer.get("data"), dict):
            raise MeterRefused(f"{config.name}: {answer.get('error', 'no answer')}")
        return {"device": config.name, **answer["data"]}

    for kind in TARIFF_COMMANDS:
        bridge.register(kind, tunnelled)

"""The hub's WAN commands for installation and commissioning (section 20, Appendix C C.1, C.8).

- `install_code` {"install_code": hex}: a device's install code handed to the hub out of band,
  through the head-end, by the installer's HHT (17.2.9, 20.4.2.b); the trust centre takes its
  key and the commissioning window opens for that device until it has joined (C.8);
- `device_status`: whether the device is on the HAN and answers, the link quality of the device
  as the hub hears it (the device's view of the hub is its own status), whether it still waits
  for the commissioning window, and the WAN link (20.4.1.a, c; 20.2.4.e);
- `display_message` {"text": ...}: a message on the device's display, e.g. 'Welcome' once the
  installation is over (20.2.8) or the stage reached (20.2.5);
- `local_password` {"password": ...}: a meter's new local-access password, reset remotely by
  the head-end (17.2.21.b.2), passed on APS-encrypted (Device Management); the hub keeps
  nothing of it and its answer does not repeat it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from firmware.rig import DeviceConfig
from hal.wan import WanLink
from protocol.errors import DecodeError
from protocol.wan import CommandType, WanCommand

from .han import HanNetwork
from .han.messages import MESSAGE_MAX
from .wan_bridge import CommandRejected, WanBridge

__all__ = ["register_commissioning_commands"]

#: SE's Password field holds at most 10 octets.
PASSWORD_OCTETS = 10


def _text_arg(command: WanCommand, key: str, limit: int) -> str:
    value = command.args.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise CommandRejected(f'{command.type} needs "{key}": text of 1 to {limit} characters')
    return value


def register_commissioning_commands(
    bridge: WanBridge,
    han: HanNetwork,
    wan: WanLink,
    bearer: Callable[[], dict[str, Any]] | None = None,
) -> None:
    """`bearer`: the WAN bearer's report (modem signal quality, 12.1.r) for device_status."""

    async def install_code(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        text = _text_arg(command, "install_code", 64)
        try:
            code = bytes.fromhex(text)
            return await han.commissioning.hand_install_code(config, code)
        except (ValueError, DecodeError) as exc:
            raise CommandRejected(f"install code of {config.name} refused: {exc}") from None

    async def device_status(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        return {
            "device": config.name,
            "joined": han.joined()[config.name],
            "presence": han.presence_of(config),
            "signal": han.signal(config),
            "waiting_to_join": config.name in han.commissioning.waiting,
            "wan": "connected" if wan.connected else "disconnected",
            "wan_bearer": None if bearer is None else bearer(),
        }

    async def display_message(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        text = _text_arg(command, "text", MESSAGE_MAX)
        message_id = await han.display_message(config, text, command.id)
        return {"device": config.name, "message_id": message_id, "text": text}

    async def local_password(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        password = _text_arg(command, "password", PASSWORD_OCTETS)
        event_id = await han.set_local_password(config, password, command.id)
        return {"device": config.name, "password_set": True, "issuer_event_id": event_id}

    bridge.register(CommandType.LOCAL_PASSWORD, local_password)
    bridge.register(CommandType.INSTALL_CODE, install_code)
    bridge.register(CommandType.DEVICE_STATUS, device_status)
    bridge.register(CommandType.DISPLAY_MESSAGE, display_message)

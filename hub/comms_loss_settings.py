"""Reading and changing the loss-of-communications rules, remotely and locally (clause 12.7.6).

Remotely: the head-end's `comms_loss_rules` command (addressed to any device of the premises,
since the rules are the premises'): without arguments it reads them, with any of
`wan_alert_after_s`, `ihd_failed_after_s`, `ihd_contact_after_s`, `service_number` it changes
those. Locally: the hub's bench port, `smartmeter hub comms-loss [--KEY VALUE ...]`. A change
out of range is refused with the reason and changes nothing.
"""

from __future__ import annotations

from typing import Any

from firmware.rig import DeviceConfig
from hal.control_socket import ControlError, Request
from protocol.errors import ConfigError
from protocol.wan import CommandType, WanCommand

from .loss_of_comms import LossOfComms
from .wan_bridge import CommandRejected, WanBridge

__all__ = ["CommsLossSettings"]


class CommsLossSettings:
    def __init__(self, rules: LossOfComms, bridge: WanBridge) -> None:
        self._rules = rules
        bridge.register(CommandType.COMMS_LOSS_RULES, self._command)

    def _apply(self, changes: dict[str, Any]) -> dict[str, Any]:
        if changes:
            self._rules.set_rules(changes)
        return self._rules.rules.as_dict()

    async def _command(self, config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        try:
            return {"rules": self._apply(dict(command.args))}
        except ConfigError as exc:
            raise CommandRejected(f"comms-loss rules not changed: {exc}") from None

    async def bench(self, request: Request) -> dict[str, Any]:
        changes = {k: v for k, v in request.items() if k != "cmd"}
        try:
            return {"rules": self._apply(changes)}
        except ConfigError as exc:
            raise ControlError(f"comms-loss rules not changed: {exc}") from None

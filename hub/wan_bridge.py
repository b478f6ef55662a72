"""Head-end commands arriving over the WAN, carried out on the HAN (DESIGN.md §2).

The WAN link acknowledges, de-duplicates and answers; this module only decides what a command
means. Each command type has one handler, registered by the module that owns the capability
(`hub.commands`: reads, removal and commissioning here; tariffs, commissioning from an HHT or
security commands register theirs in their own modules), so features do not edit one another's
code. A command the hub cannot carry out as asked (unknown device, unsupported type) is refused,
logged (18.11.j) and changes nothing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from firmware.rig import DeviceConfig, Rig
from protocol.errors import SmartMeterError
from protocol.event_codes import EventCode
from protocol.wan import CommandType, WanCommand

from .han.commissioning import RecordEvent

__all__ = ["CommandRejected", "DeviceCommand", "WanBridge"]


class CommandRejected(SmartMeterError):
    """The command cannot be carried out as asked (unknown device, wrong kind)."""


#: What a command does to one device of the premises: its result's data.
DeviceCommand = Callable[[DeviceConfig, WanCommand], Awaitable[dict[str, Any]]]


class WanBridge:
    def __init__(self, rig: Rig, record: RecordEvent) -> None:
        self._rig = rig
        self._record = record
        self._handlers: dict[CommandType, DeviceCommand] = {}

    def register(self, kind: CommandType, handler: DeviceCommand) -> None:
        """Carry out commands of `kind` with `handler` (one handler per type)."""
        if kind in self._handlers:
            raise ValueError(f"command type {kind} already has a handler")
        self._handlers[kind] = handler

    async def handle(self, command: WanCommand) -> dict[str, Any]:
        """Carry out a command; a refused one (clause 18.11.j) is logged and changes nothing."""
        try:
            config = self._rig.devices.get(command.device)
            if config is None:
                raise CommandRejected(f"no device {command.device!r} on hub {self._rig.hub.wan_id}")
            handler = self._handlers.get(command.type)
            if handler is None:
                raise CommandRejected(f"command type {command.type} is not supported by this hub")
        except CommandRejected as exc:
            self._record(
                EventCode.COMMAND_REFUSED,
                {"request_id": command.id, "type": command.type.value, "reason": str(exc)},
            )
            raise
        return await handler(config, command)

    def refused(self, request_id: str | None, reason: str) -> None:
        """A message on the WAN that was not even a command: Malformed message (18.11.j)."""
        self._record(
            EventCode.MALFORMED_MESSAGE, {"link": "WAN", "request_id": request_id, "reason": reason}
        )

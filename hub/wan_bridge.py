"""Head-end commands arriving over the WAN, carried out on the HAN (DESIGN.md §2).

The WAN link (the board's `hal.wan.WanLink`) acknowledges, de-duplicates and answers; this module
only decides what a command means on the HAN. An on-demand read goes to the named device and
comes back as registers with units within the 10 s of clause 6.1.11. A removal or a
commissioning (clause 17.2.6) is carried out by the HAN network and reported back.
"""

from __future__ import annotations

from typing import Any

from firmware.rig import Rig
from hal.ports import Clock
from protocol.errors import SmartMeterError
from protocol.event_codes import EventCode
from protocol.ieee802154 import eui64_to_str
from protocol.metering_units import metering_registers
from protocol.wan import CommandType, WanCommand

from .han import HanNetwork
from .han.commissioning import RecordEvent


class CommandRejected(SmartMeterError):
    """The command cannot be carried out as asked (unknown device, wrong kind)."""


class WanBridge:
    def __init__(self, rig: Rig, han: HanNetwork, clock: Clock, record: RecordEvent) -> None:
        self._rig = rig
        self._han = han
        self._clock = clock
        self._record = record

    async def handle(self, command: WanCommand) -> dict[str, Any]:
        """Carry out a command; a refused one (clause 18.11.j) is logged and changes nothing."""
        try:
            return await self._carry_out(command)
        except CommandRejected as exc:
            self._record(
                EventCode.COMMAND_REFUSED,
                {"request_id": command.id, "type": command.type.value, "reason": str(exc)},
            )
            raise

    def refused(self, request_id: str | None, reason: str) -> None:
        """A message on the WAN that was not even a command: Malformed message (18.11.j)."""
        self._record(
            EventCode.MALFORMED_MESSAGE, {"link": "WAN", "request_id": request_id, "reason": reason}
        )

    async def _carry_out(self, command: WanCommand) -> dict[str, Any]:
        config = self._rig.devices.get(command.device)
        if config is None:
            raise CommandRejected(f"no device {command.device!r} on hub {self._rig.hub.wan_id}")
        if command.type is CommandType.REMOVE:
            return await self._han.remove(config)  # clause 17.2.6
        if command.type is CommandType.COMMISSION:
            return await self._han.commission(config)
        if command.type is not CommandType.READ:
            raise CommandRejected(f"command type {command.type} is not supported by this hub")
        attributes = await self._han.read_metering(config)
        return {
            "device": config.name,
            "eui64": eui64_to_str(config.eui64),
            "read_at": self._clock.now().isoformat(),
            "signal": self._han.signal(config),
            "attributes": attributes,
            **metering_registers(attributes),
        }

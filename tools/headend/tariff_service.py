"""The head-end's tariff commands (section 16; 12.1.a-e, q, aa; 13.2), from its control socket.

`tariff` {device, command, args, timeout?}: sends one of the tariff command types
(`protocol.wan.TARIFF_COMMANDS`: set_tariff, cancel_tariff, schedule_cpp,
set_gas_conversion, read_tariff, read_profile, tariff_items) to the device's hub and waits for
the meter's answer. The arguments are the meter's to judge: the head-end checks only that they
are a JSON object and that the command is a tariff command.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from hal.control_socket import ControlError, Handler, Reply, Request
from protocol.wan import TARIFF_COMMANDS, CommandType

__all__ = ["TARIFF_COMMAND_TYPES", "TariffService"]

TARIFF_COMMAND_TYPES = frozenset(TARIFF_COMMANDS)
#: Seconds the head-end waits by default: a tariff is a few dozen HAN frames.
TARIFF_DEADLINE_S = 30.0
MAX_DEADLINE_S = 600.0
SendCommand = Callable[..., Awaitable[Reply]]


class TariffService:
    """Control-socket handlers over the head-end's `command` (`tools.headend.service`)."""

    def __init__(self, send: SendCommand) -> None:
        self._send = send

    def handlers(self) -> dict[str, Handler]:
        return {"tariff": self._tariff}

    async def _tariff(self, request: Request) -> Reply:
        device, name, args = request.get("device"), request.get("command"), request.get("args", {})
        if not isinstance(device, str):
            raise ControlError('tariff needs "device": a meter in the inventory')
        known = ", ".join(sorted(c.value for c in TARIFF_COMMAND_TYPES))
        try:
            kind = CommandType(str(name))
        except ValueError:
            raise ControlError(f"unknown tariff command {name!r}; known: {known}") from None
        if kind not in TARIFF_COMMAND_TYPES:
            raise ControlError(f"{name} is not a tariff command; known: {known}")
        if not isinstance(args, dict):
            raise ControlError('"args" must be a JSON object')
        deadline = request.get("timeout_s", TARIFF_DEADLINE_S)
        if (
            isinstance(deadline, bool)
            or not isinstance(deadline, int | float)
            or not 0 < deadline <= MAX_DEADLINE_S
        ):
            raise ControlError(f"timeout must be a number of seconds in (0, {MAX_DEADLINE_S:g}]")
        reply: dict[str, Any] = await self._send(kind, device, float(deadline), args)
        return reply

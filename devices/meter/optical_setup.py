"""What a meter adds for its optical port: settings, local access, data set, server, bench commands.

`MeterOptical` is built by `MeterFirmware` from its board and its own parts, so the meter's
firmware module only starts it; the bench commands it adds:

- `seal` {"broken": bool}: the bench's hand on the programming seal (17.2.21.a);
- `optical`: the port's path and line settings, the session, the settings, and local access
  (whether a password is set, the lock, the change log: never the verifier, 17.2.20).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from firmware.event_log import EventLog
from hal.control_socket import ControlError, Handler, Request
from hal.peripherals import BenchTamper, TamperInput, TamperSwitches
from hal.ports import Clock, SupplySwitch
from hal.serial_line import SerialLine
from protocol.errors import TransientLinkError
from protocol.local_auth import Verifier
from protocol.nameplate import Nameplate

from .local_access import LocalAccess
from .meter_objects import MeterParts, meter_objects
from .meter_settings import SettingsStore
from .optical_port import OpticalPort
from .readings import Reading

__all__ = ["MeterOptical"]


class MeterOptical:
    def __init__(
        self,
        *,
        nameplate: Nameplate,
        firmware_version: str,
        electricity: bool,
        clock: Clock,
        store: Any,
        events: EventLog,
        line: SerialLine,
        tamper: TamperSwitches,
        switch: SupplySwitch,
        readings: Callable[[], list[Reading]],
        refresh: Callable[[], None],
        factory_verifier: Verifier | None,
    ) -> None:
        self.nameplate = nameplate
        self.settings = SettingsStore(store)
        self.access = LocalAccess(store, clock, events, factory_verifier)
        self._line = line
        self._tamper = tamper
        parts = MeterParts(
            serial=self.nameplate.serial,
            eui64=self.nameplate.eui64,
            variant=self.nameplate.variant,
            firmware=firmware_version,
            electricity=electricity,
            clock=clock,
            settings=self.settings,
            switch=switch,
            events=events,
            access=self.access,
            readings=readings,
            refresh=refresh,
        )
        self.table = meter_objects(parts)
        self.port = OpticalPort(line, clock, self.table, self.access, self.nameplate.serial, tamper)

    def handlers(self) -> dict[str, Handler]:
        return {"seal": self._seal, "optical": self._optical}

    async def _seal(self, request: Request) -> dict[str, Any]:
        broken = request.get("broken")
        if not isinstance(broken, bool):
            raise ControlError('seal needs "broken": true (break it) or false (restore it)')
        if not isinstance(self._tamper, BenchTamper):
            raise ControlError("this meter's seal is real hardware: break it by hand")
        self._tamper.set(TamperInput.SEAL, broken)
        return {"seal_broken": self.port.seal_broken()}

    async def _optical(self, request: Request) -> dict[str, Any]:
        try:
            path = self._line.path
        except TransientLinkError:
            path = None
        return {
            "path": path,
            **self.port.status(),
            "settings": self.settings.as_dict(),
            "local_access": self.access.summary(),
        }

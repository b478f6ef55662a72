"""A meter's tamper inputs, watched: every change of a cover or a magnetic field is an event.

Clauses 18.11.a and 18.11.c: removing a cover or applying a strong magnetic field is detected
and logged (Appendix B.6), and the tamper events go to the head-end at once (18.6; the hub's
treatment, `hub.event_treatment`). The programming seal is the optical port's business
(`devices.meter.optical_setup`): breaking it is how authorised staff program the meter.

The bench's hand on the case is `tamper` {"input": "meter_cover", "active": true}.
"""

from __future__ import annotations

from typing import Any

from firmware.event_log import EventLog
from hal.control_socket import ControlError, Handler, Request
from hal.peripherals import BenchTamper, TamperInput, TamperSwitches
from hal.ports import PortError
from protocol.event_codes import EventCode

__all__ = ["WATCHED", "TamperWatch"]

#: input -> (event when it becomes active, event when it clears)
WATCHED = {
    TamperInput.METER_COVER: (EventCode.METER_COVER_REMOVED, EventCode.METER_COVER_CLOSED),
    TamperInput.TERMINAL_COVER: (
        EventCode.TERMINAL_COVER_REMOVED,
        EventCode.TERMINAL_COVER_CLOSED,
    ),
    TamperInput.MAGNETIC_FIELD: (
        EventCode.STRONG_DC_FIELD_DETECTED,
        EventCode.STRONG_DC_FIELD_GONE,
    ),
}


class TamperWatch:
    """Logs the changes of a meter's tamper inputs; offers the bench's hand on them."""

    def __init__(self, switches: TamperSwitches, events: EventLog) -> None:
        self._switches, self._events = switches, events

    async def run(self) -> None:
        """Log each change as it comes; runs until cancelled."""
        while True:
            tamper, active = await self._switches.next_change()
            codes = WATCHED.get(tamper)
            if codes is not None:
                self._events.record(
                    codes[0] if active else codes[1], {"input": tamper.value}, module="tamper"
                )

    def handlers(self) -> dict[str, Handler]:
        return {"tamper": self._tamper}

    async def _tamper(self, request: Request) -> dict[str, Any]:
        names = sorted(i.value for i in self._switches.inputs if i in WATCHED)
        name, active = request.get("input"), request.get("active")
        if not isinstance(active, bool):
            raise ControlError('tamper needs "active": true (interfere) or false (restore)')
        try:
            tamper = TamperInput(name)
        except ValueError:
            raise ControlError(f'tamper needs an "input": one of {", ".join(names)}') from None
        if tamper not in WATCHED:
            raise ControlError(f'tamper needs an "input": one of {", ".join(names)}')
        if not isinstance(self._switches, BenchTamper):
            raise ControlError("this meter's tamper inputs are real hardware")
        try:
            changed = self._switches.set(tamper, active)
        except PortError as exc:
            raise ControlError(str(exc)) from None
        return {"input": tamper.value, "active": active, "changed": changed}

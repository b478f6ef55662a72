"""The hub's side of its WAN bearer (6.1.6): the SIM-removed tamper event (18.11.l), the bearer's
report for the head-end and the bench (signal quality, 12.1.r), and the bench's hand on an
emulated modem (`smartmeter hub modem ...`)."""

from __future__ import annotations

from typing import Any

from hal.control_socket import ControlError, Request
from hal.modem import BearerState, Modem, Registration
from hal.ports import PortError
from protocol.event_codes import EventCode

from .loss_of_comms import RecordEvent

__all__ = ["WanBearer"]

_FIELDS = ("rssi", "ber")


class WanBearer:
    """Watches the modem (None: plain IP with nothing to watch) and logs what the hub must."""

    def __init__(self, modem: Modem | None, record: RecordEvent) -> None:
        self.modem = modem
        self._record = record
        self._sim_in = True if modem is None else modem.state().sim_present
        if modem is not None:
            modem.add_listener(self._changed)

    def _changed(self, state: BearerState) -> None:
        if self._sim_in and not state.sim_present:
            # Clause 18.11.l: removing the SIM is a tamper; sent as soon as the WAN allows.
            self._record(EventCode.SIM_REMOVED, {"component": "hub", "apn": state.apn})
        self._sim_in = state.sim_present

    def report(self) -> dict[str, Any]:
        """The bearer as the hub reports it (12.1.r: signal quality to the head-end)."""
        if self.modem is None:
            return {"kind": "ip", "attached": True}
        return self.modem.state().report()

    async def bench(self, request: Request) -> dict[str, Any]:
        """`modem`: set the SIM, registration, signal or APN; replies with the new state."""
        if self.modem is None:
            raise ControlError("the hub's WAN is plain IP: there is no modem")
        changes: dict[str, Any] = {}
        sim = request.get("sim")
        if sim is not None:
            if sim not in ("in", "out"):
                raise ControlError(f'sim must be "in" or "out", not {sim!r}')
            changes["sim_present"] = sim == "in"
        registration = request.get("registration")
        if registration is not None:
            try:
                changes["registration"] = Registration[str(registration).upper()]
            except KeyError:
                known = ", ".join(r.name.lower() for r in Registration)
                raise ControlError(
                    f"registration {registration!r} unknown; known: {known}"
                ) from None
        for key in _FIELDS:
            value = request.get(key)
            if value is not None:
                if not isinstance(value, int) or isinstance(value, bool):
                    raise ControlError(f"{key} must be a whole number, not {value!r}")
                changes[key] = value
        apn = request.get("apn")
        if apn is not None:
            changes["apn"] = str(apn)
        try:
            return self.modem.set(**changes).report()
        except PortError as exc:
            raise ControlError(str(exc)) from None

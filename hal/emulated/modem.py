"""An emulated GPRS modem (clause 6.1.6), driven from the bench: pull the SIM, lose the network,
change the signal. It starts with its SIM in, registered on the home network, at a fair signal.
"""

from __future__ import annotations

import dataclasses

from hal.modem import BearerListener, BearerState, Registration, SignalQuality
from hal.ports import PortError

__all__ = ["EmulatedModem"]

#: A fair signal: -83 dBm, bit error rate class 0.
DEFAULT_SIGNAL = SignalQuality(rssi=15, ber=0)


class EmulatedModem:
    """`hal.modem.Modem` in memory; `set` is the bench's hand on the SIM and the network."""

    KIND = "gprs"

    def __init__(self, apn: str) -> None:
        self._state = BearerState(self.KIND, True, apn, Registration.HOME, DEFAULT_SIGNAL)
        self._listeners: list[BearerListener] = []

    def state(self) -> BearerState:
        return self._state

    def add_listener(self, listener: BearerListener) -> None:
        self._listeners.append(listener)

    def set(
        self,
        *,
        sim_present: bool | None = None,
        registration: int | None = None,
        rssi: int | None = None,
        ber: int | None = None,
        apn: str | None = None,
    ) -> BearerState:
        """Change what the modem reports; PortError for values a modem cannot report."""
        state = self._state
        try:
            reg = state.registration if registration is None else Registration(registration)
        except ValueError:
            raise PortError(f"registration {registration} is not a +CREG state 0-5") from None
        signal = SignalQuality(
            state.signal.rssi if rssi is None else rssi, state.signal.ber if ber is None else ber
        )
        if apn is not None and not 0 < len(apn) <= 100:
            raise PortError("an APN is 1-100 characters")
        sim = state.sim_present if sim_present is None else sim_present
        if not sim:
            reg = Registration.NOT_REGISTERED  # no SIM, no network
        elif sim_present and not state.sim_present and registration is None:
            reg = Registration.HOME  # a SIM put back in registers again
        new = dataclasses.replace(
            state,
            sim_present=sim,
            registration=reg,
            signal=signal,
            apn=state.apn if apn is None else apn,
        )
        if new != state:
            self._state = new
            for listener in self._listeners:
                listener(new)
        return new

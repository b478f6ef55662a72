"""The ESME's auxiliary load switch output, driven by the time-of-use switch entries.

Clauses 16.12.1.d and 16.13.1.c: each switch entry of a 48x1 or 8x8 tariff says whether the
auxiliary (relay) switch is on while the entry is in force, "a capability to control switched
loads in line with ToU rate switching times (electric only)". The tariff engine works out the
entry in force as it prices each sample (`TariffEngine.aux_load`); after every sample
`AuxLoadControl.follow` drives the relay (`hal.peripherals.AuxLoadSwitch`) to match and, on a
change, queues event 2111 (Appendix B has none for it) with the tariff's pending events, so it is
saved in the transaction that saves the registers and the engine state it goes with.

The relay follows the engine; the event follows the engine's saved state. `AuxLoadControl`
starts from what the engine's snapshot says (saved in the transaction that logged the last
change), so an event is logged exactly when the tariff's state moves away from what was logged,
whatever the relay did over a power cut. After a restart the first sample (at start-up) prices
the time the meter was off and drives the relay from the engine's state as of now, never from a
remembered relay state. A kill between driving the relay and the save leaves the old state
saved; the first sample after the restart finds the change again and logs it then, once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hal.peripherals import AuxLoadSwitch
from protocol.event_codes import EventCode

__all__ = ["AuxLoadControl"]

#: Queues an event (code, detail) to be saved with the registers.
Pend = Callable[[EventCode, dict[str, Any]], None]


class AuxLoadControl:
    """Keeps the auxiliary load switch output where the tariff wants it."""

    def __init__(self, output: AuxLoadSwitch, wanted: Callable[[], bool], pend: Pend) -> None:
        self._output = output
        self._wanted = wanted
        self._pend = pend
        #: The state the last logged change left, as the engine's snapshot holds it.
        self._logged = wanted()

    def follow(self) -> bool:
        """After the tariff priced a sample (the first one at start-up included): drive the
        output to the state the entry in force asks for; True when a change of that state
        waits in the pending events, to be saved with the engine."""
        wanted = self._wanted()
        self._output.set(wanted)  # at power-up too: the relay's own state is never trusted
        if wanted == self._logged:
            return False
        self._logged = wanted
        self._pend(EventCode.AUX_LOAD_SWITCHED, {"aux_load": _state(wanted)})
        return True

    @property
    def on(self) -> bool:
        return self._output.on

    def describe(self) -> dict[str, Any]:
        """The output as the bench shows it."""
        return {
            "aux_load": _state(self._output.on),
            "tariff_wants": _state(self._wanted()),
            "operations": self._output.operation_count,
        }

    def display_line(self) -> str:
        return f"Aux load {_state(self._output.on)}"


def _state(on: bool) -> str:
    return "on" if on else "off"

"""The WAN bearer port of the comms hub: its cellular modem, or a plain IP link (6.1.6, 6.1.7).

What the hub's firmware learns from the bearer is what a GSM/GPRS modem reports over its AT
interface (3GPP TS 27.007): whether a SIM is in (`AT+CPIN?`), the APN of its packet context
(`AT+CGDCONT?`), the network registration state (`+CREG: <n>,<stat>`) and the signal quality
(`+CSQ: <rssi>,<ber>`: RSSI 0-31 or 99 unknown, in 2 dB steps from -113 dBm; BER class 0-7 or 99
unknown). The WAN link is only up while the bearer is attached (registered home or roaming):
a detached modem is a lost WAN (12.7). Backends: `hal.emulated.modem.EmulatedModem` (set from
the bench) and `hal.real.ip_bearer.IpBearer` (a rig on a wired network: always attached).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from hal.ports import PortError

__all__ = ["BearerListener", "BearerState", "Modem", "Registration", "SignalQuality"]

RSSI_UNKNOWN = 99
BER_UNKNOWN = 99


class Registration(enum.IntEnum):
    """`<stat>` of `+CREG` (TS 27.007 7.2)."""

    NOT_REGISTERED = 0
    HOME = 1
    SEARCHING = 2
    DENIED = 3
    UNKNOWN = 4
    ROAMING = 5


@dataclass(frozen=True)
class SignalQuality:
    """`+CSQ: <rssi>,<ber>` (TS 27.007 8.5): the signal quality the hub reports (12.1.r)."""

    rssi: int = RSSI_UNKNOWN
    ber: int = BER_UNKNOWN

    def __post_init__(self) -> None:
        if not (0 <= self.rssi <= 31 or self.rssi == RSSI_UNKNOWN):
            raise PortError(f"RSSI {self.rssi} is not 0-31 or 99 (unknown), as AT+CSQ gives it")
        if not (0 <= self.ber <= 7 or self.ber == BER_UNKNOWN):
            raise PortError(f"BER {self.ber} is not 0-7 or 99 (unknown), as AT+CSQ gives it")

    @property
    def dbm(self) -> int | None:
        """The RSSI in dBm (0 is -113 dBm or less, 31 is -51 dBm or more); None if unknown."""
        return None if self.rssi == RSSI_UNKNOWN else -113 + 2 * self.rssi

    def at_response(self) -> str:
        return f"+CSQ: {self.rssi},{self.ber}"


@dataclass(frozen=True)
class BearerState:
    """Everything the bearer reports at one instant."""

    kind: str
    sim_present: bool
    apn: str | None
    registration: Registration
    signal: SignalQuality

    @property
    def attached(self) -> bool:
        """The WAN can be up: a SIM, and registered on the home network or roaming."""
        return self.sim_present and self.registration in (Registration.HOME, Registration.ROAMING)

    def report(self) -> dict[str, object]:
        """The bearer as the hub reports it to the head-end and the bench (12.1.r)."""
        return {
            "kind": self.kind,
            "sim_present": self.sim_present,
            "apn": self.apn,
            "registration": self.registration.name.lower(),
            "creg": f"+CREG: 0,{int(self.registration)}",
            "attached": self.attached,
            "rssi": self.signal.rssi,
            "ber": self.signal.ber,
            "rssi_dbm": self.signal.dbm,
            "csq": self.signal.at_response(),
        }


#: Told of every change of the bearer, in the event loop's thread, in order.
BearerListener = Callable[[BearerState], None]


@runtime_checkable
class Modem(Protocol):
    """The hub's WAN bearer."""

    def state(self) -> BearerState:
        """What the bearer reports now."""
        ...

    def add_listener(self, listener: BearerListener) -> None:
        """Call `listener` with the new state at every change (a SIM pulled and put back
        straight away is two calls)."""
        ...

    def set(
        self,
        *,
        sim_present: bool | None = None,
        registration: int | None = None,
        rssi: int | None = None,
        ber: int | None = None,
        apn: str | None = None,
    ) -> BearerState:
        """The bench's hand on an emulated modem (PortError where the backend has no such
        thing to change, or for a value a modem cannot report)."""
        ...

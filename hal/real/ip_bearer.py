"""The plain IP bearer (clause 6.1.7: the WAN technology is pluggable): a rig on a wired or
Wi-Fi network, where the WAN needs no modem. Always attached; no SIM, APN or radio signal to
report, so the signal is "unknown" (99, 99) as AT+CSQ would say. Losing the WAN there is the
broker becoming unreachable, which the MQTT link itself detects."""

from __future__ import annotations

from hal.modem import BearerListener, BearerState, Registration, SignalQuality
from hal.ports import PortError

__all__ = ["IpBearer"]


class IpBearer:
    """`hal.modem.Modem` for a plain IP network."""

    def __init__(self) -> None:
        self._state = BearerState("ip", True, None, Registration.HOME, SignalQuality())

    def state(self) -> BearerState:
        return self._state

    def add_listener(self, listener: BearerListener) -> None:
        """Nothing to tell: a plain IP bearer never changes."""

    def set(
        self,
        *,
        sim_present: bool | None = None,
        registration: int | None = None,
        rssi: int | None = None,
        ber: int | None = None,
        apn: str | None = None,
    ) -> BearerState:
        raise PortError("the hub's WAN is plain IP: it has no SIM, network or signal to set")

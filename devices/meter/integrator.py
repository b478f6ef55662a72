"""Energy (or volume) integrator: rate x time into an integer register, with nothing lost.

The measuring element reports a rate: active power for electricity, flow for gas. The register
is its integral over time. Both are integers here, as in a meter's firmware:

- the rate in register units per hour: milliwatts (= mWh per hour) for the ESME, millilitres
  per hour for the GSME;
- elapsed time in whole microseconds of the RTC's monotonic time;
- the register in whole units (mWh, ml), plus a remainder in unit-microseconds-per-hour
  (0 <= remainder < 3.6e9) that carries what does not yet make a whole unit.

`units + remainder / 3.6e9` is then exactly the sum of rate x elapsed over every sample, with no
rounding at any step: energy is conserved however the samples are cut, and persisting both
numbers conserves it across restarts too. The remainder is at most one unit (1 mWh, 1 ml), so a
register never shows energy not yet used (cf. `protocol.metering_units`, which cuts rather than
rounds for the same reason).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from protocol.errors import LocalProtocolError

__all__ = ["MICROSECONDS_PER_HOUR", "EnergyIntegrator", "to_microseconds"]

MICROSECONDS_PER_HOUR = 3_600_000_000


def to_microseconds(seconds: float) -> int:
    """A clock reading in whole microseconds.

    Convert each reading, then subtract, so that the elapsed times of consecutive samples add
    up exactly to the time between the first and the last (no drift from rounding each step).
    """
    return round(seconds * 1_000_000)


@dataclass
class EnergyIntegrator:
    """A cumulative register, e.g. CurrentSummationDelivered before scaling (see module doc)."""

    units: int = 0
    remainder: int = 0

    def __post_init__(self) -> None:
        if self.units < 0 or not 0 <= self.remainder < MICROSECONDS_PER_HOUR:
            raise LocalProtocolError(
                f"register state out of range: units={self.units}, remainder={self.remainder}"
            )

    def add(self, rate_per_hour: int, elapsed_us: int) -> int:
        """Add `rate_per_hour` (units per hour) held for `elapsed_us` microseconds.

        Returns the whole units added to the register. Negative rates or times are refused: a
        delivered-energy register only goes up (export is a separate register).
        """
        if rate_per_hour < 0 or elapsed_us < 0:
            raise LocalProtocolError(
                f"cannot integrate rate {rate_per_hour}/h over {elapsed_us} us: both must be >= 0"
            )
        whole, self.remainder = divmod(
            self.remainder + rate_per_hour * elapsed_us, MICROSECONDS_PER_HOUR
        )
        self.units += whole
        return whole

    @property
    def exact(self) -> Fraction:
        """The register's exact content in units, remainder included."""
        return self.units + Fraction(self.remainder, MICROSECONDS_PER_HOUR)

"""Gas volume to energy (13.2, 16.17), exactly in integers.

    kWh = m3 x volume factor (PTZ) x calorific value (MJ/m3) / 3.6 (MJ per kWh)

With the volume in litres (dm3), the factor and the CV in millionths, the energy in Wh is
litres x factor x cv / (3.6 x 10^12), a rational number rounded half to even once. Convert the
meter's cumulative volume, not each interval's, and take differences: rounding then never
accumulates (energy of an interval = volume_to_energy(V1) - volume_to_energy(V0)).
"""

from __future__ import annotations

from protocol.errors import LocalProtocolError
from protocol.tariff.fixed import CalorificValue, VolumeFactor, round_div

__all__ = ["volume_to_energy"]

# Wh = litres/1000 x (f/1e6) x (cv/1e6) / 3.6 x 1000 = litres x f x cv / (3.6e12)
_DENOMINATOR = 36 * 10**11


def volume_to_energy(litres: int, cv: CalorificValue, factor: VolumeFactor) -> int:
    """Energy in Wh of `litres` (dm3) of gas at calorific value `cv` and PTZ `factor`."""
    if not isinstance(litres, int) or isinstance(litres, bool) or litres < 0:
        raise LocalProtocolError(f"a gas volume is a non-negative int of litres, got {litres!r}")
    return round_div(litres * factor.value * cv.value, _DENOMINATOR)

"""Fixed-point quantities of tariffs: money, unit prices, conversion rates and gas factors.

Every value is an integer count of a fixed step (`SCALE` steps per unit); `Decimal` appears only
at the edges (parsing a document, showing a value). The steps are chosen so that the engine's
arithmetic is exact: a cost is energy in Wh times a unit price in millionths of a currency unit
per kWh, which is a whole number of billionths of a currency unit, the step of `Money`.

    Money          1e-9 currency units      range +-9,999,999.999 (requirements, section 16)
    UnitPrice      1e-6 currency units/kWh  24.567 p/kWh is UnitPrice(245670)
    ConversionRate 1e-6                     GBP -> EUR rate (12.1.q, 16.18)
    CalorificValue 1e-6 MJ/m3               gas CV (13.2, 16.17)
    VolumeFactor   1e-6                     gas volume conversion (PTZ) factor (13.2, 16.17)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import ClassVar, Self

from protocol.errors import LocalProtocolError

__all__ = [
    "MONEY_LIMIT",
    "CalorificValue",
    "ConversionRate",
    "Fixed",
    "Money",
    "UnitPrice",
    "VolumeFactor",
    "round_div",
]

#: The largest magnitude of money the requirements name: 9,999,999.999 currency units.
MONEY_LIMIT = Decimal("9999999.999")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]{0,15})(\.[0-9]{1,9})?")


def round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half to even, in integers only (denominator > 0)."""
    quotient, remainder = divmod(numerator, denominator)
    twice = 2 * remainder
    if twice > denominator or (twice == denominator and quotient % 2 == 1):
        quotient += 1
    return quotient


_BOUNDS: dict[type, tuple[int, int]] = {}


@dataclass(frozen=True, slots=True, order=True)
class Fixed:
    """An integer count of 1/SCALE units. Subclasses fix SCALE, PLACES and the bounds."""

    value: int
    SCALE: ClassVar[int] = 10**6
    PLACES: ClassVar[int] = 6
    LIMIT: ClassVar[Decimal] = MONEY_LIMIT
    MINIMUM: ClassVar[Decimal | None] = None
    """Lowest allowed value (None: -LIMIT)."""

    def __post_init__(self) -> None:
        # bool is an int in Python; True pounds is our bug, not a value.
        if not isinstance(self.value, int) or isinstance(self.value, bool):
            raise LocalProtocolError(f"{type(self).__name__} holds an int, got {self.value!r}")
        if not self.in_range(self.value):
            raise LocalProtocolError(f"{type(self).__name__} out of range: {self.decimal()}")

    @classmethod
    def in_range(cls, value: int) -> bool:
        bounds = _BOUNDS.get(cls)
        if bounds is None:  # once per class: Decimal arithmetic is slow for a hot path
            limit = int(cls.LIMIT * cls.SCALE)
            low = -limit if cls.MINIMUM is None else int(cls.MINIMUM * cls.SCALE)
            bounds = _BOUNDS[cls] = (low, limit)
        return bounds[0] <= value <= bounds[1]

    @classmethod
    def parse(cls, text: object) -> Self:
        """From a decimal string such as "0.24567": at most PLACES decimals, no exponent.

        Raises ValueError naming what is wrong; the document codec turns it into DecodeError.
        """
        if not isinstance(text, str) or _DECIMAL.fullmatch(text) is None:
            raise ValueError("a decimal string such as \"0.245\" (no exponent, no '+')")
        places = len(text.partition(".")[2])
        if places > cls.PLACES:
            raise ValueError(f"at most {cls.PLACES} decimal places")
        value = int(Decimal(text) * cls.SCALE)
        if not cls.in_range(value):
            low = -cls.LIMIT if cls.MINIMUM is None else cls.MINIMUM
            raise ValueError(f"a value from {low} to {cls.LIMIT}")
        return cls(value)

    @classmethod
    def of(cls, amount: Decimal | int | str) -> Self:
        """From a Decimal (exact to PLACES decimals) or an int of whole units, for code and tests."""
        exact = Decimal(amount) * cls.SCALE
        if exact != exact.to_integral_value():
            raise LocalProtocolError(f"{amount} has more than {cls.PLACES} decimal places")
        return cls(int(exact))

    def decimal(self) -> Decimal:
        """The value as a Decimal, exactly."""
        return Decimal(self.value).scaleb(-self.PLACES)

    def text(self, places: int | None = None) -> str:
        """A decimal string in plain notation ("40", "0.000000001", never "4E+1" or "1E-9"):
        exactly, or rounded half-even to `places` decimals."""
        if places is None:
            return format(self.decimal().normalize(), "f") if self.value else "0"
        # str() of a Decimal switches to an exponent for small values; format "f" never does.
        return format(self.decimal().quantize(Decimal(1).scaleb(-places), ROUND_HALF_EVEN), "f")

    def __str__(self) -> str:
        return self.text()


class Money(Fixed):
    """An amount of money in billionths of a currency unit (GBP or EUR), +-9,999,999.999."""

    SCALE = 10**9
    PLACES = 9

    def __add__(self, other: Money) -> Money:
        return Money(self.value + other.value)

    def __sub__(self, other: Money) -> Money:
        return Money(self.value - other.value)

    def __neg__(self) -> Money:
        return Money(-self.value)


class UnitPrice(Fixed):
    """A price per kWh in millionths of a currency unit: 24.567 p/kWh is UnitPrice(245670)."""

    SCALE = 10**6
    PLACES = 6

    def cost_of(self, wh: int) -> Money:
        """The cost of `wh` watt-hours at this price, exactly (1e-6/kWh x Wh = 1e-9)."""
        return Money(self.value * wh)


class ConversionRate(Fixed):
    """Units of the new currency per unit of the old one (12.1.q), strictly positive."""

    SCALE = 10**6
    PLACES = 6
    LIMIT = Decimal(1000)
    MINIMUM = Decimal("0.000001")

    def convert_money(self, amount: Money) -> Money:
        return Money(round_div(amount.value * self.value, self.SCALE))

    def convert_price(self, price: UnitPrice) -> UnitPrice:
        return UnitPrice(round_div(price.value * self.value, self.SCALE))


class CalorificValue(Fixed):
    """Gas calorific value in MJ/m3 (13.2), in millionths; GB gas is around 39.5."""

    SCALE = 10**6
    PLACES = 6
    LIMIT = Decimal(100)
    MINIMUM = Decimal("0.000001")


class VolumeFactor(Fixed):
    """Gas volume conversion (PTZ) factor (13.2, 16.17), in millionths; 1.02264 in GB."""

    SCALE = 10**6
    PLACES = 6
    LIMIT = Decimal(10)
    MINIMUM = Decimal("0.000001")

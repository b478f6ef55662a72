"""Fixed-point money and prices always print in plain notation ("40", "0.000000001"), never with
an exponent ("4E+1", "1E-9"), whatever the value and the number of places asked for."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocol.tariff.fixed import (
    CalorificValue,
    ConversionRate,
    Fixed,
    Money,
    UnitPrice,
    VolumeFactor,
)

PLAIN = re.compile(r"-?[0-9]+(\.[0-9]+)?")
KINDS: list[type[Fixed]] = [Money, UnitPrice, ConversionRate, CalorificValue, VolumeFactor]


def values(kind: type[Fixed]) -> st.SearchStrategy[Fixed]:
    limit = int(kind.LIMIT * kind.SCALE)
    low = -limit if kind.MINIMUM is None else int(kind.MINIMUM * kind.SCALE)
    edges = st.sampled_from(
        [v for v in (low, 0, 1, 10, 40 * kind.SCALE, limit) if low <= v <= limit]
    )
    return st.one_of(edges, st.integers(low, limit)).map(kind)


any_fixed = st.sampled_from(KINDS).flatmap(values)


@pytest.mark.req("16.17")
@given(any_fixed, st.one_of(st.none(), st.integers(0, 12)))
def test_fixed_values_print_plainly_and_exactly(value: Fixed, places: int | None) -> None:
    text = value.text(places)
    assert PLAIN.fullmatch(text), text
    if places is None:
        assert Decimal(text) == value.decimal()
        assert str(value) == text
        assert type(value).parse(text) == value  # prints what parses back, to the last step
    else:
        step = Decimal(1).scaleb(-places)
        assert Decimal(text) == value.decimal().quantize(step, ROUND_HALF_EVEN)
        assert len(text.partition(".")[2]) == places


def test_the_values_that_used_to_print_with_an_exponent() -> None:
    assert Money(1).text(9) == "0.000000001"
    assert Money(-1).text(9) == "-0.000000001"
    assert str(Money.of(40)) == "40"
    assert UnitPrice(0).text(3) == "0.000"


@pytest.mark.req("13.39")
@pytest.mark.parametrize("text", ["9999999.999", "-9999999.999", "0.001", "-0.001"])
def test_money_holds_plus_or_minus_9_999_999_999(text: str) -> None:
    money = Money.parse(text)  # the balance field's range, as the requirements name it
    assert str(money) == text and money.decimal() == Decimal(text)

"""`smartmeter hht tariff set`: a VALUE the optical port cannot carry is the user's error, one
line, before the probe is touched (never a traceback)."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from tools.cli_common import UsageError
from tools.cli_hht_tariff import add_tariff_arguments, hht_tariff


def untouched(*_: Any) -> Any:
    raise AssertionError("the probe was touched for a VALUE that was refused")


@pytest.mark.req("19.2.1", "12.1.d")
@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("[" * 100_000, "nested too deeply"),  # once a RecursionError traceback
        ('{"standing_charge": {"amount": 0.6}}', "not an integer"),  # money is a string
        ('{"currency": NaN}', "NaN"),
        ("{no", "JSON"),
    ],
)
def test_a_value_the_port_cannot_carry_is_a_usage_error(value: str, reason: str) -> None:
    parser = argparse.ArgumentParser()
    add_tariff_arguments(parser)
    args = parser.parse_args(["set", "pricing", value])
    with pytest.raises(UsageError, match=reason):
        hht_tariff(args, untouched, untouched)

"""Fuzz the metering units (protocol/metering_units.py): raw Metering attributes, as a meter
reports them, to registers with units (`metering_registers`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from protocol.metering_units import REQUIRED, metering_registers
from tests.fuzz.mutations import decode, fuzz_settings

DECODER = "metering units"

#: Every attribute the conversion reads, with the range its ZCL type allows.
RANGES = {
    "current_summ_delivered": (0, (1 << 48) - 1),
    "status": (0, 0xFF),
    "unit_of_measure": (0, 0xFF),
    "summation_formatting": (0, 0xFF),
    "metering_device_type": (0, 0xFF),
    "multiplier": (0, 0xFFFFFF),
    "divisor": (0, 0xFFFFFF),
    "demand_formatting": (0, 0xFF),
    "instantaneous_demand": (-(1 << 23), (1 << 23) - 1),
}
OPTIONAL = sorted(set(RANGES) - set(REQUIRED))
# What a broken or hostile meter might put where an integer belongs.
_WRONG: st.SearchStrategy[Any] = st.sampled_from(
    [None, True, 1.5, "1", b"\x01", Decimal(1), [], -1, 1 << 64]
)


def _value(name: str) -> st.SearchStrategy[Any]:
    low, high = RANGES[name]
    edges = st.sampled_from([low, high, low + 1, high - 1, 0, 1, 0x80, 0x99, 0x12345678])
    return st.integers(low, high) | edges | st.integers(low - 2, high + 2) | _WRONG


def _bound(name: str) -> st.SearchStrategy[int]:
    """Mostly the top of the range; a divisor mostly at the bottom (0 and 1 both mean 1)."""
    low, high = RANGES[name]
    return st.sampled_from([0, 1, high] if name == "divisor" else [low, high, high, high])


@st.composite
def attributes(draw: st.DrawFn) -> dict[str, Any]:
    # A quarter of the inputs have every attribute at a bound of its range, where the scaling
    # and the digits shown are largest.
    extreme = draw(st.integers(0, 3)) == 0
    names = [name for name in REQUIRED if draw(st.integers(0, 19))]  # now and then one missing
    names += OPTIONAL if extreme else draw(st.lists(st.sampled_from(OPTIONAL), unique=True))
    values_of = _bound if extreme else _value
    values = {name: draw(values_of(name)) for name in names}
    # Mostly units and device types that exist, so the conversion itself runs.
    if "unit_of_measure" in values and draw(st.integers(0, 3)):
        values["unit_of_measure"] = draw(st.integers(0, 0x0D)) | draw(st.sampled_from([0, 0x80]))
    if "metering_device_type" in values and draw(st.integers(0, 3)):
        values["metering_device_type"] = draw(st.integers(0, 15) | st.integers(127, 142))
    return values


@fuzz_settings(1000)
@given(attributes())
@example(  # found by fuzzing: 30 digits, more than Decimal's default precision
    {
        **dict.fromkeys(REQUIRED, 0),
        "current_summ_delivered": (1 << 48) - 1,
        "multiplier": 0xFFFFFF,
        "divisor": 1,
        "summation_formatting": 0x07,
    }
)
def test_metering_registers(raw: dict[str, Any]) -> None:
    decode(DECODER, metering_registers, raw)

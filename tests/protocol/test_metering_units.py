"""Raw ZCL Metering attributes to registers with units (protocol/metering_units.py).

Worked examples are done by hand in the comments; zigpy's own Metering types are the oracle
for enum values and bit layouts.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from zigpy.zcl.clusters.smartenergy import (
    MeteringStatus,
    MeteringUnitofMeasure,
)
from zigpy.zcl.clusters.smartenergy import (
    NumberFormatting as ZigpyNumberFormatting,
)

from protocol.errors import DecodeError, LocalProtocolError
from protocol.metering_units import (
    NumberFormatting,
    UnitOfMeasure,
    gas_energy_kwh,
    metering_registers,
)

# SummationFormatting 0x2B = 0b0_0101_011: 5 digits left, 3 right, leading zeros shown.
FIVE_THREE = 0x2B
ELECTRIC = {
    "current_summ_delivered": 1_234_567,
    "status": 0,
    "unit_of_measure": 0x00,
    "multiplier": 1,
    "divisor": 1000,
    "summation_formatting": FIVE_THREE,
    "metering_device_type": 0,
}
GAS = {**ELECTRIC, "unit_of_measure": 0x01, "metering_device_type": 1}


def test_electricity_summation_and_demand() -> None:
    # 1 234 567 x 1 / 1000 = 1234.567 kWh; demand 1500 x 1 / 1000 = 1.500 kW.
    out = metering_registers({**ELECTRIC, "instantaneous_demand": 1500})
    assert out["metering_device_type"] == "electric"
    assert out["mirrored"] is False
    assert out["registers"]["CurrentSummationDelivered"] == {
        "raw": 1_234_567,
        "value": "1234.567",
        "unit": "kWh",
        "display": "01234.567",
    }
    assert out["registers"]["InstantaneousDemand"]["value"] == "1.500"
    assert out["registers"]["InstantaneousDemand"]["unit"] == "kW"
    assert "EnergyDelivered" not in out["registers"]


@pytest.mark.req("16.22.1")
def test_the_export_register_is_scaled_like_the_import_register() -> None:
    # 987 654 x 1 / 1000 = 987.654 kWh exported, shown with the summation's formatting.
    out = metering_registers({**ELECTRIC, "current_summ_received": 987_654})
    assert out["registers"]["CurrentSummationReceived"] == {
        "raw": 987_654,
        "value": "987.654",
        "unit": "kWh",
        "display": "00987.654",
    }
    assert "CurrentSummationReceived" not in metering_registers(ELECTRIC)["registers"]


def test_export_gives_negative_demand_with_its_own_formatting() -> None:
    # DemandFormatting 0x8A = 0b1_0001_010: suppress leading zeros, 1 digit left, 2 right.
    out = metering_registers({**ELECTRIC, "instantaneous_demand": -2345, "demand_formatting": 0x8A})
    demand = out["registers"]["InstantaneousDemand"]
    # -2345 / 1000 = -2.345 kW, cut (toward zero) to 2 places: -2.34.
    assert (demand["raw"], demand["value"], demand["display"]) == (-2345, "-2.34", "-2.34")


def test_gas_volume_gets_an_energy_register() -> None:
    # 1 000 000 / 1000 = 1000.000 m3; 1000 x 1.02264 x 39.5 / 3.6 = 40394.28 / 3.6
    # = 11220.6333... kWh, cut to the watt-hour: 11220.633.
    out = metering_registers({**GAS, "current_summ_delivered": 1_000_000})
    assert out["metering_device_type"] == "gas"
    assert out["registers"]["CurrentSummationDelivered"]["unit"] == "m³"
    assert out["registers"]["EnergyDelivered"] == {
        "value": "11220.633",
        "unit": "kWh",
        "derived_from": "CurrentSummationDelivered",
        "correction_factor": "1.02264",
        "calorific_value": "39.5",
    }


def test_calorific_value_is_a_parameter() -> None:
    # 1000 x 1.02264 x 40 / 3.6 = 40905.6 / 3.6 = 11362.666... kWh.
    out = metering_registers({**GAS, "current_summ_delivered": 1_000_000}, calorific_value="40.0")
    assert out["registers"]["EnergyDelivered"]["value"] == "11362.666"
    # 100 x 1.02264 x 36 / 3.6 = 100 x 1.02264 x 10 = 1022.640 kWh exactly.
    assert gas_energy_kwh(Decimal("100"), Decimal("36")) == Decimal("1022.640")
    with pytest.raises(LocalProtocolError, match="Decimal"):
        metering_registers(GAS, calorific_value=39.5)  # type: ignore[arg-type]


def test_mirrored_gas_meter_on_the_hub() -> None:
    # MeteringDeviceType 128 = 127 + 1: the hub's mirror of a gas meter (the gas proxy).
    out = metering_registers({**GAS, "metering_device_type": 128, "status": 0b1001_0010})
    assert (out["metering_device_type"], out["mirrored"]) == ("gas", True)
    assert out["status"] == {
        "check_meter": False,
        "low_battery": True,
        "tamper_detect": False,
        "low_pressure": True,
        "leak_detect": False,
        "service_disconnect": False,
        "reverse_flow": True,
    }


def test_electric_status_flags_follow_zigpy() -> None:
    raw = MeteringStatus.Tamper_Detect | MeteringStatus.Service_Disconnect_Open
    flags = metering_registers({**ELECTRIC, "status": raw})["status"]
    assert [name for name, on in flags.items() if on] == [
        "tamper_detect",
        "service_disconnect_open",
    ]


def test_multiplier_and_bcd() -> None:
    # 250 x 10 / 1 = 2500 kWh with no decimals (formatting 0x30: 6 left, 0 right).
    out = metering_registers(
        {
            **ELECTRIC,
            "current_summ_delivered": 250,
            "multiplier": 10,
            "divisor": 1,
            "summation_formatting": 0x30,
        }
    )
    assert out["registers"]["CurrentSummationDelivered"]["display"] == "002500"
    # UnitOfMeasure 0x80 = kWh in BCD: 0x1234567 reads as the digits 1234567.
    bcd = metering_registers(
        {**ELECTRIC, "unit_of_measure": 0x80, "current_summ_delivered": 0x1234567}
    )
    assert bcd["registers"]["CurrentSummationDelivered"]["value"] == "1234.567"
    with pytest.raises(DecodeError, match="BCD"):
        metering_registers({**ELECTRIC, "unit_of_measure": 0x80, "current_summ_delivered": 0x1A})


def test_absent_or_zero_scaling_means_one() -> None:
    bare = {k: v for k, v in ELECTRIC.items() if k not in ("multiplier", "divisor")}
    assert (
        metering_registers(bare)["registers"]["CurrentSummationDelivered"]["value"] == "1234567.000"
    )
    zero = metering_registers({**ELECTRIC, "divisor": 0})
    assert zero["registers"]["CurrentSummationDelivered"]["value"] == "1234567.000"


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"current_summ_delivered": None}, "mandatory"),
        ({"current_summ_delivered": -1}, "current_summ_delivered"),
        ({"current_summ_delivered": 1 << 48}, "current_summ_delivered"),
        ({"instantaneous_demand": 1 << 23}, "instantaneous_demand"),
        ({"unit_of_measure": 0x0E}, "a ZCL unit"),
        ({"metering_device_type": 16}, "a ZCL device type"),
        ({"divisor": 1 << 24}, "divisor"),
        ({"status": "0"}, "status"),
    ],
)
def test_malformed_attributes_raise_decode_error(
    changes: dict[str, object], complaint: str
) -> None:
    attributes = {**ELECTRIC, **changes}
    attributes = {k: v for k, v in attributes.items() if v is not None}
    with pytest.raises(DecodeError, match=complaint):
        metering_registers(attributes)


# -- against zigpy's definitions -----------------------------------------------------------------


def test_unit_codes_match_zigpy() -> None:
    binary = [u for u in MeteringUnitofMeasure if u.value < 0x80]
    assert [u.value for u in binary] == [u.value for u in UnitOfMeasure]
    assert {u.value | 0x80 for u in UnitOfMeasure} == {
        u.value for u in MeteringUnitofMeasure if u.value >= 0x80
    }


@given(raw=st.integers(0, 255))
def test_number_formatting_bits_match_zigpy(raw: int) -> None:
    ours, theirs = NumberFormatting.from_raw(raw), ZigpyNumberFormatting(raw)
    assert ours.digits_right == theirs.num_digits_right_of_decimal
    assert ours.digits_left == theirs.num_digits_left_of_decimal
    assert ours.suppress_leading_zeros == bool(theirs.suppress_leading_zeros)
    assert ours.raw == raw


@given(
    raw=st.integers(0, (1 << 48) - 1),
    multiplier=st.integers(1, (1 << 24) - 1),
    divisor=st.integers(1, (1 << 24) - 1),
    formatting=st.integers(0, 255),
)
def test_value_is_the_exact_quotient_cut_to_the_shown_digits(
    raw: int, multiplier: int, divisor: int, formatting: int
) -> None:
    attributes = {
        **ELECTRIC,
        "current_summ_delivered": raw,
        "multiplier": multiplier,
        "divisor": divisor,
        "summation_formatting": formatting,
    }
    register = metering_registers(attributes)["registers"]["CurrentSummationDelivered"]
    value, step = Decimal(register["value"]), Decimal(1).scaleb(-(formatting & 7))
    # value <= raw x m / d < value + step, checked in integers to avoid any rounding.
    assert value * divisor <= raw * multiplier < (value + step) * divisor
    whole = register["display"].lstrip("-").split(".")[0]
    if formatting & 0x80:
        assert register["display"] == register["value"]
    else:
        assert register["display"].endswith(register["value"].lstrip("0"))
        assert len(whole) >= (formatting >> 3) & 0x0F


@pytest.mark.parametrize("formatting", [0x07, 0x7F, 0xFF])
def test_the_largest_raw_values_convert(formatting: int) -> None:
    # 2^48 - 1 x 0xFFFFFF is 23 digits; with 7 digits right of the point that is 30 digits,
    # more than the 28 of Decimal's default context (it raised InvalidOperation).
    attributes = {
        **GAS,
        "current_summ_delivered": (1 << 48) - 1,
        "multiplier": 0xFFFFFF,
        "divisor": 1,
        "summation_formatting": formatting,
        "instantaneous_demand": -(1 << 23),
        "demand_formatting": formatting,
    }
    registers = metering_registers(attributes)["registers"]
    assert registers["CurrentSummationDelivered"]["value"] == "4722366201394651725825.0000000"
    assert registers["InstantaneousDemand"]["value"] == "-140737479966720.0000000"
    assert registers["EnergyDelivered"]["value"] == "52987939611575542309849.522"


@pytest.mark.parametrize("calorific_value", ["NaN", "Infinity", "-1", "0", "1e50", "39,5"])
def test_a_calorific_value_out_of_range_is_our_error(calorific_value: str) -> None:
    with pytest.raises(LocalProtocolError, match="calorific value"):
        metering_registers(GAS, calorific_value)

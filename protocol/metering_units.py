"""Raw ZCL Metering attributes to registers with units, in fixed point.

Smart Energy Metering cluster (0x0702), formatting attribute set: a summation or demand the meter
reports is a bare integer; its meaning comes from UnitOfMeasure (0x0300), Multiplier (0x0301),
Divisor (0x0302), SummationFormatting (0x0303) and DemandFormatting (0x0304):

    value = raw x Multiplier / Divisor, shown with the formatting's digits right of the point

CurrentSummationDelivered (0x0000, uint48) is in the unit of measure (kWh, m3, ...);
InstantaneousDemand (0x0400, int24, negative when exporting) is in that unit per hour (kW, m3/h).
Input keys are zigpy's attribute names (`zigpy.zcl.clusters.smartenergy.Metering.AttributeDefs`).

For gas in m3 an `EnergyDelivered` register is added with the GB conversion used on bills (and by
the gas meter itself, requirement 13.2): kWh = m3 x 1.02264 x CV / 3.6, where 1.02264 is the
standard temperature and pressure correction and CV the calorific value in MJ/m3.

Money and energy never go through float: values are `Decimal` and leave as decimal strings, cut
(not rounded) to the formatting's digits, as a meter register never shows energy not yet used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, InvalidOperation, localcontext
from enum import IntEnum
from typing import Any

from protocol.errors import DecodeError, LocalProtocolError

GAS_CORRECTION_FACTOR = Decimal("1.02264")  # volume correction to standard conditions (GB)
DEFAULT_CALORIFIC_VALUE = Decimal("39.5")  # MJ/m3, the typical GB declared CV
MJ_PER_KWH = Decimal("3.6")
ENERGY_PLACES = Decimal("0.001")  # kWh to the watt-hour
_BCD_FLAG = 0x80  # UnitOfMeasure values 0x80-0x8D: the same units with BCD-coded values
# Digits of every Decimal operation here. The largest register is a uint48 times a uint24
# multiplier (23 digits) shown with 7 digits right of the point: 30 digits, more than the
# default context's 28, which made quantize raise InvalidOperation. 60 holds it exactly.
_PRECISION = 60


class UnitOfMeasure(IntEnum):
    """UnitOfMeasure (0x0300), binary codes; the same value | 0x80 means BCD (zigpy's
    `MeteringUnitofMeasure`)."""

    KWH = 0x00
    CUBIC_METRE = 0x01
    CUBIC_FEET = 0x02
    CCF = 0x03
    US_GALLONS = 0x04
    IMPERIAL_GALLONS = 0x05
    BTU = 0x06
    LITRES = 0x07
    KPA_GAUGE = 0x08
    KPA_ABSOLUTE = 0x09
    MCF = 0x0A
    UNITLESS = 0x0B
    MEGAJOULE = 0x0C
    KVAR = 0x0D

    @property
    def summation_unit(self) -> str:
        return _UNITS[self][0]

    @property
    def demand_unit(self) -> str:
        return _UNITS[self][1]


_UNITS: dict[UnitOfMeasure, tuple[str, str]] = {
    UnitOfMeasure.KWH: ("kWh", "kW"),
    UnitOfMeasure.CUBIC_METRE: ("m³", "m³/h"),
    UnitOfMeasure.CUBIC_FEET: ("ft³", "ft³/h"),
    UnitOfMeasure.CCF: ("ccf", "ccf/h"),
    UnitOfMeasure.US_GALLONS: ("US gal", "US gal/h"),
    UnitOfMeasure.IMPERIAL_GALLONS: ("imp gal", "imp gal/h"),
    UnitOfMeasure.BTU: ("BTU", "BTU/h"),
    UnitOfMeasure.LITRES: ("l", "l/h"),
    UnitOfMeasure.KPA_GAUGE: ("kPa (gauge)", "kPa (gauge)"),
    UnitOfMeasure.KPA_ABSOLUTE: ("kPa (absolute)", "kPa (absolute)"),
    UnitOfMeasure.MCF: ("mcf", "mcf/h"),
    UnitOfMeasure.UNITLESS: ("", ""),
    UnitOfMeasure.MEGAJOULE: ("MJ", "MJ/s"),
    UnitOfMeasure.KVAR: ("kvarh", "kvar"),
}

# MeteringDeviceType (0x0306); 127 + n is the mirror of type n (e.g. the hub's gas proxy, 128).
_DEVICE_TYPES = {
    0: "electric",
    1: "gas",
    2: "water",
    3: "thermal",
    4: "pressure",
    5: "heat",
    6: "cooling",
    7: "ev_charging",
    8: "pv_generation",
    9: "wind_turbine_generation",
    10: "water_turbine_generation",
    11: "micro_generation",
    12: "solar_hot_water_generation",
    13: "electric_phase_1",
    14: "electric_phase_2",
    15: "electric_phase_3",
}
_MIRROR_OFFSET = 127

# Status (0x0200): bit meanings depend on the device type (SE 1.4 annex D, Metering Status).
_STATUS_BITS: dict[str, tuple[str, ...]] = {
    "electric": (
        "check_meter",
        "low_battery",
        "tamper_detect",
        "power_failure",
        "power_quality",
        "leak_detect",
        "service_disconnect_open",
    ),
    "gas": (
        "check_meter",
        "low_battery",
        "tamper_detect",
        "",  # bit 3 is not defined for gas
        "low_pressure",
        "leak_detect",
        "service_disconnect",
        "reverse_flow",
    ),
    "water": (
        "check_meter",
        "low_battery",
        "tamper_detect",
        "pipe_empty",
        "low_pressure",
        "leak_detect",
        "service_disconnect",
        "reverse_flow",
    ),
}

REQUIRED = (
    "current_summ_delivered",
    "status",
    "unit_of_measure",
    "summation_formatting",
    "metering_device_type",
)


@dataclass(frozen=True)
class NumberFormatting:
    """SummationFormatting / DemandFormatting (map8): bits 0-2 digits right of the decimal point,
    bits 3-6 digits left of it, bit 7 suppress leading zeros (zigpy's `NumberFormatting`)."""

    digits_right: int
    digits_left: int
    suppress_leading_zeros: bool

    @classmethod
    def from_raw(cls, raw: int) -> NumberFormatting:
        return cls(raw & 0x07, (raw >> 3) & 0x0F, bool(raw & 0x80))

    @property
    def raw(self) -> int:
        return self.digits_right | self.digits_left << 3 | int(self.suppress_leading_zeros) << 7

    def quantize(self, value: Decimal) -> Decimal:
        with localcontext(prec=_PRECISION):
            return value.quantize(Decimal(1).scaleb(-self.digits_right), rounding=ROUND_DOWN)

    def display(self, value: Decimal) -> str:
        """As a meter display shows it: leading zeros up to `digits_left` unless suppressed.

        An integer part longer than `digits_left` is shown in full rather than rolled over.
        """
        text = format(self.quantize(value), "f")
        sign, text = ("-", text[1:]) if text.startswith("-") else ("", text)
        whole, point, fraction = text.partition(".")
        if not self.suppress_leading_zeros:
            whole = whole.zfill(self.digits_left)
        return f"{sign}{whole}{point}{fraction}"


def _raw_int(attributes: Mapping[str, Any], name: str, low: int, high: int) -> int:
    value = attributes[name]
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise DecodeError(
            f"Metering attribute {name}", f"an integer in [{low}, {high}]", repr(value)
        )
    return int(value)  # zigpy's enums and bitmaps are int subclasses: keep the plain number


def _from_bcd(name: str, raw: int) -> int:
    """Values are binary-coded decimal when UnitOfMeasure has bit 7 set: 0x1234 means 1234."""
    digits = f"{raw:x}"
    if not digits.isdigit():
        raise DecodeError(f"Metering attribute {name}", "BCD digits 0-9", hex(raw))
    return int(digits)


def _scaled(raw: int, multiplier: int, divisor: int) -> Decimal:
    with localcontext(prec=_PRECISION):  # uint48 x uint24 is exact well inside 60 digits
        return Decimal(raw) * multiplier / divisor


def gas_energy_kwh(
    volume_m3: Decimal, calorific_value: Decimal = DEFAULT_CALORIFIC_VALUE
) -> Decimal:
    """GB gas volume to energy: kWh = m3 x 1.02264 x CV (MJ/m3) / 3.6, to the watt-hour (13.2)."""
    with localcontext(prec=_PRECISION):
        kwh = volume_m3 * GAS_CORRECTION_FACTOR * calorific_value / MJ_PER_KWH
        return kwh.quantize(ENERGY_PLACES, rounding=ROUND_DOWN)


#: kWh in one m3 of gas at the default calorific value (clause 13.2): correction factor x CV / 3.6.
KWH_PER_M3 = GAS_CORRECTION_FACTOR * DEFAULT_CALORIFIC_VALUE / MJ_PER_KWH


def gas_flow_for_power(watts: float) -> float:
    """The gas flow (m3/h) that burns `watts` at the default calorific value.

    For bench and rig settings stated in watts (a load, not a register), so float is fine.
    """
    return watts / 1000 / float(KWH_PER_M3)


def metering_registers(
    attributes: Mapping[str, Any], calorific_value: Decimal | str | int = DEFAULT_CALORIFIC_VALUE
) -> dict[str, Any]:
    """Turn raw Metering attributes (zigpy names -> int) into registers with units.

    Returns `{"registers": {"CurrentSummationDelivered": {"raw", "value", "unit", "display"},
    "InstantaneousDemand": {...}?, "EnergyDelivered": {...}?}, "metering_device_type": "electric",
    "mirrored": False, "status": {flag: bool}}`. Raises DecodeError for missing mandatory
    attributes or values out of their ZCL range.
    """
    if isinstance(calorific_value, float):  # 39.5 as a float is not exactly 39.5
        raise LocalProtocolError("calorific value must be a Decimal or a decimal string")
    try:
        calorific_value = Decimal(calorific_value)
    except InvalidOperation:
        calorific_value = Decimal("NaN")
    # The calorific value is ours (rig or bench setting), not the meter's: a bad one is our bug.
    if not calorific_value.is_finite() or not 0 < calorific_value < 1000:
        raise LocalProtocolError(f"calorific value must be 0-1000 MJ/m3, not {calorific_value}")
    if missing := [name for name in REQUIRED if name not in attributes]:
        raise DecodeError("Metering attributes", f"mandatory {list(REQUIRED)}", f"no {missing}")
    unit_code = _raw_int(attributes, "unit_of_measure", 0, 0xFF)
    try:
        unit = UnitOfMeasure(unit_code & ~_BCD_FLAG)
    except ValueError:
        raise DecodeError(
            "Metering attribute unit_of_measure", "a ZCL unit", hex(unit_code)
        ) from None
    bcd = bool(unit_code & _BCD_FLAG)
    # An absent or zero Multiplier/Divisor means "no scaling"; zero would wipe or divide by zero.
    multiplier = (
        _raw_int(attributes, "multiplier", 0, 0xFFFFFF) if "multiplier" in attributes else 1
    )
    divisor = _raw_int(attributes, "divisor", 0, 0xFFFFFF) if "divisor" in attributes else 1
    multiplier, divisor = multiplier or 1, divisor or 1
    summation_format = NumberFormatting.from_raw(
        _raw_int(attributes, "summation_formatting", 0, 0xFF)
    )

    type_code = _raw_int(attributes, "metering_device_type", 0, 0xFF)
    mirrored = type_code >= _MIRROR_OFFSET
    device_type = _DEVICE_TYPES.get(type_code - _MIRROR_OFFSET if mirrored else type_code)
    if device_type is None:
        raise DecodeError(
            "Metering attribute metering_device_type", "a ZCL device type", str(type_code)
        )

    registers: dict[str, dict[str, Any]] = {}
    raw = _raw_int(attributes, "current_summ_delivered", 0, (1 << 48) - 1)
    summation = summation_format.quantize(
        _scaled(_from_bcd("current_summ_delivered", raw) if bcd else raw, multiplier, divisor)
    )
    registers["CurrentSummationDelivered"] = {
        "raw": raw,
        "value": format(summation, "f"),
        "unit": unit.summation_unit,
        "display": summation_format.display(summation),
    }
    if "current_summ_received" in attributes:
        # Export (16.22.1), scaled and shown like the import register.
        raw_received = _raw_int(attributes, "current_summ_received", 0, (1 << 48) - 1)
        received = summation_format.quantize(
            _scaled(
                _from_bcd("current_summ_received", raw_received) if bcd else raw_received,
                multiplier,
                divisor,
            )
        )
        registers["CurrentSummationReceived"] = {
            "raw": raw_received,
            "value": format(received, "f"),
            "unit": unit.summation_unit,
            "display": summation_format.display(received),
        }
    if "instantaneous_demand" in attributes:
        raw_demand = _raw_int(attributes, "instantaneous_demand", -(1 << 23), (1 << 23) - 1)
        demand_format = (
            NumberFormatting.from_raw(_raw_int(attributes, "demand_formatting", 0, 0xFF))
            if "demand_formatting" in attributes
            else summation_format
        )
        magnitude = _from_bcd("instantaneous_demand", raw_demand) if bcd else raw_demand
        demand = demand_format.quantize(_scaled(magnitude, multiplier, divisor))
        registers["InstantaneousDemand"] = {
            "raw": raw_demand,
            "value": format(demand, "f"),
            "unit": unit.demand_unit,
            "display": demand_format.display(demand),
        }
    if unit is UnitOfMeasure.CUBIC_METRE:
        registers["EnergyDelivered"] = {
            "value": format(gas_energy_kwh(summation, calorific_value), "f"),
            "unit": "kWh",
            "derived_from": "CurrentSummationDelivered",
            "correction_factor": format(GAS_CORRECTION_FACTOR, "f"),
            "calorific_value": format(calorific_value, "f"),
        }

    status_raw = _raw_int(attributes, "status", 0, 0xFF)
    family = "electric" if device_type.startswith("electric") else device_type
    # Other types share only the generic bits 0-2; their upper bits differ and are left out.
    bit_names = _STATUS_BITS.get(family, _STATUS_BITS["electric"][:3])
    status = {name: bool(status_raw >> bit & 1) for bit, name in enumerate(bit_names) if name}
    return {
        "registers": registers,
        "metering_device_type": device_type,
        "mirrored": mirrored,
        "status": status,
    }

"""The Metering cluster (0x0702) a meter serves, built from its integer registers.

Smart Energy 1.x annex D.3.2.2. The meter keeps mWh (electricity) or ml (gas) internally; the
cluster shows them in the units a head-end and IHD expect, through the formatting attribute set:

| attribute                         | ESME                     | GSME                       |
|-----------------------------------|--------------------------|----------------------------|
| CurrentSummationDelivered 0x0000  | Wh (uint48)              | litres (uint48)            |
| Status 0x0200                     | 0 (no flag set)          | 0                          |
| UnitOfMeasure 0x0300              | 0 kWh & kW               | 1 m3 & m3/h                |
| Multiplier 0x0301 / Divisor 0x0302| 1 / 1000: Wh -> kWh      | 1 / 1000: l -> m3          |
| SummationFormatting 0x0303        | 0xBB: 7.3 digits, no leading zeros                    |
| DemandFormatting 0x0304           | 0x93: 2.3 digits         | 0x8B: 1.3 digits           |
| MeteringDeviceType 0x0306         | 0 electric metering      | 1 gas metering             |
| InstantaneousDemand 0x0400        | W (int24) -> kW          | l/h (int24) -> m3/h        |

Seven digits left of the point hold 9,999,999 kWh (over a thousand years of a household) or
m3; three right of it resolve one Wh or one litre, the register's raw unit. The data types are
those of the SE specification (Status, the formatting attributes and MeteringDeviceType are
8-bit bitmaps, UnitOfMeasure an 8-bit enumeration); zigpy's definitions say uint8/enum8 for some
of them, which a reader accepts either way because a ZCL record carries its type id.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from firmware.zcl.cluster_server import AttributeBinding, ClusterServer, CommandHandler
from protocol.se import Metering

__all__ = [
    "ELECTRICITY",
    "GAS",
    "METERING_CLUSTER",
    "Commodity",
    "attribute_names",
    "metering_server",
]

METERING_CLUSTER = Metering.cluster_id
_UINT48_MODULUS = 1 << 48
_INT24_MAX = (1 << 23) - 1


@dataclass(frozen=True)
class Commodity:
    """How one fuel's integer registers are presented in the Metering cluster."""

    fuel: str
    metering_device_type: int
    """MeteringDeviceType (0x0306): 0 electric metering, 1 gas metering."""
    unit_of_measure: int
    """UnitOfMeasure (0x0300): 0 kWh (binary), 1 m3 (binary)."""
    units_per_raw: int
    """Register units (mWh, ml) in one raw CurrentSummationDelivered step (Wh, l)."""
    rate_per_raw_demand: int
    """Rate units (mW, ml/h) in one raw InstantaneousDemand step (W, l/h)."""
    multiplier: int
    divisor: int
    summation_formatting: int
    demand_formatting: int
    summation_label: str
    demand_label: str

    def raw_summation(self, units: int) -> int:
        """CurrentSummationDelivered from the register: whole raw steps, rolling over at 2^48
        like a mechanical register (never reached in practice)."""
        return (units // self.units_per_raw) % _UINT48_MODULUS

    def raw_demand(self, rate_per_hour: int) -> int:
        """InstantaneousDemand from the current rate, to the nearest raw step, within int24."""
        steps, rest = divmod(rate_per_hour, self.rate_per_raw_demand)
        if 2 * rest >= self.rate_per_raw_demand:
            steps += 1
        return max(-_INT24_MAX, min(_INT24_MAX, steps))


ELECTRICITY = Commodity(
    fuel="electricity",
    metering_device_type=0,
    unit_of_measure=0,
    units_per_raw=1000,
    rate_per_raw_demand=1000,
    multiplier=1,
    divisor=1000,
    summation_formatting=0xBB,
    demand_formatting=0x93,
    summation_label="Import",
    demand_label="Demand",
)

GAS = Commodity(
    fuel="gas",
    metering_device_type=1,
    unit_of_measure=1,
    units_per_raw=1000,
    rate_per_raw_demand=1000,
    multiplier=1,
    divisor=1000,
    summation_formatting=0xBB,
    demand_formatting=0x8B,
    summation_label="Volume",
    demand_label="Flow",
)


def _constant(value: int) -> Callable[[], int]:
    return lambda: value


def metering_server(
    commodity: Commodity,
    summation: Callable[[], int],
    demand: Callable[[], int],
    status: Callable[[], int] | None = None,
    extra: Mapping[str, AttributeBinding] | None = None,
    commands: Mapping[str, CommandHandler] | None = None,
) -> ClusterServer:
    """The Metering server cluster; `summation` and `demand` return raw values, `status` the
    Status bitmap (no flag set when not given); `extra` adds attributes (the tariff's) and
    `commands` command handlers (GetProfile). Data types and access come from the
    declaration (`protocol.se.Metering`)."""
    bindings = {
        "current_summ_delivered": summation,
        "status": status or _constant(0),
        "unit_of_measure": _constant(commodity.unit_of_measure),
        "multiplier": _constant(commodity.multiplier),
        "divisor": _constant(commodity.divisor),
        "summation_formatting": _constant(commodity.summation_formatting),
        "demand_formatting": _constant(commodity.demand_formatting),
        "metering_device_type": _constant(commodity.metering_device_type),
        "instantaneous_demand": demand,
    }
    attributes = {name: AttributeBinding(read) for name, read in bindings.items()}
    return ClusterServer(Metering, {**attributes, **(extra or {})}, commands)


def attribute_names(values: Mapping[int, Any]) -> dict[str, int]:
    """Metering attribute id -> value as the declaration's attribute name -> plain int, the
    input of `protocol.metering_units.metering_registers`."""
    return {Metering.attributes[attr_id].name: int(value) for attr_id, value in values.items()}

"""The Metering cluster (0x0702; ZigBee SE 1.4 annex D.3), zigpy's definition completed.

zigpy 2.4 declares every Metering command (GetProfile/GetProfileResponse, RequestMirror,
RemoveMirror, RequestFastPollMode, snapshots, sampling, ChangeSupply, ...) and the attribute
sets up to TOU tier 15; the tests hold its command layouts against tshark. Our meters run TOU
tariffs of up to 48 tiers and block tariffs, and keep the GB historical registers, so this
subclass adds, under zigpy's naming scheme (zigpy's names stay as they are, the firmware uses
them):

- TOU Information set: CurrentTier16..48SummationDelivered/Received (0x011E-0x015F);
- Block Information sets: CurrentNoTierBlock1..16 and CurrentTier1..15Block1..16 summations,
  delivered (0x0700-0x07FF) and received (0x0900-0x09FF);
- Historical Consumption set: PreviousDay2..8, CurrentWeek, PreviousWeek, PreviousWeek2..5,
  CurrentMonth, PreviousMonth, PreviousMonth2..13 consumption and HistoricalFreezeTime (0x0420-0x045C);
- Supply Limit set: LoadLimitSupplyState .. SupplyUncontrolledFlowState (0x0605-0x0609);
- Meter Billing set: BillDeliveredTrailingDigit and the received-energy bill (0x0A04-0x0A14);
- Supply Control set (0x0B00-0x0B15);
- the global ClusterRevision and AttributeReportingStatus (0xFFFD, 0xFFFE);
- the reportable flag on the summations, Status and InstantaneousDemand (zigpy has none).

zigpy declares ScheduleSnapshot's schedules and ConfigureNotificationFlags' bit-field
allocations as lists; tshark 4.0 and the spec-generated zsmartsystems library read one per
command (more go in further commands, CommandIndex of TotalNumberOfCommands). One item encodes
the same either way, so zigpy's layouts are kept.

Being a subclass without `_skip_registry`, it replaces zigpy's entry for 0x0702: importing
`protocol.se` makes every zigpy `Cluster.from_id(0x0702)` use it.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import foundation
from zigpy.zcl.clusters import smartenergy as zigpy_se

from .types import TrailingDigit
from .zcl_defs import (
    MAP8,
    add_attributes,
    attribute,
    attribute_grid,
    attribute_pairs,
    make_reportable,
)


class MeteringAttributes(zigpy_se.Metering.AttributeDefs):
    """zigpy's Metering attributes and the named ones it lacks; the numbered families follow."""

    cluster_revision: Final = foundation.ZCL_CLUSTER_REVISION_ATTR
    reporting_status: Final = foundation.ZCL_REPORTING_STATUS_ATTR

    historical_freeze_time: Final = attribute(0x045C, t.uint16_t)
    load_limit_supply_state: Final = attribute(0x0605, zigpy_se.SupplyStatus)
    load_limit_counter: Final = attribute(0x0606, t.uint8_t)
    supply_tamper_state: Final = attribute(0x0607, zigpy_se.SupplyStatus)
    supply_depletion_state: Final = attribute(0x0608, zigpy_se.SupplyStatus)
    supply_uncontrolled_flow_state: Final = attribute(0x0609, zigpy_se.SupplyStatus)
    bill_delivered_trailing_digit: Final = attribute(0x0A04, TrailingDigit, zcl_type=MAP8)
    bill_to_date_received: Final = attribute(0x0A10, t.uint32_t)
    bill_to_date_time_stamp_received: Final = attribute(0x0A11, t.UTCTime)
    projected_bill_received: Final = attribute(0x0A12, t.uint32_t)
    projected_bill_time_stamp_received: Final = attribute(0x0A13, t.UTCTime)
    bill_received_trailing_digit: Final = attribute(0x0A14, TrailingDigit, zcl_type=MAP8)
    proposed_change_supply_implementation_time: Final = attribute(0x0B00, t.UTCTime)
    proposed_change_supply_status: Final = attribute(0x0B01, zigpy_se.SupplyStatus)
    uncontrolled_flow_threshold: Final = attribute(0x0B10, t.uint16_t)
    uncontrolled_flow_threshold_unit_of_measure: Final = attribute(
        0x0B11, zigpy_se.MeteringUnitofMeasure
    )
    uncontrolled_flow_multiplier: Final = attribute(0x0B12, t.uint16_t)
    uncontrolled_flow_divisor: Final = attribute(0x0B13, t.uint16_t)
    flow_stabilisation_period: Final = attribute(0x0B14, t.uint8_t)
    flow_measurement_period: Final = attribute(0x0B15, t.uint16_t)
    current_week_consumption_delivered: Final = attribute(0x0430, t.uint24_t)
    current_week_consumption_received: Final = attribute(0x0431, t.uint24_t)
    previous_week_consumption_delivered: Final = attribute(0x0432, t.uint24_t)
    previous_week_consumption_received: Final = attribute(0x0433, t.uint24_t)
    current_month_consumption_delivered: Final = attribute(0x0440, t.uint32_t)
    current_month_consumption_received: Final = attribute(0x0441, t.uint32_t)
    previous_month_consumption_delivered: Final = attribute(0x0442, t.uint32_t)
    previous_month_consumption_received: Final = attribute(0x0443, t.uint32_t)


add_attributes(
    MeteringAttributes,
    attribute_pairs("current_tier{n}_summ_{way}", 0x011E, range(16, 49), t.uint48_t),
    attribute_pairs("previous_day{n}_consumption_{way}", 0x0420, range(2, 9), t.uint24_t),
    attribute_pairs("previous_week{n}_consumption_{way}", 0x0434, range(2, 6), t.uint24_t),
    attribute_pairs("previous_month{n}_consumption_{way}", 0x0444, range(2, 14), t.uint32_t),
    attribute_grid(
        "current_tier{tier}_block{block}_summ_delivered",
        0x0700,
        15,
        16,
        t.uint48_t,
        no_tier="current_no_tier_block{block}_summ_delivered",
    ),
    attribute_grid(
        "current_tier{tier}_block{block}_summ_received",
        0x0900,
        15,
        16,
        t.uint48_t,
        no_tier="current_no_tier_block{block}_summ_received",
    ),
)


# The attributes an IHD or the hub may ask a meter to report (SE 1.4 D.3.2.2: the summations,
# the status and the demand are the reportable ones of the sets the GB meters serve).
make_reportable(
    MeteringAttributes,
    [
        "current_summ_delivered",
        "current_summ_received",
        "status",
        "instantaneous_demand",
        *(f"current_tier{n}_summ_{way}" for n in range(1, 49) for way in ("delivered", "received")),
    ],
)


class Metering(zigpy_se.Metering):
    """Metering (0x0702): zigpy's commands, zigpy's attributes and ours."""

    class AttributeDefs(MeteringAttributes):
        pass

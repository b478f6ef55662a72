"""Server attributes of the Prepayment cluster (0x0705; ZigBee SE 1.4 annex D.7).

Sets, by the high octet of the id: 0x00 Prepayment Information, 0x01 Top-up (the last five
top-ups, #1 the newest), 0x02 Debt (debts #1 to #3 and how each is recovered), 0x04 Alarms,
0x05 Historical Cost Consumption Information. Credit and debt are signed integers in the
currency's smallest unit; the Historical Cost set gives its own Currency and scaling factor.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl.clusters.smartenergy import MeteringUnitofMeasure, NumberFormatting
from zigpy.zcl.foundation import ZCLAttributeDef

from .prepayment_types import (
    CreditStatus,
    DebtLabel,
    DebtRecoveryFrequency,
    DebtRecoveryMethod,
    PaymentControlConfiguration,
    TokenCarrierId,
    TopUpCode,
)
from .types import Currency, OriginatingDevice, TrailingDigit
from .zcl_defs import (
    MAP8,
    READ_WRITE,
    GlobalAttributes,
    add_attributes,
    attribute,
    attribute_family,
    attribute_pairs,
)

TOP_UPS = range(1, 6)
DEBTS = range(1, 4)


def _cost(attr_id: int) -> ZCLAttributeDef:
    """A historical cost consumption attribute: uint48 money in the set's Currency."""
    return attribute(attr_id, t.uint48_t)


class PrepaymentAttributes(GlobalAttributes):
    """The named Prepayment server attributes; the numbered top-up/debt/history sets follow."""

    # Prepayment Information set
    payment_control_configuration: Final = attribute(
        0x0000, PaymentControlConfiguration, mandatory=True
    )
    credit_remaining: Final = attribute(0x0001, t.int32s)
    emergency_credit_remaining: Final = attribute(0x0002, t.int32s)
    credit_status: Final = attribute(0x0003, CreditStatus)
    credit_remaining_timestamp: Final = attribute(0x0004, t.UTCTime)
    accumulated_debt: Final = attribute(0x0005, t.int32s)
    overall_debt_cap: Final = attribute(0x0006, t.int32s)
    emergency_credit_limit_allowance: Final = attribute(0x0010, t.uint32_t)
    emergency_credit_threshold: Final = attribute(0x0011, t.uint32_t)
    total_credit_added: Final = attribute(0x0020, t.uint48_t)
    max_credit_limit: Final = attribute(0x0021, t.uint32_t)
    max_credit_per_top_up: Final = attribute(0x0022, t.uint32_t)
    friendly_credit_warning: Final = attribute(0x0030, t.uint8_t)
    low_credit_warning_level: Final = attribute(0x0031, t.uint32_t)
    ihd_low_credit_warning_level: Final = attribute(0x0032, t.uint32_t, READ_WRITE)
    interrupt_suspend_time: Final = attribute(0x0033, t.uint8_t)
    remaining_friendly_credit_time: Final = attribute(0x0034, t.uint16_t)
    next_friendly_credit_period: Final = attribute(0x0035, t.UTCTime)
    cut_off_value: Final = attribute(0x0040, t.int32s)
    token_carrier_id: Final = attribute(0x0080, TokenCarrierId, READ_WRITE)
    # Alarms set
    prepayment_alarm_status: Final = attribute(0x0400, t.bitmap16)
    prepay_generic_alarm_mask: Final = attribute(0x0401, t.bitmap16, READ_WRITE)
    prepay_switch_alarm_mask: Final = attribute(0x0402, t.bitmap16, READ_WRITE)
    prepay_event_alarm_mask: Final = attribute(0x0403, t.bitmap16, READ_WRITE)
    # Historical Cost Consumption Information set
    historical_cost_consumption_formatting: Final = attribute(
        0x0500, NumberFormatting, zcl_type=MAP8
    )
    consumption_unit_of_measurement: Final = attribute(0x0501, MeteringUnitofMeasure)
    currency_scaling_factor: Final = attribute(0x0502, TrailingDigit, zcl_type=MAP8)
    currency: Final = attribute(0x0503, Currency)
    current_day_cost_consumption_delivered: Final = _cost(0x051C)
    current_day_cost_consumption_received: Final = _cost(0x051D)
    previous_day_cost_consumption_delivered: Final = _cost(0x051E)
    previous_day_cost_consumption_received: Final = _cost(0x051F)
    current_week_cost_consumption_delivered: Final = _cost(0x0530)
    current_week_cost_consumption_received: Final = _cost(0x0531)
    previous_week_cost_consumption_delivered: Final = _cost(0x0532)
    previous_week_cost_consumption_received: Final = _cost(0x0533)
    current_month_cost_consumption_delivered: Final = _cost(0x0540)
    current_month_cost_consumption_received: Final = _cost(0x0541)
    previous_month_cost_consumption_delivered: Final = _cost(0x0542)
    previous_month_cost_consumption_received: Final = _cost(0x0543)
    historical_freeze_time: Final = attribute(0x055C, t.uint16_t)


add_attributes(
    PrepaymentAttributes,
    # Top-up set: TopUpDateTime#N, TopUpAmount#N, OriginatingDevice#N, TopUpCode#N.
    attribute_family("top_up_date_time_{n}", 0x0100, TOP_UPS, t.UTCTime, stride=16),
    attribute_family("top_up_amount_{n}", 0x0101, TOP_UPS, t.int32s, stride=16),
    attribute_family("originating_device_{n}", 0x0102, TOP_UPS, OriginatingDevice, stride=16),
    attribute_family("top_up_code_{n}", 0x0103, TOP_UPS, TopUpCode, stride=16),
    # Debt set: debt #N at 0x02N0.
    attribute_family("debt_label_{n}", 0x0210, DEBTS, DebtLabel, stride=16),
    attribute_family("debt_amount_{n}", 0x0211, DEBTS, t.uint32_t, stride=16),
    attribute_family("debt_recovery_method_{n}", 0x0212, DEBTS, DebtRecoveryMethod, stride=16),
    attribute_family("debt_recovery_start_time_{n}", 0x0213, DEBTS, t.UTCTime, stride=16),
    attribute_family("debt_recovery_collection_time_{n}", 0x0214, DEBTS, t.uint16_t, stride=16),
    attribute_family(
        "debt_recovery_frequency_{n}", 0x0216, DEBTS, DebtRecoveryFrequency, stride=16
    ),
    attribute_family("debt_recovery_amount_{n}", 0x0217, DEBTS, t.uint32_t, stride=16),
    attribute_family("debt_recovery_top_up_percentage_{n}", 0x0219, DEBTS, t.uint16_t, stride=16),
    # Historical Cost set: PreviousDayN (N = 2..8), PreviousWeekN (2..5), PreviousMonthN (2..13)
    # cost consumption, delivered at even ids and received at the odd id after.
    attribute_pairs("previous_day{n}_cost_consumption_{way}", 0x0520, range(2, 9), t.uint48_t),
    attribute_pairs("previous_week{n}_cost_consumption_{way}", 0x0534, range(2, 6), t.uint48_t),
    attribute_pairs("previous_month{n}_cost_consumption_{way}", 0x0544, range(2, 14), t.uint48_t),
)

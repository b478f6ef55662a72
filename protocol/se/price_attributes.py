"""Server attributes of the Price cluster (0x0700; ZigBee SE 1.4 annex D.4, attribute sets).

Sets, by the high octet of the id: 0x00 Tier Label, 0x01 Block Threshold, 0x02 Block Period,
0x03 Commodity, 0x04 Block Price Information, 0x05 Extended Price Information, 0x06 Tariff
Information, 0x07 Billing Information, 0x08 Credit Payment; 0x80-0x87 are the "Received" copies
for a tariff on exported energy, of which the tier labels, block period, tariff information and
billing sets are declared (the block grids of received energy are not used by GB meters).

The client side's PriceIncreaseRandomizeMinutes/PriceDecreaseRandomizeMinutes (client attributes
0x0000/0x0001) are not declared: zigpy keeps one attribute table per cluster class, and the ids
would clash with Tier1PriceLabel/Tier2PriceLabel of the server.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl.clusters.smartenergy import MeteringDeviceType, MeteringUnitofMeasure

from .price_types import (
    CalorificValueUnit,
    CO2Unit,
    CreditPaymentRef,
    CreditPaymentStatus,
    TariffLabel,
    TariffResolutionPeriod,
    TierBlockMode,
    TierLabelString,
)
from .types import Currency, DurationType, TrailingDigit
from .zcl_defs import (
    MAP8,
    GlobalAttributes,
    add_attributes,
    attribute,
    attribute_family,
    attribute_grid,
)

#: Price tiers of the Tier Label set and the Extended Price set (SE 1.2 raised 15 to 48).
TIERS = range(1, 49)
#: Tiers with their own block thresholds and block prices, beside "no tier" (tier 0).
BLOCK_TIERS = 15


class PriceAttributes(GlobalAttributes):
    """The named (non-numbered) Price server attributes; the numbered families follow."""

    # Block Threshold set
    block_threshold_count: Final = attribute(0x010F, t.uint8_t)
    # Block Period set
    start_of_block_period: Final = attribute(0x0200, t.UTCTime)
    block_period_duration: Final = attribute(0x0201, t.uint24_t)
    threshold_multiplier: Final = attribute(0x0202, t.uint24_t)
    threshold_divisor: Final = attribute(0x0203, t.uint24_t)
    block_period_duration_type: Final = attribute(0x0204, DurationType, zcl_type=MAP8)
    # Commodity set
    commodity_type: Final = attribute(0x0300, MeteringDeviceType)
    standing_charge: Final = attribute(0x0301, t.uint32_t)
    conversion_factor: Final = attribute(0x0302, t.uint32_t)
    conversion_factor_trailing_digit: Final = attribute(0x0303, TrailingDigit, zcl_type=MAP8)
    calorific_value: Final = attribute(0x0304, t.uint32_t)
    calorific_value_unit: Final = attribute(0x0305, CalorificValueUnit)
    calorific_value_trailing_digit: Final = attribute(0x0306, TrailingDigit, zcl_type=MAP8)
    # Extended Price Information set: critical peak prices
    cpp1_price: Final = attribute(0x05FE, t.uint32_t)
    cpp2_price: Final = attribute(0x05FF, t.uint32_t)
    # Tariff Information set
    tariff_label: Final = attribute(0x0610, TariffLabel)
    number_of_price_tiers_in_use: Final = attribute(0x0611, t.uint8_t)
    number_of_block_thresholds_in_use: Final = attribute(0x0612, t.uint8_t)
    tier_block_mode: Final = attribute(0x0613, TierBlockMode)
    unit_of_measure: Final = attribute(0x0615, MeteringUnitofMeasure)
    currency: Final = attribute(0x0616, Currency)
    price_trailing_digit: Final = attribute(0x0617, TrailingDigit, zcl_type=MAP8)
    tariff_resolution_period: Final = attribute(0x0619, TariffResolutionPeriod)
    co2: Final = attribute(0x0620, t.uint32_t)
    co2_unit: Final = attribute(0x0621, CO2Unit)
    co2_trailing_digit: Final = attribute(0x0622, TrailingDigit, zcl_type=MAP8)
    # Billing Information set
    current_billing_period_start: Final = attribute(0x0700, t.UTCTime)
    current_billing_period_duration: Final = attribute(0x0701, t.uint24_t)
    last_billing_period_start: Final = attribute(0x0702, t.UTCTime)
    last_billing_period_duration: Final = attribute(0x0703, t.uint24_t)
    last_billing_period_consolidated_bill: Final = attribute(0x0704, t.uint32_t)
    # Credit Payment set
    credit_payment_due_date: Final = attribute(0x0800, t.UTCTime)
    credit_payment_status: Final = attribute(0x0801, CreditPaymentStatus)
    credit_payment_over_due_amount: Final = attribute(0x0802, t.int32s)
    payment_discount: Final = attribute(0x080A, t.int32s)
    payment_discount_period: Final = attribute(0x080B, t.enum8)
    # Received Block Period set
    received_start_of_block_period: Final = attribute(0x8200, t.UTCTime)
    received_block_period_duration: Final = attribute(0x8201, t.uint24_t)
    received_threshold_multiplier: Final = attribute(0x8202, t.uint24_t)
    received_threshold_divisor: Final = attribute(0x8203, t.uint24_t)
    # Received Tariff Information set (ids as SE 1.4 lists them, CO2 at 0x8625-0x8627)
    received_tariff_label: Final = attribute(0x8610, TariffLabel)
    received_number_of_price_tiers_in_use: Final = attribute(0x8611, t.uint8_t)
    received_number_of_block_thresholds_in_use: Final = attribute(0x8612, t.uint8_t)
    received_tier_block_mode: Final = attribute(0x8613, TierBlockMode)
    received_tariff_resolution_period: Final = attribute(0x8615, TariffResolutionPeriod)
    received_co2: Final = attribute(0x8625, t.uint32_t)
    received_co2_unit: Final = attribute(0x8626, CO2Unit)
    received_co2_trailing_digit: Final = attribute(0x8627, TrailingDigit, zcl_type=MAP8)
    # Received Billing Information set
    received_current_billing_period_start: Final = attribute(0x8700, t.UTCTime)
    received_current_billing_period_duration: Final = attribute(0x8701, t.uint24_t)
    received_last_billing_period_start: Final = attribute(0x8702, t.UTCTime)
    received_last_billing_period_duration: Final = attribute(0x8703, t.uint24_t)
    received_last_billing_period_consolidated_bill: Final = attribute(0x8704, t.uint32_t)


add_attributes(
    PriceAttributes,
    # Tier Label set: Tier1PriceLabel..Tier48PriceLabel, and their Received copies.
    attribute_family("tier{n}_price_label", 0x0000, TIERS, TierLabelString),
    attribute_family("received_tier{n}_price_label", 0x8000, TIERS, TierLabelString),
    # Block Threshold set: Block1..15Threshold (no tier), then TierNBlock1..15Threshold with
    # TierNBlockThresholdCount in the 16th place of each tier's row.
    attribute_grid(
        "tier{tier}_block{block}_threshold",
        0x0100,
        BLOCK_TIERS,
        15,
        t.uint48_t,
        no_tier="block{block}_threshold",
    ),
    attribute_family(
        "tier{n}_block_threshold_count", 0x011F, range(1, BLOCK_TIERS + 1), t.uint8_t, stride=16
    ),
    # Block Price Information set: NoTierBlock1..16Price, then TierNBlock1..16Price.
    attribute_grid(
        "tier{tier}_block{block}_price",
        0x0400,
        BLOCK_TIERS,
        16,
        t.uint32_t,
        no_tier="no_tier_block{block}_price",
    ),
    # Extended Price Information set: PriceTier16..PriceTier48.
    attribute_family("price_tier{n}", 0x050F, range(16, 49), t.uint32_t),
    # Credit Payment set: CreditPayment#N, CreditPaymentDate#N, CreditPaymentRef#N, N = 1..5.
    attribute_family("credit_payment_{n}", 0x0810, range(1, 6), t.uint32_t, stride=16),
    attribute_family("credit_payment_date_{n}", 0x0811, range(1, 6), t.UTCTime, stride=16),
    attribute_family("credit_payment_ref_{n}", 0x0812, range(1, 6), CreditPaymentRef, stride=16),
)

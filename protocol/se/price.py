"""The Price cluster (0x0700; ZigBee SE 1.4 annex D.4): tariffs, prices and bills.

The server (the ESI, our comms hub, or the meter) publishes prices, block periods, tariff
information, price matrices and block thresholds; the client (meter, IHD) asks for them and
acknowledges them. Every money field is an unsigned integer scaled by a trailing digit.
Attributes are in `price_attributes`, field types in `price_types`.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.clusters.smartenergy import MeteringUnitofMeasure
from zigpy.zcl.foundation import BaseCommandDefs, CommandSchema

from .price_attributes import PriceAttributes
from .price_types import (
    AlternateCostUnit,
    BlockPeriodControl,
    BlockThresholdEntry,
    BlockThresholdSubPayloadControl,
    CalorificValueUnit,
    CO2Unit,
    CppAuth,
    CppPriceTier,
    CreditPaymentRef,
    CreditPaymentStatus,
    CurrencyChangeControl,
    PriceCommandOptions,
    PriceControl,
    PriceMatrixEntry,
    PriceMatrixSubPayloadControl,
    PriceTiersAndRegisterTier,
    PriceTrailingDigitAndTier,
    RateLabel,
    TariffLabel,
    TariffResolutionPeriod,
    TariffTypeChargingScheme,
    TierBlockMode,
    TierLabel,
)
from .types import Currency, DurationType, TariffTypeField, TrailingDigit
from .zcl_defs import as_cluster_id, command

# --- Commands the server generates (server to client) -----------------------------------------


class PublishPrice(CommandSchema):
    """PublishPrice: the current or a scheduled price (fields to ExtendedRegisterTier, SE 1.2+)."""

    provider_id: t.uint32_t
    rate_label: RateLabel
    issuer_event_id: t.uint32_t
    current_time: t.UTCTime
    unit_of_measure: MeteringUnitofMeasure
    currency: Currency
    price_trailing_digit_and_price_tier: PriceTrailingDigitAndTier
    number_of_price_tiers_and_register_tier: PriceTiersAndRegisterTier
    start_time: t.UTCTime
    duration_in_minutes: t.uint16_t
    price: t.uint32_t
    price_ratio: t.uint8_t
    generation_price: t.uint32_t
    generation_price_ratio: t.uint8_t
    alternate_cost_delivered: t.uint32_t
    alternate_cost_unit: AlternateCostUnit
    alternate_cost_trailing_digit: TrailingDigit
    number_of_block_thresholds: t.uint8_t
    price_control: PriceControl
    number_of_generation_tiers: t.uint8_t
    generation_tier: t.uint8_t
    extended_number_of_price_tiers: t.uint8_t
    extended_price_tier: t.uint8_t
    extended_register_tier: t.uint8_t


class PublishBlockPeriod(CommandSchema):
    """PublishBlockPeriod: when the current block accumulation period starts and how long."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    block_period_start_time: t.UTCTime
    block_period_duration: t.uint24_t
    block_period_control: BlockPeriodControl
    block_period_duration_type: DurationType
    tariff_type: TariffTypeField
    tariff_resolution_period: TariffResolutionPeriod


class PublishConversionFactor(CommandSchema):
    """PublishConversionFactor: gas volume correction (metered volume to standard volume)."""

    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    conversion_factor: t.uint32_t
    conversion_factor_trailing_digit: TrailingDigit


class PublishCalorificValue(CommandSchema):
    """PublishCalorificValue: energy per standard volume (or mass) of gas."""

    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    calorific_value: t.uint32_t
    calorific_value_unit: CalorificValueUnit
    calorific_value_trailing_digit: TrailingDigit


class PublishTariffInformation(CommandSchema):
    """PublishTariffInformation: the tariff's shape, standing charge and block threshold scale."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    issuer_tariff_id: t.uint32_t
    start_time: t.UTCTime
    tariff_type_charging_scheme: TariffTypeChargingScheme
    tariff_label: TariffLabel
    number_of_price_tiers_in_use: t.uint8_t
    number_of_block_thresholds_in_use: t.uint8_t
    unit_of_measure: MeteringUnitofMeasure
    currency: Currency
    price_trailing_digit: TrailingDigit
    standing_charge: t.uint32_t
    tier_block_mode: TierBlockMode
    block_threshold_multiplier: t.uint24_t
    block_threshold_divisor: t.uint24_t


class PublishPriceMatrix(CommandSchema):
    """PublishPriceMatrix: prices per tier (TOU) or per tier and block, possibly over several
    commands (CommandIndex of TotalNumberOfCommands)."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    issuer_tariff_id: t.uint32_t
    command_index: t.uint8_t
    total_number_of_commands: t.uint8_t
    sub_payload_control: PriceMatrixSubPayloadControl
    price_matrix: t.List[PriceMatrixEntry]


class PublishBlockThresholds(CommandSchema):
    """PublishBlockThresholds: each tier's block thresholds, possibly over several commands."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    issuer_tariff_id: t.uint32_t
    command_index: t.uint8_t
    total_number_of_commands: t.uint8_t
    sub_payload_control: BlockThresholdSubPayloadControl
    block_thresholds: t.List[BlockThresholdEntry]


class PublishCO2Value(CommandSchema):
    """PublishCO2Value: carbon intensity of the commodity."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    tariff_type: TariffTypeField
    co2_value: t.uint32_t
    co2_value_unit: CO2Unit
    co2_value_trailing_digit: TrailingDigit


class PublishTierLabels(CommandSchema):
    """PublishTierLabels: NumberOfLabels, then TierID and TierLabel for each."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    issuer_tariff_id: t.uint32_t
    command_index: t.uint8_t
    total_number_of_commands: t.uint8_t
    tier_labels: t.LVList[TierLabel, t.uint8_t]


class PublishBillingPeriod(CommandSchema):
    """PublishBillingPeriod: the current billing period."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    billing_period_start_time: t.UTCTime
    billing_period_duration: t.uint24_t
    billing_period_duration_type: DurationType
    tariff_type: TariffTypeField


class PublishConsolidatedBill(CommandSchema):
    """PublishConsolidatedBill: the bill of a billing period."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    billing_period_start_time: t.UTCTime
    billing_period_duration: t.uint24_t
    billing_period_duration_type: DurationType
    tariff_type: TariffTypeField
    consolidated_bill: t.uint32_t
    currency: Currency
    bill_trailing_digit: TrailingDigit


class PublishCPPEvent(CommandSchema):
    """PublishCPPEvent: a critical peak pricing event."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    duration_in_minutes: t.uint16_t
    tariff_type: TariffTypeField
    cpp_price_tier: CppPriceTier
    cpp_auth: CppAuth


class PublishCreditPayment(CommandSchema):
    """PublishCreditPayment: payment due, overdue amount and the last payment made."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    credit_payment_due_date: t.UTCTime
    credit_payment_over_due_amount: t.uint32_t
    credit_payment_status: CreditPaymentStatus
    credit_payment: t.uint32_t
    credit_payment_date: t.UTCTime
    credit_payment_ref: CreditPaymentRef


class PublishCurrencyConversion(CommandSchema):
    """PublishCurrencyConversion: a change of currency and the factor between the two."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    old_currency: Currency
    new_currency: Currency
    conversion_factor: t.uint32_t
    conversion_factor_trailing_digit: TrailingDigit
    currency_change_control_flags: CurrencyChangeControl


class CancelTariff(CommandSchema):
    """CancelTariff: withdraw a tariff (IssuerTariffID) of the given type."""

    provider_id: t.uint32_t
    issuer_tariff_id: t.uint32_t
    tariff_type: TariffTypeField


# --- Commands the server receives (client to server) ------------------------------------------


class GetCurrentPrice(CommandSchema):
    """GetCurrentPrice."""

    command_options: PriceCommandOptions


class GetScheduledPrices(CommandSchema):
    """GetScheduledPrices: up to NumberOfEvents prices from StartTime (0: all)."""

    start_time: t.UTCTime
    number_of_events: t.uint8_t


class PriceAcknowledgement(CommandSchema):
    """PriceAcknowledgement of a PublishPrice or PublishBlockPeriod."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    price_ack_time: t.UTCTime
    control: PriceControl


class GetBlockPeriods(CommandSchema):
    """GetBlockPeriod(s)."""

    start_time: t.UTCTime
    number_of_events: t.uint8_t
    tariff_type: TariffTypeField


class GetConversionFactor(CommandSchema):
    """GetConversionFactor: from EarliestStartTime, issuer event ids >= MinIssuerEventID."""

    earliest_start_time: t.UTCTime
    min_issuer_event_id: t.uint32_t
    number_of_commands: t.uint8_t


class GetCalorificValue(GetConversionFactor):
    """GetCalorificValue (same fields as GetConversionFactor)."""


class GetTariffInformation(CommandSchema):
    """GetTariffInformation."""

    earliest_start_time: t.UTCTime
    min_issuer_event_id: t.uint32_t
    number_of_commands: t.uint8_t
    tariff_type: TariffTypeField


class GetPriceMatrix(CommandSchema):
    """GetPriceMatrix of a tariff."""

    issuer_tariff_id: t.uint32_t


class GetBlockThresholds(GetPriceMatrix):
    """GetBlockThresholds of a tariff."""


class GetCO2Value(GetTariffInformation):
    """GetCO2Value (same fields as GetTariffInformation)."""


class GetTierLabels(GetPriceMatrix):
    """GetTierLabels of a tariff."""


class GetBillingPeriod(GetTariffInformation):
    """GetBillingPeriod (same fields as GetTariffInformation)."""


class GetConsolidatedBill(GetTariffInformation):
    """GetConsolidatedBill (same fields as GetTariffInformation)."""


class CPPEventResponse(CommandSchema):
    """CPPEventResponse: the client accepts or rejects a CPP event."""

    issuer_event_id: t.uint32_t
    cpp_auth: CppAuth


class GetCreditPayment(CommandSchema):
    """GetCreditPayment: up to NumberOfRecords payments up to LatestEndTime."""

    latest_end_time: t.UTCTime
    number_of_records: t.uint8_t


class GetCurrencyConversion(CommandSchema):
    """GetCurrencyConversion (no payload)."""


class GetTariffCancellation(CommandSchema):
    """GetTariffCancellation (no payload)."""


class Price(Cluster):
    """Price (0x0700)."""

    cluster_id = as_cluster_id(0x0700)
    ep_attribute = "smartenergy_price"

    class AttributeDefs(PriceAttributes):
        pass

    class ServerCommandDefs(BaseCommandDefs):
        get_current_price: Final = command(0x00, GetCurrentPrice)
        get_scheduled_prices: Final = command(0x01, GetScheduledPrices)
        price_acknowledgement: Final = command(0x02, PriceAcknowledgement)
        get_block_periods: Final = command(0x03, GetBlockPeriods)
        get_conversion_factor: Final = command(0x04, GetConversionFactor)
        get_calorific_value: Final = command(0x05, GetCalorificValue)
        get_tariff_information: Final = command(0x06, GetTariffInformation)
        get_price_matrix: Final = command(0x07, GetPriceMatrix)
        get_block_thresholds: Final = command(0x08, GetBlockThresholds)
        get_co2_value: Final = command(0x09, GetCO2Value)
        get_tier_labels: Final = command(0x0A, GetTierLabels)
        get_billing_period: Final = command(0x0B, GetBillingPeriod)
        get_consolidated_bill: Final = command(0x0C, GetConsolidatedBill)
        cpp_event_response: Final = command(0x0D, CPPEventResponse)
        get_credit_payment: Final = command(0x0E, GetCreditPayment)
        get_currency_conversion: Final = command(0x0F, GetCurrencyConversion)
        get_tariff_cancellation: Final = command(0x10, GetTariffCancellation)

    class ClientCommandDefs(BaseCommandDefs):
        publish_price: Final = command(0x00, PublishPrice)
        publish_block_period: Final = command(0x01, PublishBlockPeriod)
        publish_conversion_factor: Final = command(0x02, PublishConversionFactor)
        publish_calorific_value: Final = command(0x03, PublishCalorificValue)
        publish_tariff_information: Final = command(0x04, PublishTariffInformation)
        publish_price_matrix: Final = command(0x05, PublishPriceMatrix)
        publish_block_thresholds: Final = command(0x06, PublishBlockThresholds)
        publish_co2_value: Final = command(0x07, PublishCO2Value)
        publish_tier_labels: Final = command(0x08, PublishTierLabels)
        publish_billing_period: Final = command(0x09, PublishBillingPeriod)
        publish_consolidated_bill: Final = command(0x0A, PublishConsolidatedBill)
        publish_cpp_event: Final = command(0x0B, PublishCPPEvent)
        publish_credit_payment: Final = command(0x0C, PublishCreditPayment)
        publish_currency_conversion: Final = command(0x0D, PublishCurrencyConversion)
        cancel_tariff: Final = command(0x0E, CancelTariff)

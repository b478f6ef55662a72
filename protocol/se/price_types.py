"""Data types of the Price cluster (0x0700; ZigBee SE 1.4 annex D.4).

Prices are unsigned integers in the currency's smallest unit scaled by a trailing digit (a price
of 1234 with trailing digit 3 is 1.234 of the currency unit per unit of measure); nothing here
is a float.
"""

from __future__ import annotations

from typing import ClassVar

import zigpy.types as t

from .types import OctetString, TariffType
from .zcl_defs import counted_by


class PriceTrailingDigitAndTier(t.IntStruct, t.uint8_t):
    """PriceTrailingDigitAndPriceTier: price tier (bits 0-3), trailing digit (bits 4-7)."""

    price_tier: t.uint4_t
    trailing_digit: t.uint4_t


class PriceTiersAndRegisterTier(t.IntStruct, t.uint8_t):
    """NumberOfPriceTiersAndRegisterTier: register tier (bits 0-3), tier count (bits 4-7)."""

    register_tier: t.uint4_t
    number_of_price_tiers: t.uint4_t


class PriceControl(t.bitmap8):
    """PriceControl of PublishPrice."""

    PriceAcknowledgementRequired = 0x01
    TotalTiersExceeds15 = 0x02


class BlockPeriodControl(t.bitmap8):
    """BlockPeriodControl of PublishBlockPeriod."""

    PriceAcknowledgementRequired = 0x01
    RepeatingBlock = 0x02


class PriceCommandOptions(t.bitmap8):
    """CommandOptions of GetCurrentPrice."""

    RequestorRxOnWhenIdle = 0x01


class TariffResolutionPeriod(t.enum8):
    """TariffResolutionPeriod: the period over which block thresholds apply."""

    NotDefined = 0x00
    BlockPeriod = 0x01
    OneDay = 0x02


class TierBlockMode(t.enum8):
    """TierBlockMode: how the block thresholds relate to the price tiers."""

    ActiveBlock = 0x00
    ActiveBlockPriceTier = 0x01
    ActiveBlockPriceTierThreshold = 0x02
    NotUsed = 0xFF


class ChargingScheme(t.enum4):
    """ChargingScheme (bits 4-7 of PublishTariffInformation's TariffType/ChargingScheme)."""

    TouTariff = 0x0
    BlockTariff = 0x1
    BlockTouTariffCommonThresholds = 0x2
    BlockTouTariffIndividualThresholds = 0x3
    ReceivedTouTariff = 0x8
    ReceivedBlockTariff = 0x9
    ReceivedBlockTouTariffCommonThresholds = 0xA
    ReceivedBlockTouTariffIndividualThresholds = 0xB


class TariffTypeChargingScheme(t.IntStruct, t.uint8_t):
    """TariffType/ChargingScheme: tariff type (bits 0-3), charging scheme (bits 4-7)."""

    tariff_type: TariffType
    charging_scheme: ChargingScheme


class CalorificValueUnit(t.enum8):
    """CalorificValueUnit."""

    MegajoulePerCubicMetre = 0x01
    MegajoulePerKilogram = 0x02


class CO2Unit(t.enum8):
    """CO2Unit / CO2ValueUnit."""

    KilogramPerKilowattHour = 0x01
    KilogramPerGallonOfGasoline = 0x02
    KilogramPerThermOfNaturalGas = 0x03


class AlternateCostUnit(t.enum8):
    """AlternateCostUnit of PublishPrice."""

    KilogramOfCO2PerUnitOfMeasure = 0x02


class CreditPaymentStatus(t.enum8):
    """CreditPaymentStatus."""

    Pending = 0x00
    ReceivedPaid = 0x01
    Overdue = 0x02
    TwoPaymentsOverdue = 0x03
    ThreePaymentsOverdue = 0x04


class CppPriceTier(t.enum8):
    """CPPPriceTier of PublishCPPEvent: which critical peak price applies."""

    Cpp1 = 0x00
    Cpp2 = 0x01


class CppAuth(t.enum8):
    """CPPAuth: the server's status of a CPP event, or the client's answer to it."""

    Pending = 0x00
    Accepted = 0x01
    Rejected = 0x02
    Forced = 0x03


class CurrencyChangeControl(t.bitmap32):
    """CurrencyChangeControlFlags of PublishCurrencyConversion."""

    ClearBillingInformation = 0x00000001
    ConvertBillingInformation = 0x00000002
    ClearOldConsumptionData = 0x00000004
    ConvertOldConsumptionData = 0x00000008


class PriceMatrixSubPayloadControl(t.bitmap8):
    """SubPayloadControl of PublishPriceMatrix: set when each entry names a TOU tier only
    (TierBlockID is then the tier), clear when it names a tier (bits 4-7) and block (0-3)."""

    TouBasedInformation = 0x01


class BlockThresholdSubPayloadControl(t.bitmap8):
    """SubPayloadControl of PublishBlockThresholds: set when one set of thresholds applies to
    every tier."""

    ThresholdsApplyToAllTiers = 0x01


class RateLabel(OctetString):
    """RateLabel of PublishPrice."""

    max_octets: ClassVar[int] = 12


class TierLabelString(OctetString):
    """A tier's price label (TierNPriceLabel, and TierLabel of PublishTierLabels)."""

    max_octets: ClassVar[int] = 12


class TariffLabel(OctetString):
    """TariffLabel."""

    max_octets: ClassVar[int] = 24


class CreditPaymentRef(OctetString):
    """CreditPaymentRef."""

    max_octets: ClassVar[int] = 20


class PriceMatrixEntry(t.Struct):
    """One entry of PublishPriceMatrix's sub-payload: TierBlockID then Price."""

    tier_block_id: t.uint8_t
    price: t.uint32_t


class TierAndThresholdCount(t.IntStruct, t.uint8_t):
    """Tier/NumberOfBlockThresholds: threshold count (bits 0-3), tier (bits 4-7)."""

    number_of_block_thresholds: t.uint4_t
    tier: t.uint4_t


class BlockThresholdEntry(t.Struct):
    """One tier's entry of PublishBlockThresholds' sub-payload."""

    tier_and_count: TierAndThresholdCount
    block_thresholds: t.List[t.uint48_t] = counted_by(
        lambda s: s.tier_and_count.number_of_block_thresholds
    )


class TierLabel(t.Struct):
    """One label of PublishTierLabels: TierID then TierLabel."""

    tier_id: t.uint8_t
    tier_label: TierLabelString

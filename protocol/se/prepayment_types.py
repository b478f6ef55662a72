"""Data types of the Prepayment cluster (0x0705; ZigBee SE 1.4 annex D.7).

Credit and debt are signed 32-bit integers in the currency's smallest unit (the meter's
Currency and trailing digit say which), never floats.
"""

from __future__ import annotations

from typing import ClassVar

import zigpy.types as t

from .types import OctetString


class PaymentControlConfiguration(t.bitmap16):
    """PaymentControlConfiguration: which prepayment features are enabled."""

    DisconnectionEnabled = 0x0001
    PrepaymentEnabled = 0x0002
    CreditManagementEnabled = 0x0004
    CreditDisplayEnabled = 0x0010
    AccountBase = 0x0040
    ContactorFitted = 0x0080
    StandingChargeConfiguration = 0x0100
    EmergencyStandingCharge = 0x0200
    DebtConfiguration = 0x0400
    EmergencyDebtConfiguration = 0x0800


class CreditStatus(t.bitmap8):
    """CreditStatus."""

    CreditOk = 0x01
    LowCredit = 0x02
    EmergencyCreditEnabled = 0x04
    EmergencyCreditAvailable = 0x08
    EmergencyCreditSelected = 0x10
    EmergencyCreditInUse = 0x20
    CreditExhausted = 0x40


class DebtAmountType(t.enum8):
    """DebtAmountType of ChangeDebt: which debt, and absolute or incremental."""

    Type1Absolute = 0x00
    Type1Incremental = 0x01
    Type2Absolute = 0x02
    Type2Incremental = 0x03
    Type3Absolute = 0x04
    Type3Incremental = 0x05


class DebtRecoveryMethod(t.enum8):
    """DebtRecoveryMethod."""

    TimeBased = 0x00
    PercentageBased = 0x01
    CatchUpBased = 0x02


class DebtRecoveryFrequency(t.enum8):
    """DebtRecoveryFrequency of time-based recovery."""

    PerHour = 0x00
    PerDay = 0x01
    PerWeek = 0x02
    PerMonth = 0x03
    PerQuarter = 0x04


class CreditAdjustmentType(t.enum8):
    """CreditAdjustmentType."""

    CreditIncremental = 0x00
    CreditAbsolute = 0x01


class DebtType(t.enum8):
    """DebtType of GetDebtRepaymentLog and PublishDebtLog."""

    Debt1 = 0x00
    Debt2 = 0x01
    Debt3 = 0x02
    AllDebts = 0xFF


class TopUpResult(t.enum8):
    """ResultType of ConsumerTopUpResponse."""

    Accepted = 0x00
    RejectedInvalidTopUp = 0x01
    RejectedDuplicateTopUp = 0x02
    RejectedError = 0x03
    RejectedMaxCreditReached = 0x04
    RejectedKeypadLock = 0x05
    RejectedTopUpValueTooLarge = 0x06
    AcceptedSupplyEnabled = 0x10
    AcceptedSupplyDisabled = 0x11
    AcceptedSupplyArmed = 0x12


class FriendlyCredit(t.bitmap8):
    """FriendlyCredit of ChangePaymentModeResponse."""

    FriendlyCreditEnabled = 0x01


class PrepaySnapshotCause(t.bitmap32):
    """SnapshotCause of GetPrepaySnapshot/PublishPrepaySnapshot (the prepayment subset)."""

    General = 0x00000001
    EndOfBillingPeriod = 0x00000002
    ChangeOfTariffInformation = 0x00000008
    ChangeOfPriceMatrix = 0x00000010
    ManuallyTriggeredFromClient = 0x00000400
    ChangeOfTenancy = 0x00001000
    ChangeOfSupplier = 0x00002000
    ChangeOfMeterMode = 0x00004000
    TopUpAddition = 0x00040000
    DebtCreditAddition = 0x00080000


class PrepaySnapshotPayloadType(t.enum8):
    """SnapshotPayloadType of PublishPrepaySnapshot."""

    DebtCreditStatus = 0x00
    NotUsed = 0xFF


class DebtCreditStatus(t.Struct):
    """The Debt/Credit Status snapshot payload (PublishPrepaySnapshot, payload type 0x00)."""

    accumulated_debt: t.int32s
    type1_debt_remaining: t.uint32_t
    type2_debt_remaining: t.uint32_t
    type3_debt_remaining: t.uint32_t
    emergency_credit_remaining: t.int32s
    credit_remaining: t.int32s


class DebtLabel(OctetString):
    """DebtLabel."""

    max_octets: ClassVar[int] = 12


class TopUpCode(OctetString):
    """TopUpCode: the UTRN or other top-up code as entered."""

    max_octets: ClassVar[int] = 26


class TokenCarrierId(OctetString):
    """TokenCarrierID."""

    max_octets: ClassVar[int] = 20


class TopUpRecord(t.Struct):
    """One top-up of PublishTopUpLog."""

    top_up_code: TopUpCode
    top_up_amount: t.int32s
    top_up_time: t.UTCTime


class DebtRecord(t.Struct):
    """One collection of PublishDebtLog."""

    collection_time: t.UTCTime
    amount_collected: t.uint32_t
    debt_type: DebtType
    outstanding_debt: t.uint32_t

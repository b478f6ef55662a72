"""The Prepayment cluster (0x0705; ZigBee SE 1.4 annex D.7): credit, debt and top-ups.

The server is the meter (or the ESI mirroring it); clients (the ESI, the IHD) top it up, set
up emergency credit and debts, change the payment mode and read its logs. Command 0x01 of the
client is unused since SE 1.2 (it was ChangeSupply, moved to Metering); the server's 0x00 and
0x04 are unused too. Attributes are in `prepayment_attributes`, field types in
`prepayment_types`.
"""

from __future__ import annotations

from typing import Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseCommandDefs, CommandSchema

from .prepayment_attributes import PrepaymentAttributes
from .prepayment_types import (
    CreditAdjustmentType,
    DebtAmountType,
    DebtLabel,
    DebtRecord,
    DebtRecoveryFrequency,
    DebtRecoveryMethod,
    DebtType,
    FriendlyCredit,
    PaymentControlConfiguration,
    PrepaySnapshotCause,
    PrepaySnapshotPayloadType,
    TopUpCode,
    TopUpRecord,
    TopUpResult,
)
from .types import OriginatingDevice, RemainingOctets
from .zcl_defs import as_cluster_id, command

# --- Commands the server receives (client to server) ------------------------------------------


class SelectAvailableEmergencyCredit(CommandSchema):
    """SelectAvailableEmergencyCredit: the consumer takes the emergency credit on offer."""

    command_issue_date_time: t.UTCTime
    originating_device: OriginatingDevice


class ChangeDebt(CommandSchema):
    """ChangeDebt: set up or change one of the three debts and how it is recovered."""

    issuer_event_id: t.uint32_t
    debt_label: DebtLabel
    debt_amount: t.int32s
    debt_recovery_method: DebtRecoveryMethod
    debt_amount_type: DebtAmountType
    debt_recovery_start_time: t.UTCTime
    debt_recovery_collection_time: t.uint16_t
    debt_recovery_frequency: DebtRecoveryFrequency
    debt_recovery_amount: t.int32s
    debt_recovery_balance_percentage: t.uint16_t


class EmergencyCreditSetup(CommandSchema):
    """EmergencyCreditSetup: the emergency credit limit and the threshold that offers it."""

    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    emergency_credit_limit: t.uint32_t
    emergency_credit_threshold: t.uint32_t


class ConsumerTopUp(CommandSchema):
    """ConsumerTopUp: a top-up code (UTRN) entered on the originating device."""

    originating_device: OriginatingDevice
    top_up_code: TopUpCode


class CreditAdjustment(CommandSchema):
    """CreditAdjustment: add to, or set, the credit."""

    issuer_event_id: t.uint32_t
    start_time: t.UTCTime
    credit_adjustment_type: CreditAdjustmentType
    credit_adjustment_value: t.int32s


class ChangePaymentMode(CommandSchema):
    """ChangePaymentMode: switch between credit and prepayment from ImplementationDateTime."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    implementation_date_time: t.UTCTime
    proposed_payment_control_configuration: PaymentControlConfiguration
    cut_off_value: t.int32s


class GetPrepaySnapshot(CommandSchema):
    """GetPrepaySnapshot: snapshots taken between the two times for the given causes."""

    earliest_start_time: t.UTCTime
    latest_end_time: t.UTCTime
    snapshot_offset: t.uint8_t
    snapshot_cause: PrepaySnapshotCause


class GetTopUpLog(CommandSchema):
    """GetTopUpLog: up to NumberOfRecords top-ups before LatestEndTime."""

    latest_end_time: t.UTCTime
    number_of_records: t.uint8_t


class SetLowCreditWarningLevel(CommandSchema):
    """SetLowCreditWarningLevel."""

    low_credit_warning_level: t.uint32_t


class GetDebtRepaymentLog(CommandSchema):
    """GetDebtRepaymentLog: up to NumberOfDebts collections before LatestEndTime."""

    latest_end_time: t.UTCTime
    number_of_debts: t.uint8_t
    debt_type: DebtType


class SetMaximumCreditLimit(CommandSchema):
    """SetMaximumCreditLimit."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    implementation_date_time: t.UTCTime
    maximum_credit_level: t.uint32_t
    maximum_credit_per_top_up: t.uint32_t


class SetOverallDebtCap(CommandSchema):
    """SetOverallDebtCap."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    implementation_date_time: t.UTCTime
    overall_debt_cap: t.int32s


# --- Commands the server generates (server to client) -----------------------------------------


class PublishPrepaySnapshot(CommandSchema):
    """PublishPrepaySnapshot; the payload's layout follows SnapshotPayloadType (type 0x00 is
    `prepayment_types.DebtCreditStatus`) and runs to the end of the frame."""

    snapshot_id: t.uint32_t
    snapshot_time: t.UTCTime
    total_snapshots_found: t.uint8_t
    command_index: t.uint8_t
    total_number_of_commands: t.uint8_t
    snapshot_cause: PrepaySnapshotCause
    snapshot_payload_type: PrepaySnapshotPayloadType
    snapshot_payload: RemainingOctets


class ChangePaymentModeResponse(CommandSchema):
    """ChangePaymentModeResponse: the settings that apply in the new mode."""

    friendly_credit: FriendlyCredit
    friendly_credit_calendar_id: t.uint32_t
    emergency_credit_limit: t.uint32_t
    emergency_credit_threshold: t.uint32_t


class ConsumerTopUpResponse(CommandSchema):
    """ConsumerTopUpResponse: whether the top-up was accepted, and the credit after it."""

    result_type: TopUpResult
    top_up_value: t.int32s
    source_of_top_up: OriginatingDevice
    credit_remaining: t.int32s


class PublishTopUpLog(CommandSchema):
    """PublishTopUpLog: top-ups, newest first, possibly over several commands."""

    command_index: t.uint8_t
    total_number_of_commands: t.uint8_t
    top_ups: t.List[TopUpRecord]


class PublishDebtLog(CommandSchema):
    """PublishDebtLog: debt collections, newest first, possibly over several commands."""

    command_index: t.uint8_t
    total_number_of_commands: t.uint8_t
    debts: t.List[DebtRecord]


class Prepayment(Cluster):
    """Prepayment (0x0705)."""

    cluster_id = as_cluster_id(0x0705)
    ep_attribute = "smartenergy_prepayment"

    class AttributeDefs(PrepaymentAttributes):
        pass

    class ServerCommandDefs(BaseCommandDefs):
        select_available_emergency_credit: Final = command(0x00, SelectAvailableEmergencyCredit)
        change_debt: Final = command(0x02, ChangeDebt)
        emergency_credit_setup: Final = command(0x03, EmergencyCreditSetup)
        consumer_top_up: Final = command(0x04, ConsumerTopUp)
        credit_adjustment: Final = command(0x05, CreditAdjustment)
        change_payment_mode: Final = command(0x06, ChangePaymentMode)
        get_prepay_snapshot: Final = command(0x07, GetPrepaySnapshot)
        get_top_up_log: Final = command(0x08, GetTopUpLog)
        set_low_credit_warning_level: Final = command(0x09, SetLowCreditWarningLevel)
        get_debt_repayment_log: Final = command(0x0A, GetDebtRepaymentLog)
        set_maximum_credit_limit: Final = command(0x0B, SetMaximumCreditLimit)
        set_overall_debt_cap: Final = command(0x0C, SetOverallDebtCap)

    class ClientCommandDefs(BaseCommandDefs):
        publish_prepay_snapshot: Final = command(0x01, PublishPrepaySnapshot)
        change_payment_mode_response: Final = command(0x02, ChangePaymentModeResponse)
        consumer_top_up_response: Final = command(0x03, ConsumerTopUpResponse)
        publish_top_up_log: Final = command(0x05, PublishTopUpLog)
        publish_debt_log: Final = command(0x06, PublishDebtLog)

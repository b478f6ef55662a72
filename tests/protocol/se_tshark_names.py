"""Our field names -> tshark 4.0's (`zbee_zcl_se.*`), and where tshark 4.0 reads a field
differently from the Smart Energy specification.

A field of a command is looked up, in order, as: an entry of `COMMAND_FIELDS` for that command;
`<abbr>.<prefix>.<name>` when the command has a `PREFIXES` entry and tshark registers that
field; `<abbr>.<name>`. `<name>` is our field's path, renamed by `NAMES[abbr]` when tshark calls
it something else. The test then requires tshark to show that field at the octets we encoded
it in, with our value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from tests.protocol.se_oracle import UNIX_EPOCH

ABBREVIATIONS = {
    0x0700: "price",
    0x0701: "drlc",
    0x0702: "met",
    0x0703: "msg",
    0x0704: "tun",
    0x0705: "pp",
    0x0708: "device_management",
    0x0709: "events",
    0x0800: "ke",
}

# tshark's subtree per command, where it names fields per command.
PREFIXES = {
    "DemandResponseLoadControl.get_scheduled_events": "get_scheduled_events",
    "DemandResponseLoadControl.report_event_status": "report_event",
    "Metering.request_mirror_response": "request_mirror_rsp",
    "Metering.get_notified_message": "get_notified_msg",
    "Metering.get_sampled_data_response": "get_sampled_data_rsp",
    "Metering.configure_notification_flag": "configure_notification_flags",
    "Prepayment.emergency_credit_setup": "emc_setup",
    "Prepayment.select_available_emergency_credit": "select_available_emc",
    "Prepayment.set_overall_debt_cap": "set_overall_debt_cap_limit",
    "DeviceManagement.request_new_password_response": "request_new_password",
    "KeyEstablishment.initiate_key_establishment_request": "init",
    "KeyEstablishment.initiate_key_establishment_response": "init",
    "KeyEstablishment.terminate_key_establishment": "terminate",
    "KeyEstablishment.terminate_key_establishment_from_server": "terminate",
}
# Clusters whose every command has its own subtree, named after the command.
PER_COMMAND_CLUSTERS = ("met", "pp", "device_management", "events")

NAMES: dict[str, dict[str, str]] = {
    "price": {
        "tariff_type": "tariff_type_mask",
        "billing_period_start_time": "billing_period.start_time",
        "billing_period_duration": "billing_period.duration",
        "billing_period_duration_type": "billing_period.duration.type",
        "block_period_start_time": "block_period.start_time",
        "block_period_duration": "block_period.duration",
        "block_period_control": "block_period.control",
        "block_period_duration_type": "block_period.duration.type",
        "tariff_resolution_period": "tariff.resolution_period",
        "block_thresholds.tier_and_count": "block_thresholds.tier_number_of_block_thresholds",
        "block_thresholds.block_thresholds": "block_threshold",
        "calorific_value_unit": "calorific_value.unit",
        "calorific_value_trailing_digit": "calorific_value.trailing_digit",
        "co2_value": "co2.value",
        "co2_value_unit": "co2.unit",
        "co2_value_trailing_digit": "co2.value.trailing_digit",
        "bill_trailing_digit": "consolidated_bill.trailing_digit",
        "credit_payment_due_date": "credit_payment.due_date",
        "credit_payment_over_due_amount": "credit_payment.overdue_amount",
        "credit_payment_status": "credit_payment.status",
        "credit_payment_date": "credit_payment.date",
        "credit_payment_ref": "credit_payment.ref",
        "price_trailing_digit_and_price_tier": "trailing_digit_and_price_tier",
        "price_trailing_digit_and_price_tier.price_tier": "tier",
        "price_trailing_digit_and_price_tier.trailing_digit": "trailing_digit",
        "number_of_price_tiers_and_register_tier.register_tier": "register_tier",
        "number_of_price_tiers_and_register_tier.number_of_price_tiers": "number_of_price_tiers",
        "price_ratio": "price.ratio",
        "generation_price_ratio": "generation_price.ratio",
        "alternate_cost_unit": "alternate_cost.unit",
        "alternate_cost_trailing_digit": "alternate_cost.trailing_digit",
        "price_control": "control",
        "price_matrix.tier_block_id": "price_matrix.tier",
        "tariff_type_charging_scheme": "tariff_information.type_and_charging_scheme",
        "tariff_type_charging_scheme.tariff_type": "tariff_information.type",
        "tariff_type_charging_scheme.charging_scheme": "tariff_information.charging_scheme",
        "tariff_label": "tariff_information.tariff_label",
        "number_of_price_tiers_in_use": "tariff_information.number_of_price_tiers_in_use",
        "number_of_block_thresholds_in_use": "tariff_information.number_of_block_thresholds_in_use",
        "price_trailing_digit": "tariff_information.price.trailing_digit",
        "standing_charge": "tariff_information.standing_charge",
        "tier_block_mode": "tariff_information.tier_block_mode",
        "block_threshold_multiplier": "tariff_information.block_threshold_multiplier",
        "block_threshold_divisor": "tariff_information.block_threshold_divisor",
        "tier_labels.count": "tier_labels.number_of_labels",
        "tier_labels.tier_id": "tier_labels.tier_id",
        "tier_labels.tier_label": "tier_labels.tier_label",
        "price_matrix.price": "price_matrix.price",
    },
    "drlc": {"issuer_event_id": "issuer_id", "number_of_events": "numbers_of_events"},
    "met": {
        "earliest_start_time": "start_time",
        "latest_end_time": "end_time",
        "earliest_sample_time": "sample_start_time",
        "total_snapshots_found": "snapshots_found",
        "snapshot_payload_type": "payload_type",
        "snapshot_payload": "sub_payload",
        "bit_field_allocations.cluster_id": "bit_field_allocation.cluster_id",
        "bit_field_allocations.manufacturer_code": "bit_field_allocation.manufacturer_code",
        "bit_field_allocations.number_of_commands": "bit_field_allocation.no_of_commands",
        "bit_field_allocations.command_ids": "bit_field_allocation.command_identifier",
        "snapshot_response_payloads.snapshot_schedule_id": "response_snapshot_schedule_id",
        "supply_status": "supply_status_after_implementation",
        "snapshot_schedule_payloads.snapshot_schedule_id": "snapshot_schedule_payload.snapshot_schedule_id",
        "snapshot_schedule_payloads.snapshot_start_time": "snapshot_schedule_payload.snapshot_start_time",
        "snapshot_schedule_payloads.snapshot_schedule": "snapshot_schedule_payload.snapshot_schedule",
        "snapshot_schedule_payloads.snapshot_payload_type": "snapshot_schedule_payload.snapshot_payload_type",
        "snapshot_schedule_payloads.snapshot_cause": "snapshot_schedule_payload.snapshot_cause",
    },
    "msg": {
        "message_id": "message.id",
        "message_control": "message.ctrl",
        "start_time": "message.start_time",
        "duration_in_minutes": "message.duration",
        "extended_message_control": "message.ext.ctrl",
        "confirmation_time": "message.confirm_time",
        "message_confirmation_control": "message.confirm.ctrl",
        "message_response": "message",
        "implementation_date_time": "impl_time",
        "earliest_implementation_time": "earliest_impl_time",
    },
    "tun": {
        "number_of_bytes_left": "octets_left",
        "number_of_octets_left": "octets_left",
        "flow_control_support": "flow_control_supported",
        "maximum_incoming_transfer_size": "max_in_transfer_size",
        "tunnel_status": "transfer_status",
        "protocols.count": "protocol_count",
        "protocols.manufacturer_code": "manufacturer_code",
        "protocols.protocol_id": "protocol_id",
    },
    "pp": {
        "debt_recovery_method": "recovery_method",
        "debt_amount_type": "amount_type",
        "debt_recovery_start_time": "recovery_start_time",
        "debt_recovery_collection_time": "recovery_collection_time",
        "debt_recovery_frequency": "recovery_frequency",
        "debt_recovery_amount": "recovery_amount",
        "debt_recovery_balance_percentage": "recovery_balance_percentage",
        "proposed_payment_control_configuration": "payment_control_configuration",
        "emergency_credit_limit": "emc_limit",
        "emergency_credit_threshold": "emc_threshold",
        "number_of_debts": "number_of_records",
        "command_issue_date_time": "cmd_issue_date_time",
        "maximum_credit_level": "max_credit_level",
        "maximum_credit_per_top_up": "max_credit_per_top_up",
        "top_ups.top_up_code": "top_up_code",
        "top_ups.top_up_amount": "top_up_amount",
        "top_ups.top_up_time": "top_up_time",
    },
    "device_management": {
        "proposed_provider_name": "provider_proposed_provider_name",
        "proposed_provider_contact_details": "provider_proposed_provider_contact_details",
        "implementation_date_time": "implementation_date",
        "start_date_time": "start_time",
        "event_ids.count": "event_configuration.number_of_events",
        "event_ids": "event_configuration.event_id",
        "event_group_id": "event_configuration.event_group_id",
        "log_id": "event_configuration.log_id",
        "configuration_value_match": "event_configuration.configuration_value_match",
        "customer_id_number": "customerid_number",
        "event_configurations.event_id": "event_id",
        "event_configurations.event_configuration": "event_configuration",
    },
    "events": {
        "cleared_events_logs": "cleared_event_logs",
        "total_number_of_matching_events": "event_id",
    },
    "ke": {
        "key_establishment_suite": "attr.suite",
        "requested_key_establishment_suite": "attr.suite",
        "ephemeral_data_generate_time": "ephemeral.time",
        "confirm_key_generate_time": "confirm.time",
        "status_code": "status",
        "wait_time": "wait.time",
        "identity.public_key_reconstruction_data": "cert.reconst",
        "identity.subject": "cert.subject",
        "identity.issuer": "cert.issuer",
        "identity.profile_attribute_data": "cert.profile",
    },
}

# Where one command names a field unlike the rest of its cluster (full name after the abbr).
COMMAND_FIELDS = {
    # tshark labels the second field of CancelTariff "Issuer Event ID"; the specification's
    # IssuerTariffID is there, at the same octets, and that is what the test checks.
    ("Price.cancel_tariff", "issuer_tariff_id"): "issuer_event_id",
    ("Price.publish_consolidated_bill", "billing_period_start_time"): "start_time",
    ("Price.publish_price_matrix", "sub_payload_control"): "price_matrix.sub_payload_control",
    (
        "Price.publish_block_thresholds",
        "sub_payload_control",
    ): "block_thresholds.sub_payload_control",
    # The Get* commands show only the tariff type bits, not the whole octet.
    **{
        (f"Price.{name}", "tariff_type.tariff_type"): "tariff_type"
        for name in (
            "get_block_periods",
            "get_tariff_information",
            "get_co2_value",
            "get_billing_period",
            "get_consolidated_bill",
        )
    },
    ("DemandResponseLoadControl.get_scheduled_events", "issuer_event_id"): (
        "get_scheduled_events.issuer_event_id"
    ),
    ("KeyEstablishment.confirm_key_data_request", "secure_message_authentication_code"): "macu",
    ("KeyEstablishment.confirm_key_data_response", "secure_message_authentication_code"): "macv",
    ("KeyEstablishment.ephemeral_data_request", "ephemeral_data"): "qeu",
    ("KeyEstablishment.ephemeral_data_response", "ephemeral_data"): "qev",
    (
        "Metering.schedule_snapshot",
        "snapshot_schedule_payloads.snapshot_schedule.frequency_type",
    ): "snapshot_schedule.frequency_type",
    (
        "Metering.schedule_snapshot",
        "snapshot_schedule_payloads.snapshot_schedule.wild_card_frequency",
    ): "snapshot_schedule.frequency_wild_card",
    (
        "Metering.schedule_snapshot",
        "snapshot_schedule_payloads.snapshot_schedule.frequency",
    ): "snapshot_schedule.frequency",
    ("Metering.publish_snapshot", "total_number_of_commands"): "publish_snapshot.total_commands",
    ("Metering.mirror_report_attribute_response", "notification_flags"): (
        "mirror_report_attribute_response.notification_flags_n"
    ),
    # MessageControl bit by bit (CancelMessage shows the octet only: SE 1.2 deprecated it there).
    **{
        (f"Messaging.{command}", f"message_control.{bits}"): f"message.ctrl.{name}"
        for command in ("display_message", "display_protected_message")
        for bits, name in (
            ("transmission", "tx"),
            ("importance", "importance"),
            ("enhanced_confirmation_required", "enhconfirm"),
            ("confirmation_required", "confirm"),
        )
    },
}

# Fields tshark 4.0 adds no field for at all (checked: nothing of ours at those octets).
UNDECODED = {
    (
        "Tunneling.transfer_data",
        "data",
    ): "tshark 4.0 shows TransferData's TunnelID only; the tunnelled octets get no field",
    ("Tunneling.transfer_data_from_server", "data"): "as for TransferData from the client",
    (
        "KeyEstablishment.initiate_key_establishment_request",
        "identity",
    ): "shown as its certificate fields (checked one by one)",
    (
        "KeyEstablishment.initiate_key_establishment_response",
        "identity",
    ): "shown as its certificate fields (checked one by one)",
}


@dataclass(frozen=True)
class Divergence:
    """tshark 4.0 reads this field unlike the specification: `shows(value)` is what it shows
    for our (specification-conformant) value. The test checks tshark does exactly that."""

    why: str
    shows: Callable[[Any], Any]


def _big_endian(size: int) -> Callable[[Any], int]:
    return lambda value: int.from_bytes(int(value).to_bytes(size, "little"), "big")


DIVERGENCES = {
    ("DeviceManagement.request_new_password_response", "duration_in_minutes"): Divergence(
        "tshark reads DurationInMinutes big-endian; ZCL integers are little-endian (ZCL 2.6.1)",
        _big_endian(2),
    ),
    ("DeviceManagement.publish_change_of_tenancy", "proposed_tenancy_change_control"): Divergence(
        "tshark reads ProposedTenancyChangeControl big-endian; ZCL bitmaps are little-endian",
        _big_endian(4),
    ),
    ("DemandResponseLoadControl.get_scheduled_events", "issuer_event_id"): Divergence(
        "tshark registers GetScheduledEvents' IssuerEventID as FT_UINT8 over 4 octets and shows the low octet",
        lambda value: int(value) & 0xFF,
    ),
    ("DemandResponseLoadControl.cancel_load_control_event", "effective_time"): Divergence(
        "tshark registers EffectiveTime as a 'Reserved' field with bit mask 0xFE and shows bits 1-7",
        lambda value: (int(value) & 0xFE) >> 1,
    ),
    ("Metering.request_fast_poll_mode_response", "fast_poll_mode_end_time"): Divergence(
        "tshark shows FastPollModeEndTime from the Unix epoch; UTCTime counts from 2000 (ZCL 2.6.2)",
        lambda value: UNIX_EPOCH + timedelta(seconds=int(value)),
    ),
    ("Prepayment.change_debt", "debt_label"): Divergence(
        "tshark shows the DebtLabel octet string with its length octet as part of the bytes",
        lambda value: bytes([len(value)]) + bytes(value),
    ),
    ("Prepayment.change_debt", "debt_recovery_balance_percentage"): Divergence(
        "tshark reads one octet of DebtRecoveryBalancePercentage, a uint16 in SE 1.4 (and in the "
        "spec-generated zsmartsystems library): it shows the low octet",
        lambda value: int(value) & 0xFF,
    ),
    ("Prepayment.publish_debt_log", "debts.amount_collected"): Divergence(
        "tshark shows AmountCollected as int32; it is uint32 (SE 1.4, as in EmberZNet and zsmartsystems)",
        lambda value: int(value) - (1 << 32) if int(value) >= 1 << 31 else int(value),
    ),
    ("Messaging.message_confirmation", "message_confirmation_control"): Divergence(
        "tshark shows bit 0 (NO returned) only; SE 1.4 has bit 1 for YES returned",
        lambda value: int(value) & 0x01,
    ),
}

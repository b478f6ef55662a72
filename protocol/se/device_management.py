"""The Device Management cluster (0x0708; ZigBee SE 1.4 annex D.10): change of tenancy or
supplier, site and customer identifiers, passwords and event configuration.

The server (the ESI) publishes changes; the client (meter, IHD) asks for them. SiteID and the
CustomerIDNumber (CIN) the server updates are Metering attributes of the client (0x0307,
0x0311); this cluster only carries them.
"""

from __future__ import annotations

from typing import ClassVar, Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseCommandDefs, CommandSchema

from .types import LogId, OctetString, TariffTypeField
from .zcl_defs import READ_WRITE, GlobalAttributes, as_cluster_id, attribute, command, present_if


class ProviderName(OctetString):
    """ProviderName / ProposedProviderName."""

    max_octets: ClassVar[int] = 16


class ProviderContactDetails(OctetString):
    """ProviderContactDetails / ProposedProviderContactDetails."""

    max_octets: ClassVar[int] = 19


class Password(OctetString):
    """Password of RequestNewPasswordResponse."""

    max_octets: ClassVar[int] = 10


class SiteId(OctetString):
    """SiteID (the MPAN or MPRN in GB)."""

    max_octets: ClassVar[int] = 32


class CustomerIdNumber(OctetString):
    """CustomerIDNumber (CIN)."""

    max_octets: ClassVar[int] = 24


class PasswordType(t.enum8):
    """PasswordType: which of the meter's four passwords."""

    ServiceMenu = 0x01
    ConsumerMenu = 0x02
    Password3 = 0x03
    Password4 = 0x04


class TenancyChangeControl(t.bitmap32):
    """ProposedTenancyChangeControl: what the meter does at a change of tenancy."""

    PreSnapshots = 0x00000001
    PostSnapshots = 0x00000002
    ResetCreditRegister = 0x00000004
    ResetDebitRegister = 0x00000008
    ResetBillingPeriod = 0x00000010
    ClearTariffPlan = 0x00000020
    ClearStandingCharge = 0x00000040
    BlockHistoricalLoadProfileInformation = 0x00000080
    ClearHistoricalLoadProfileInformation = 0x00000100
    ClearIhdDataConsumer = 0x00000200
    ClearIhdDataSupplier = 0x00000400
    ClearTransactionLog = 0x00002000
    ClearPrepaymentData = 0x00004000


class ProviderChangeControl(t.bitmap32):
    """ProviderChangeControl: what the meter does at a change of supplier (same bits)."""

    PreSnapshots = 0x00000001
    PostSnapshots = 0x00000002
    ResetCreditRegister = 0x00000004
    ResetDebitRegister = 0x00000008
    ResetBillingPeriod = 0x00000010
    ClearTariffPlan = 0x00000020
    ClearStandingCharge = 0x00000040
    BlockHistoricalLoadProfileInformation = 0x00000080
    ClearHistoricalLoadProfileInformation = 0x00000100
    ClearIhdDataConsumer = 0x00000200
    ClearIhdDataSupplier = 0x00000400
    ClearTransactionLog = 0x00002000
    ClearPrepaymentData = 0x00004000


class EventLogging(t.enum3):
    """How an event is logged (EventConfiguration bits 0-2)."""

    DoNotLog = 0b000
    LogAsTamper = 0b001
    LogAsFault = 0b010
    LogAsGeneralEvent = 0b011
    LogAsSecurityEvent = 0b100
    LogAsNetworkEvent = 0b101


class EventConfiguration(t.IntStruct, t.uint8_t):
    """EventConfiguration: where an event is logged and to whom it is pushed."""

    logging: EventLogging
    push_event_to_wan: t.uint1_t
    push_event_to_han: t.uint1_t
    raise_alarm_zigbee: t.uint1_t
    raise_alarm_physical: t.uint1_t
    reserved: t.uint1_t


class ConfigurationControl(t.enum8):
    """ConfigurationControl of SetEventConfiguration: which events the payload selects."""

    ApplyByList = 0x00
    ApplyByEventGroup = 0x01
    ApplyByLogType = 0x02
    ApplyByConfigurationMatch = 0x03


class EventConfigurationRecord(t.Struct):
    """One event of ReportEventConfiguration."""

    event_id: t.uint16_t
    event_configuration: EventConfiguration


# --- Commands the server receives (client to server) ------------------------------------------


class GetChangeOfTenancy(CommandSchema):
    """GetChangeOfTenancy (no payload)."""


class GetChangeOfSupplier(CommandSchema):
    """GetChangeOfSupplier (no payload)."""


class RequestNewPassword(CommandSchema):
    """RequestNewPassword."""

    password_type: PasswordType


class GetSiteId(CommandSchema):
    """GetSiteID (no payload)."""


class ReportEventConfiguration(CommandSchema):
    """ReportEventConfiguration: the answer to GetEventConfiguration, possibly over several
    commands."""

    command_index: t.uint8_t
    total_commands: t.uint8_t
    event_configurations: t.List[EventConfigurationRecord]


class GetCin(CommandSchema):
    """GetCIN (no payload)."""


# --- Commands the server generates (server to client) -----------------------------------------


class PublishChangeOfTenancy(CommandSchema):
    """PublishChangeOfTenancy."""

    provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    tariff_type: TariffTypeField
    implementation_date_time: t.UTCTime
    proposed_tenancy_change_control: TenancyChangeControl


class PublishChangeOfSupplier(CommandSchema):
    """PublishChangeOfSupplier."""

    current_provider_id: t.uint32_t
    issuer_event_id: t.uint32_t
    tariff_type: TariffTypeField
    proposed_provider_id: t.uint32_t
    provider_change_implementation_time: t.UTCTime
    provider_change_control: ProviderChangeControl
    proposed_provider_name: ProviderName
    proposed_provider_contact_details: ProviderContactDetails


class RequestNewPasswordResponse(CommandSchema):
    """RequestNewPasswordResponse."""

    issuer_event_id: t.uint32_t
    implementation_date_time: t.UTCTime
    duration_in_minutes: t.uint16_t
    password_type: PasswordType
    password: Password


class UpdateSiteId(CommandSchema):
    """UpdateSiteID."""

    issuer_event_id: t.uint32_t
    site_id_time: t.UTCTime
    provider_id: t.uint32_t
    site_id: SiteId


class SetEventConfiguration(CommandSchema):
    """SetEventConfiguration: one configuration for the events that ConfigurationControl
    selects: a list of event ids, an event group, a log, or those with a given configuration."""

    issuer_event_id: t.uint32_t
    start_date_time: t.UTCTime
    event_configuration: EventConfiguration
    configuration_control: ConfigurationControl
    event_ids: t.LVList[t.uint16_t, t.uint8_t] = present_if(
        lambda s: s.configuration_control == ConfigurationControl.ApplyByList
    )
    event_group_id: t.uint16_t = present_if(
        lambda s: s.configuration_control == ConfigurationControl.ApplyByEventGroup
    )
    log_id: LogId = present_if(
        lambda s: s.configuration_control == ConfigurationControl.ApplyByLogType
    )
    configuration_value_match: EventConfiguration = present_if(
        lambda s: s.configuration_control == ConfigurationControl.ApplyByConfigurationMatch
    )


class GetEventConfiguration(CommandSchema):
    """GetEventConfiguration of one event (0xFFFF: all)."""

    event_id: t.uint16_t


class UpdateCin(CommandSchema):
    """UpdateCIN."""

    issuer_event_id: t.uint32_t
    cin_implementation_time: t.UTCTime
    provider_id: t.uint32_t
    customer_id_number: CustomerIdNumber


class DeviceManagement(Cluster):
    """Device Management (0x0708)."""

    cluster_id = as_cluster_id(0x0708)
    ep_attribute = "smartenergy_device_management"

    class AttributeDefs(GlobalAttributes):
        # Supplier Control set
        provider_id: Final = attribute(0x0100, t.uint32_t)
        provider_name: Final = attribute(0x0101, ProviderName)
        provider_contact_details: Final = attribute(0x0102, ProviderContactDetails)
        proposed_provider_id: Final = attribute(0x0110, t.uint32_t)
        proposed_provider_name: Final = attribute(0x0111, ProviderName)
        proposed_provider_change_date_time: Final = attribute(0x0112, t.UTCTime)
        proposed_provider_change_control: Final = attribute(0x0113, ProviderChangeControl)
        proposed_provider_contact_details: Final = attribute(0x0114, ProviderContactDetails)
        received_provider_id: Final = attribute(0x0120, t.uint32_t)
        received_provider_name: Final = attribute(0x0121, ProviderName)
        received_provider_contact_details: Final = attribute(0x0122, ProviderContactDetails)
        received_proposed_provider_id: Final = attribute(0x0130, t.uint32_t)
        received_proposed_provider_name: Final = attribute(0x0131, ProviderName)
        received_proposed_provider_change_date_time: Final = attribute(0x0132, t.UTCTime)
        received_proposed_provider_change_control: Final = attribute(0x0133, ProviderChangeControl)
        received_proposed_provider_contact_details: Final = attribute(
            0x0134, ProviderContactDetails
        )
        # Tenancy set
        change_of_tenancy_update_date_time: Final = attribute(0x0200, t.UTCTime)
        proposed_tenancy_change_control: Final = attribute(0x0201, TenancyChangeControl)
        # Backhaul set
        wan_status: Final = attribute(0x0300, t.enum8)
        # HAN set: thresholds of the ambient consumption indicator (Metering 0x0207)
        low_medium_threshold: Final = attribute(0x0400, t.uint32_t, READ_WRITE)
        medium_high_threshold: Final = attribute(0x0401, t.uint32_t, READ_WRITE)

    class ServerCommandDefs(BaseCommandDefs):
        get_change_of_tenancy: Final = command(0x00, GetChangeOfTenancy)
        get_change_of_supplier: Final = command(0x01, GetChangeOfSupplier)
        request_new_password: Final = command(0x02, RequestNewPassword)
        get_site_id: Final = command(0x03, GetSiteId)
        report_event_configuration: Final = command(0x04, ReportEventConfiguration)
        get_cin: Final = command(0x05, GetCin)

    class ClientCommandDefs(BaseCommandDefs):
        publish_change_of_tenancy: Final = command(0x00, PublishChangeOfTenancy)
        publish_change_of_supplier: Final = command(0x01, PublishChangeOfSupplier)
        request_new_password_response: Final = command(0x02, RequestNewPasswordResponse)
        update_site_id: Final = command(0x03, UpdateSiteId)
        set_event_configuration: Final = command(0x04, SetEventConfiguration)
        get_event_configuration: Final = command(0x05, GetEventConfiguration)
        update_cin: Final = command(0x06, UpdateCin)

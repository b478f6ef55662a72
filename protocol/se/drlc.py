"""The Demand Response and Load Control cluster (0x0701; ZigBee SE 1.4 annex D.2).

The server (the ESI) schedules load control events for classes of devices; the client (a load
control device, smart appliance, thermostat or IHD) reports its participation. Temperatures are
signed hundredths of a degree Celsius; 0x8000 (set points) and 0xFF (offsets, percentages, duty
cycle) mean "not used".
"""

from __future__ import annotations

from typing import ClassVar, Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseCommandDefs, CommandSchema

from .types import FixedOctets
from .zcl_defs import READ_WRITE, GlobalAttributes, as_cluster_id, attribute, command, optional


class DeviceClass(t.bitmap16):
    """DeviceClass: the classes of device an event applies to."""

    HvacCompressorOrFurnace = 0x0001
    StripHeatersBaseboardHeaters = 0x0002
    WaterHeater = 0x0004
    PoolPumpSpaJacuzzi = 0x0008
    SmartAppliances = 0x0010
    IrrigationPump = 0x0020
    ManagedCommercialIndustrialLoads = 0x0040
    SimpleMiscLoads = 0x0080
    ExteriorLighting = 0x0100
    InteriorLighting = 0x0200
    ElectricVehicle = 0x0400
    GenerationSystems = 0x0800


class CriticalityLevel(t.enum8):
    """CriticalityLevel of a load control event."""

    Reserved = 0x00
    Green = 0x01
    Level1 = 0x02
    Level2 = 0x03
    Level3 = 0x04
    Level4 = 0x05
    Level5 = 0x06
    Emergency = 0x07
    PlannedOutage = 0x08
    ServiceDisconnect = 0x09


class EventControl(t.bitmap8):
    """EventControl: randomise the start and/or end of the event."""

    RandomizeStartTime = 0x01
    RandomizeDurationTime = 0x02


class CancelControl(t.bitmap8):
    """CancelControl: let an event in progress run to completion ("graceful" cancel)."""

    TerminateGracefully = 0x01


class EventStatus(t.enum8):
    """EventStatus of ReportEventStatus."""

    LoadControlEventCommandRx = 0x01
    EventStarted = 0x02
    EventCompleted = 0x03
    UserHasChosenToOptOut = 0x04
    UserHasChosenToOptIn = 0x05
    EventHasBeenCancelled = 0x06
    EventHasBeenSuperseded = 0x07
    EventPartiallyCompletedWithUserOptOut = 0x08
    EventPartiallyCompletedDueToUserOptIn = 0x09
    EventCompletedNoUserParticipation = 0x0A
    RejectedInvalidCancelCommandDefault = 0xF8
    RejectedInvalidCancelCommandInvalidEffectiveTime = 0xF9
    RejectedEventReceivedAfterItHadExpired = 0xFB
    RejectedInvalidCancelCommandUndefinedEvent = 0xFD
    LoadControlEventCommandRejected = 0xFE


class SignatureType(t.enum8):
    """SignatureType of ReportEventStatus."""

    NoSignature = 0x00
    EcdsaSignature = 0x01


class EventSignature(FixedOctets):
    """Signature of ReportEventStatus: 42 octets (ECDSA r and s on sect163k1), 0xFF if unsigned."""

    length: ClassVar[int] = 42


class LoadControlEvent(CommandSchema):
    """LoadControlEvent."""

    issuer_event_id: t.uint32_t
    device_class: DeviceClass
    utility_enrollment_group: t.uint8_t
    start_time: t.UTCTime
    duration_in_minutes: t.uint16_t
    criticality_level: CriticalityLevel
    cooling_temperature_offset: t.uint8_t
    heating_temperature_offset: t.uint8_t
    cooling_temperature_set_point: t.int16s
    heating_temperature_set_point: t.int16s
    average_load_adjustment_percentage: t.int8s
    duty_cycle: t.uint8_t
    event_control: EventControl


class CancelLoadControlEvent(CommandSchema):
    """CancelLoadControlEvent."""

    issuer_event_id: t.uint32_t
    device_class: DeviceClass
    utility_enrollment_group: t.uint8_t
    cancel_control: CancelControl
    effective_time: t.UTCTime


class CancelAllLoadControlEvents(CommandSchema):
    """CancelAllLoadControlEvents."""

    cancel_control: CancelControl


class ReportEventStatus(CommandSchema):
    """ReportEventStatus: what the client did with an event, optionally signed."""

    issuer_event_id: t.uint32_t
    event_status: EventStatus
    event_status_time: t.UTCTime
    criticality_level_applied: CriticalityLevel
    cooling_temperature_set_point_applied: t.int16s
    heating_temperature_set_point_applied: t.int16s
    average_load_adjustment_percentage_applied: t.int8s
    duty_cycle_applied: t.uint8_t
    event_control: EventControl
    signature_type: SignatureType
    signature: EventSignature


class GetScheduledEvents(CommandSchema):
    """GetScheduledEvents: up to NumberOfEvents from StartTime (IssuerEventID added in SE 1.2)."""

    start_time: t.UTCTime
    number_of_events: t.uint8_t
    issuer_event_id: t.uint32_t = optional()


class DemandResponseLoadControl(Cluster):
    """Demand Response and Load Control (0x0701)."""

    cluster_id = as_cluster_id(0x0701)
    ep_attribute = "smartenergy_drlc"

    class AttributeDefs(GlobalAttributes):
        # These are the client's attributes (the server has none): zigpy has one table.
        utility_enrollment_group: Final = attribute(0x0000, t.uint8_t, READ_WRITE)
        start_randomization_minutes: Final = attribute(0x0001, t.uint8_t, READ_WRITE)
        duration_randomization_minutes: Final = attribute(0x0002, t.uint8_t, READ_WRITE)
        device_class_value: Final = attribute(0x0003, DeviceClass, READ_WRITE)

    class ServerCommandDefs(BaseCommandDefs):
        report_event_status: Final = command(0x00, ReportEventStatus)
        get_scheduled_events: Final = command(0x01, GetScheduledEvents)

    class ClientCommandDefs(BaseCommandDefs):
        load_control_event: Final = command(0x00, LoadControlEvent)
        cancel_load_control_event: Final = command(0x01, CancelLoadControlEvent)
        cancel_all_load_control_events: Final = command(0x02, CancelAllLoadControlEvents)

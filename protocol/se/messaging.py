"""The Messaging cluster (0x0703; ZigBee SE 1.4 annex D.5): text messages for the consumer.

The server (the ESI) sends messages for display on the IHD or the meter; the client confirms
them when the message asks for it. The cluster has no attributes.
"""

from __future__ import annotations

from typing import ClassVar, Final

import zigpy.types as t
from zigpy.zcl import Cluster
from zigpy.zcl.foundation import BaseCommandDefs, CommandSchema

from .types import OctetString, Utf8String
from .zcl_defs import GlobalAttributes, as_cluster_id, command, optional


class MessageTransmission(t.enum2):
    """Transmission mechanism (MessageControl bits 0-1)."""

    NormalTransmissionOnly = 0b00
    NormalAndAnonymousInterPan = 0b01
    AnonymousInterPanOnly = 0b10


class MessageImportance(t.enum2):
    """Message urgency (MessageControl bits 2-3)."""

    Low = 0b00
    Medium = 0b01
    High = 0b10
    Critical = 0b11


class MessageControl(t.IntStruct, t.uint8_t):
    """MessageControl of DisplayMessage and CancelMessage."""

    transmission: MessageTransmission
    importance: MessageImportance
    reserved: t.uint1_t
    enhanced_confirmation_required: t.uint1_t
    reserved2: t.uint1_t
    confirmation_required: t.uint1_t


class ExtendedMessageControl(t.bitmap8):
    """ExtendedMessageControl of DisplayMessage (SE 1.2)."""

    MessageConfirmationStatus = 0x01


class MessageConfirmationControl(t.bitmap8):
    """MessageConfirmationControl of MessageConfirmation: the consumer's answer."""

    NoReturned = 0x01
    YesReturned = 0x02


class Message(Utf8String):
    """The Message text: a UTF-8 ZCL character string."""


class MessageResponse(OctetString):
    """MessageResponse of MessageConfirmation: the consumer's text answer."""

    max_octets: ClassVar[int] = 20


class DisplayMessage(CommandSchema):
    """DisplayMessage: show Message from StartTime (0: now) for DurationInMinutes (0xFFFF: until
    changed)."""

    message_id: t.uint32_t
    message_control: MessageControl
    start_time: t.UTCTime
    duration_in_minutes: t.uint16_t
    message: Message
    extended_message_control: ExtendedMessageControl = optional()


class DisplayProtectedMessage(DisplayMessage):
    """DisplayProtectedMessage: a DisplayMessage only shown once the consumer has entered a PIN."""


class CancelMessage(CommandSchema):
    """CancelMessage."""

    message_id: t.uint32_t
    message_control: MessageControl


class CancelAllMessages(CommandSchema):
    """CancelAllMessages from ImplementationDateTime (0: now)."""

    implementation_date_time: t.UTCTime


class GetLastMessage(CommandSchema):
    """GetLastMessage (no payload)."""


class MessageConfirmation(CommandSchema):
    """MessageConfirmation (MessageConfirmationControl and MessageResponse added in SE 1.2)."""

    message_id: t.uint32_t
    confirmation_time: t.UTCTime
    message_confirmation_control: MessageConfirmationControl = optional()
    message_response: MessageResponse = optional()


class GetMessageCancellation(CommandSchema):
    """GetMessageCancellation: CancelAllMessages issued from EarliestImplementationTime."""

    earliest_implementation_time: t.UTCTime


class Messaging(Cluster):
    """Messaging (0x0703)."""

    cluster_id = as_cluster_id(0x0703)
    ep_attribute = "smartenergy_messaging"

    class AttributeDefs(GlobalAttributes):
        pass

    class ServerCommandDefs(BaseCommandDefs):
        get_last_message: Final = command(0x00, GetLastMessage)
        message_confirmation: Final = command(0x01, MessageConfirmation)
        get_message_cancellation: Final = command(0x02, GetMessageCancellation)

    class ClientCommandDefs(BaseCommandDefs):
        display_message: Final = command(0x00, DisplayMessage)
        cancel_message: Final = command(0x01, CancelMessage)
        display_protected_message: Final = command(0x02, DisplayProtectedMessage)
        cancel_all_messages: Final = command(0x03, CancelAllMessages)

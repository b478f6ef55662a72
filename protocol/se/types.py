"""Data types shared by the Smart Energy clusters (ZigBee Smart Energy Standard 1.4, annex D).

Money, prices and quantities are integers on the wire: where a value has decimals, a separate
"trailing digit" field says how many of its digits lie right of the decimal point.
Nothing here is a float. Times are `UTCTime`: seconds since 2000-01-01 00:00 UTC (ZCL 2.6.2).

Strings follow ZCL: an octet string (0x41) or character string (0x42) is a length octet and
that many octets; the SE commands give each one a maximum length, checked when we send.
"""

from __future__ import annotations

from typing import ClassVar, Self

import zigpy.types as t

UTCTime = t.UTCTime


class OctetString(t.LVBytes):
    """ZCL octet string (0x41) of at most `max_octets` octets (checked when serialised)."""

    max_octets: ClassVar[int] = 254

    def serialize(self) -> bytes:
        if len(self) > self.max_octets:
            raise ValueError(
                f"{type(self).__name__} is {len(self)} octets, at most {self.max_octets}"
            )
        return bytes([len(self)]) + bytes(self)


class Utf8String(t.CharacterString):
    """ZCL character string (0x42): a length octet counting UTF-8 octets, then the text.

    zigpy 2.4's `CharacterString` writes the number of characters as the length, which is wrong
    as soon as the text is not ASCII (a "£" is two octets); this writes the octet count.
    """

    max_octets: ClassVar[int] = 254

    def serialize(self) -> bytes:
        if getattr(self, "invalid", False):
            return b"\xff"  # the ZCL "invalid string" length
        raw = str(self).encode("utf-8")
        if len(raw) > self.max_octets:
            raise ValueError(
                f"{type(self).__name__} is {len(raw)} octets, at most {self.max_octets}"
            )
        return bytes([len(raw)]) + raw


class FixedOctets(bytes):
    """Exactly `length` octets with no length prefix (certificates, MACs, signatures)."""

    length: ClassVar[int] = 0

    def serialize(self) -> bytes:
        if len(self) != self.length:
            raise ValueError(f"{type(self).__name__} must be {self.length} octets, not {len(self)}")
        return bytes(self)

    @classmethod
    def deserialize(cls, data: bytes) -> tuple[Self, bytes]:
        if len(data) < cls.length:
            raise ValueError(f"{cls.__name__} needs {cls.length} octets, {len(data)} left")
        return cls(data[: cls.length]), data[cls.length :]


class RemainingOctets(bytes):
    """Every octet up to the end of the frame (tunnelled data, identity fields, ephemeral data)."""

    def serialize(self) -> bytes:
        return bytes(self)

    @classmethod
    def deserialize(cls, data: bytes) -> tuple[Self, bytes]:
        return cls(data), b""


class TariffType(t.enum4):
    """TariffType sub-field: which direction of energy flow a tariff prices."""

    Delivered = 0x0
    Received = 0x1
    DeliveredAndReceived = 0x2


class TariffTypeField(t.IntStruct, t.uint8_t):
    """An 8-bit "TariffType" field: the tariff type in bits 0-3, bits 4-7 reserved."""

    tariff_type: TariffType
    reserved: t.uint4_t


class TrailingDigit(t.IntStruct, t.uint8_t):
    """A "...TrailingDigit" map8: digits right of the decimal point in bits 4-7 (annex D.4, Price)."""

    reserved: t.uint4_t
    digits: t.uint4_t


class DurationTimebase(t.enum4):
    """Block/billing period duration timebase."""

    Minutes = 0x0
    Days = 0x1
    Weeks = 0x2
    Months = 0x3


class DurationControl(t.enum4):
    """Whether a period runs from the start or to the end of its timebase."""

    StartOfTimebase = 0x0
    EndOfTimebase = 0x1
    NotSpecified = 0x2


class DurationType(t.IntStruct, t.uint8_t):
    """BlockPeriodDurationType / BillingPeriodDurationType map8: timebase, then control."""

    timebase: DurationTimebase
    control: DurationControl


class Currency(t.uint16_t):
    """ISO 4217 numeric currency code (GBP is 826)."""


class LogId(t.enum8):
    """Event log identifiers shared by Events and Device Management."""

    AllLogs = 0x00
    TamperLog = 0x01
    FaultLog = 0x02
    GeneralEventLog = 0x03
    SecurityEventLog = 0x04
    NetworkEventLog = 0x05
    GbcsGeneralEventLog = 0x06
    GbcsSecurityEventLog = 0x07


class OriginatingDevice(t.enum8):
    """Which device a prepayment command came from."""

    EnergyServiceInterface = 0x00
    Meter = 0x01
    InHomeDisplay = 0x02

"""Catalogue of event codes: requirements Appendix B "Detailed list of events", plus our additions.

The numbers are OUR numbering, not a standard (neither the requirements nor Smart Energy define
one for this list). For an Appendix B event the code is section * 100 + item, so B.5.14
'Disconnector failure' is 514 and B.11.2 is 1102. Events the main text asks for but Appendix B
lacks (section 18 tampers and faults, HAN membership, remote reconnection, ...) are numbered from
2001 and name the clause they come from. Codes are stored in event logs and sent to the head-end:
never renumber or reuse one; only append.

`components` says which components raise the event. Appendix B rarely says, so it is our reading
of the requirements (requirements/clauses.csv), e.g. 'Valve alarm' is the gas meter's.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = ["Component", "EventCategory", "EventCode", "EventInfo", "by_ref"]


class Component(enum.Enum):
    ESME = "ESME"
    GSME = "GSME"
    HUB = "HUB"
    IHD = "IHD"


class EventCategory(enum.Enum):
    """The Appendix B headings (B.1 ... B.11), plus SECURITY and HAN for our additions."""

    COMMISSIONING = "B.1"
    OPERATION = "B.2"
    FIRMWARE = "B.3"
    TARIFF_BILLING = "B.4"
    FAULT = "B.5"
    TAMPER = "B.6"
    COMMUNICATIONS = "B.7"
    CLOCK = "B.8"
    DECOMMISSIONING = "B.9"
    DISCOUNT = "B.10"
    DNO = "B.11"
    SECURITY = "18.11"
    HAN = "HAN"


@dataclass(frozen=True, slots=True)
class EventInfo:
    code: int
    ref: str
    """Appendix B item ('B.5.14') or, for our additions, the clause asking for it ('18.11.m')."""
    category: EventCategory
    components: frozenset[Component]
    title: str
    description: str


class EventCode(enum.IntEnum):
    """Stable numeric event codes; see the module docstring for the numbering rule."""

    POWER_UP = 101
    EVENT_LOG_CLEARED = 102
    MANUAL_DISCONNECTION = 201
    MANUAL_CONNECTION = 202
    REMOTE_DISCONNECTION = 203
    LOCAL_DISCONNECTION = 204
    LIMITER_THRESHOLD_EXCEEDED = 205
    LIMITER_THRESHOLD_OK = 206
    LIMITER_THRESHOLD_CHANGED = 207
    VALVE_ALARM = 208
    MAXIMUM_DEMAND_EXCEEDED = 209
    UNDER_VOLTAGE = 210
    OVER_VOLTAGE = 211
    VOLTAGE_NORMAL = 212
    PROFILE_CLEARED = 213
    FIRMWARE_READY_FOR_ACTIVATION = 301
    FIRMWARE_ACTIVATED = 302
    PATCH_FAILURE = 303
    TOU_ACTIVATED = 401
    TARIFF_8X8_ACTIVATED = 402
    SINGLE_RATE_TARIFF_ACTIVATED = 403
    ASYNCHRONOUS_BILLING_RESET = 404
    SYNCHRONOUS_BILLING_RESET = 405
    REPLACE_BATTERY = 501
    BATTERY_LIFE_10_PERCENT = 502
    LAST_GASP_BATTERY_FAILURE = 503
    BATTERY_VOLTAGE_LOW = 504
    PROGRAM_MEMORY_ERROR = 505
    RAM_ERROR = 506
    NV_MEMORY_ERROR = 507
    MEASUREMENT_SYSTEM_ERROR = 508
    COMMUNICATION_ERROR = 509
    COMMUNICATION_OK = 510
    ERROR_REGISTER_CLEARED = 511
    ALARM_REGISTER_CLEARED = 512
    WATCHDOG_ERROR = 513
    DISCONNECTOR_FAILURE = 514
    CURRENT_WITH_NO_VOLTAGE = 515
    INCORRECT_POLARITY = 516
    MEASUREMENT_SW_CHANGED = 517
    TERMINAL_COVER_REMOVED = 601
    TERMINAL_COVER_CLOSED = 602
    STRONG_DC_FIELD_DETECTED = 603
    STRONG_DC_FIELD_GONE = 604
    METER_COVER_REMOVED = 605
    METER_COVER_CLOSED = 606
    WRONG_PASSWORD_N_TIMES = 607
    FRAUD_ATTEMPT = 608
    COMMUNICATION_ERROR_HAN = 701
    COMMUNICATION_OK_HAN = 702
    COMMUNICATION_ERROR_WAN = 703
    COMMUNICATION_OK_WAN = 704
    DST_ENABLED = 801
    DST_DISABLED = 802
    CLOCK_ADJUSTED_OLD_TIME = 803
    CLOCK_ADJUSTED_NEW_TIME = 804
    CLOCK_INVALID = 805
    POWER_DOWN = 901
    DISCOUNT_APPLIED = 1001
    POWER_FACTOR_BELOW_THRESHOLD = 1101
    POWER_FACTOR_ABOVE_THRESHOLD = 1102
    # Our additions, from the main text; append only.
    REMOTE_CONNECTION = 2001
    SUPPLY_ARMED = 2002
    UNUSUAL_HAN_TRAFFIC = 2003
    MALFORMED_MESSAGE = 2004
    UNAUTHENTICATED_MESSAGE = 2005
    FAILED_CONNECTION_ATTEMPT = 2006
    DEVICE_JOINED = 2007
    DEVICE_LEFT = 2008
    SIM_REMOVED = 2009
    UNSIGNED_FIRMWARE_REJECTED = 2010
    FIRMWARE_ROLLED_BACK = 2011
    UNEXPECTED_CLOCK_CHANGE = 2012
    REVERSE_FLOW = 2013
    COMPARTMENT_COVER_REMOVED = 2014
    COMPARTMENT_COVER_CLOSED = 2015
    LOG_CAPACITY_REACHED = 2016
    UNEXPECTED_PROGRAM_OPERATION = 2017
    COMMAND_REFUSED = 2018
    # Tariff events (section 16) are numbered from 2101, apart from the other additions.
    BLOCK_TARIFF_ACTIVATED = 2101
    PASSIVE_TARIFF_UPDATED = 2102
    PASSIVE_TARIFF_CANCELLED = 2103
    CPP_EVENT_SCHEDULED = 2104
    CPP_EVENT_STARTED = 2105
    CPP_EVENT_ENDED = 2106
    CPP_EVENT_ACCEPTED = 2107
    CPP_EVENT_REJECTED = 2108
    CURRENCY_SWITCHED = 2109
    TARIFF_ITEM_CHANGED = 2110
    AUX_LOAD_SWITCHED = 2111

    @property
    def info(self) -> EventInfo:
        return _TABLE[self]

    @property
    def ref(self) -> str:
        return _TABLE[self].ref

    @property
    def title(self) -> str:
        return _TABLE[self].title

    @property
    def description(self) -> str:
        return _TABLE[self].description

    @property
    def category(self) -> EventCategory:
        return _TABLE[self].category

    @property
    def components(self) -> frozenset[Component]:
        return _TABLE[self].components

    @classmethod
    def raised_by(cls, component: Component) -> list[EventCode]:
        return [code for code in cls if component in code.components]


# code | ref | category | components (or ALL) | title | description (requirements' wording).
# Kept as one text table so the catalogue reads like the appendix it transcribes.
_ROWS = """
101|B.1.1|COMMISSIONING|ALL|Power up|Indicates that the component is powered again after a complete power down.
102|B.1.2|COMMISSIONING|ALL|Event log cleared|Indicates that the event log was cleared. This is always the first entry in an event log. It is only stored in the affected event log. Date and time stamp only activated by authorised personnel.
201|B.2.1|OPERATION|ESME GSME|Manual disconnection|Indicates that the disconnector has been manually disconnected.
202|B.2.2|OPERATION|ESME GSME|Manual connection|Indicates that the disconnector has been manually connected.
203|B.2.3|OPERATION|ESME GSME|Remote disconnection|Indicates that the disconnector has been remotely disconnected.
204|B.2.4|OPERATION|ESME|Local disconnection|Indicates that the disconnector has been locally disconnected (i.e. via the limiter).
205|B.2.5|OPERATION|ESME|Limiter threshold exceeded|Indicates that the limiter threshold has been exceeded.
206|B.2.6|OPERATION|ESME|Limiter threshold ok|Indicates that the monitored value of the limiter dropped below the threshold.
207|B.2.7|OPERATION|ESME|Limiter threshold changed|Indicates that the limiter threshold has been changed.
208|B.2.8|OPERATION|GSME|Valve alarm|Indicates that a valve alarm has been registered.
209|B.2.9|OPERATION|ESME|Maximum demand value exceeded|Indicates that the maximum demand value has been exceeded.
210|B.2.10|OPERATION|ESME|Under-voltage|An under-voltage was detected.
211|B.2.11|OPERATION|ESME|Over-voltage|An over-voltage was detected.
212|B.2.12|OPERATION|ESME|Voltage normal|Indicates voltage normal again e.g. after an over-voltage.
213|B.2.13|OPERATION|ESME GSME|Profile cleared|Indicates one or more profiles were cleared.
301|B.3.1|FIRMWARE|ALL|Firmware ready for activation|Indicates that the new firmware has been successfully downloaded and verified, i.e. it is ready for activation.
302|B.3.2|FIRMWARE|ALL|Firmware activated|Indicates that a new firmware has been activated.
303|B.3.3|FIRMWARE|ALL|Patch failure|Patch cannot be executed.
401|B.4.1|TARIFF_BILLING|ESME GSME|ToU activated|Indicates that the passive ToU has been activated.
402|B.4.2|TARIFF_BILLING|ESME GSME|8x8 tariff activated|8x8 tariff activated.
403|B.4.3|TARIFF_BILLING|ESME GSME|Single rate tariff activated|Single rate tariff activated.
404|B.4.4|TARIFF_BILLING|ESME GSME|Asynchronous billing period reset|An asynchronous billing period reset has occurred, i.e. manual billing reset or billing reset via command.
405|B.4.5|TARIFF_BILLING|ESME GSME|Synchronous billing period reset|An internal scheduled billing reset occurred.
501|B.5.1|FAULT|ALL|Replace Battery|Indicates that the battery shall be exchanged due to the expected end of life time.
502|B.5.2|FAULT|ALL|10% Battery life remaining|10% Battery life remaining.
503|B.5.3|FAULT|ALL|Last Gasp battery failure|Last Gasp battery failure.
504|B.5.4|FAULT|ALL|Battery voltage low|Indicates that the battery voltage is low.
505|B.5.5|FAULT|ALL|Program memory error|Indicates a physical or a logical error in the program memory.
506|B.5.6|FAULT|ALL|RAM error|Indicates a physical or a logical error in the RAM.
507|B.5.7|FAULT|ALL|NV memory error|Indicates a physical error in the non volatile memory.
508|B.5.8|FAULT|ESME GSME|Measurement system error|Indicates a logical or physical error in the measurement system.
509|B.5.9|FAULT|ALL|Communication error|Indicates a communication problem when reading the meter.
510|B.5.10|FAULT|ALL|Communication ok|Indicates that the communication with the meter is ok again.
511|B.5.11|FAULT|ALL|Error register cleared|Indicates that the error register was cleared; all flags cleared.
512|B.5.12|FAULT|ALL|Alarm register cleared|Indicates that the alarm register was cleared.
513|B.5.13|FAULT|ALL|Watchdog error|Indicates a watch dog reset or a hardware reset of the microcontroller.
514|B.5.14|FAULT|ESME|Disconnector failure|Indicates the DCU failure to (1) drive charged enough in 5s or (2) current flow was detected although the DCU should have disconnected the premises.
515|B.5.15|FAULT|ESME|Current with no voltage|Indicates that current is flowing where no voltage is applied. Usually indicates fraud.
516|B.5.16|FAULT|ESME|Incorrect polarity|Indicates wrong mains connection. Usually indicates fraud or wrong installation.
517|B.5.17|FAULT|ESME GSME|Measurement SW changed|On command calculated flying checksum over the measurement firmware is not equal to the stored checksum. Usually indicates fraud, i.e. measurement part of the firmware has been tampered.
601|B.6.1|TAMPER|ESME|Terminal cover removed|Indicates that the terminal cover has been removed.
602|B.6.2|TAMPER|ESME|Terminal cover closed|Indicates that the terminal cover has been closed.
603|B.6.3|TAMPER|ESME GSME|Strong DC field detected|Indicates that a strong magnetic DC field has been detected.
604|B.6.4|TAMPER|ESME GSME|No strong DC field anymore|Indicates that the strong magnetic DC field has disappeared.
605|B.6.5|TAMPER|ESME GSME|Meter cover removed|Indicates that the meter cover has been removed.
606|B.6.6|TAMPER|ESME GSME|Meter cover closed|Indicates that the meter cover has been closed.
607|B.6.7|TAMPER|ALL|'n' times wrong password|Indicates that a user tried to gain access with a wrong password (intrusion detection).
608|B.6.8|TAMPER|ESME GSME HUB|Fraud attempt|Indicates a fraud attempt has been attempted.
701|B.7.1|COMMUNICATIONS|ALL|Communication error HAN|Indicates a communication problem with the paired IHU or any other home area components.
702|B.7.2|COMMUNICATIONS|ALL|Communication ok HAN|Indicates that the communication with the paired IHU or any other home area components is ok again.
703|B.7.3|COMMUNICATIONS|HUB|Communication error Remote Com|Indicates a communication problem with the backhaul office (GSM/GPRS or PLC).
704|B.7.4|COMMUNICATIONS|HUB|Communication ok Remote Com|Indicates that the communication with the backhaul office is ok again.
801|B.8.1|CLOCK|ALL|Daylight saving time enabled|Indicates the regular change from and to daylight saving time. The time stamp shows the time before the change. This event is not set in case of manual clock changes and in case of power failures.
802|B.8.2|CLOCK|ALL|Daylight saving time disabled|Indicates the regular change from and to daylight saving time. The time stamp shows the time before the change. This event is not set in case of manual clock changes and in case of power failures.
803|B.8.3|CLOCK|ALL|Clock adjusted (old date/time)|Indicates that the clock has been adjusted. The date/time that is stored in the event log is the old date/time before adjusting the clock.
804|B.8.4|CLOCK|ALL|Clock adjusted (new date/time)|Indicates that the clock has been adjusted. The date/time that is stored in the event log is the new date/time after adjusting the clock.
805|B.8.5|CLOCK|ALL|Clock invalid|Indicates that clock may be invalid, i.e. if the power reserve of the clock has exhausted. It is set at power up.
901|B.9.1|DECOMMISSIONING|ALL|Power down|Indicates a complete power down of the component. Please note that this is related to the component and not necessarily to the network.
1001|B.10.1|DISCOUNT|ESME GSME|Discount applied|Indicates that a discount has been applied successfully to the consumer's meter.
1101|B.11.1|DNO|ESME|Power factor below threshold|Indicates power factor has fallen under the set threshold for a period longer than the delay time.
1102|B.11.2|DNO|ESME|Power factor above threshold again|Indicates power factor is again (after being under) over the set threshold for a period longer than the delay time.
2001|11.10|OPERATION|ESME GSME|Remote connection|The disconnector has been remotely connected (every interrupt/restore change is logged, clause 11.10).
2002|11.9|OPERATION|ESME GSME|Supply armed|The supply is armed for restoration by a local consumer action (clauses 11.2, 11.9).
2003|18.11.f|SECURITY|ALL|Unusual HAN traffic|Unusual traffic on the HAN was detected as a tamper.
2004|18.11.j|SECURITY|ALL|Malformed message|A malformed message was received on a HAN link or on the hub-to-head-end link.
2005|18.11.j|SECURITY|ALL|Unauthenticated message|A message failing authentication was received on a HAN link or on the hub-to-head-end link.
2006|18.11.m|SECURITY|ALL|Failed connection attempt|A connection (join) attempt by an unauthorised device was refused.
2007|C.8|HAN|ALL|Device joined|A device joined the HAN.
2008|C.9|HAN|ALL|Device left|A device left or was removed from the HAN.
2009|18.11.l|TAMPER|HUB|SIM removed|The SIM was removed from the communications hub.
2010|18.11.i|SECURITY|ALL|Unsigned firmware rejected|Loading of unsigned code was attempted and refused.
2011|21.2.8|FIRMWARE|ALL|Firmware rolled back|A failed upgrade reverted to the original firmware.
2012|18.11.h|SECURITY|ALL|Unexpected clock change|An unexpected change of clock time was detected as a tamper.
2013|18.11.g|TAMPER|ESME GSME|Reverse flow|Reverse flow or current was detected beyond legitimate microgeneration export.
2014|17.1.3|TAMPER|ALL|Compartment cover removed|The battery or communications compartment was opened.
2015|17.1.3|TAMPER|ALL|Compartment cover closed|The battery or communications compartment was closed.
2016|18.9.e|FAULT|ALL|Log capacity reached|A log or profile storage reached its capacity.
2017|18.9.j|FAULT|ALL|Unexpected program operation|An unhandled exception or invalid state was detected.
2018|18.11.j|SECURITY|HUB ESME GSME|Command refused|A well-formed command from outside was refused (not addressed to a device the receiver serves, or not supported); it had no effect.
2101|16.19|TARIFF_BILLING|ESME GSME|Block tariff activated|The passive block tariff has been activated (clauses 16.7, 16.19).
2102|16.7|TARIFF_BILLING|ESME GSME|Passive tariff updated|A tariff to take effect at its effective-from date and time was stored as the passive tariff.
2103|16.7|TARIFF_BILLING|ESME GSME|Passive tariff cancelled|The passive tariff was cancelled before taking effect.
2104|16.11.4|TARIFF_BILLING|ESME|CPP event scheduled|A critical peak pricing event was stored in the meter (clauses 16.11.1-16.11.4).
2105|16.11.3|TARIFF_BILLING|ESME|CPP event started|A critical peak pricing period began; CPP prices supersede the tariff (clauses 16.12.1.e, 16.21).
2106|16.11.3|TARIFF_BILLING|ESME|CPP event ended|A critical peak pricing period ended.
2107|16.11.8|TARIFF_BILLING|ESME|CPP event accepted|The consumer accepted a critical peak pricing event.
2108|16.11.8|TARIFF_BILLING|ESME|CPP event rejected|The consumer rejected a refusable critical peak pricing event.
2109|12.1.q|TARIFF_BILLING|ESME GSME|Currency switched|Prices and money registers changed currency at the configured rate (clauses 12.1.q, 16.18).
2110|12.1.a|TARIFF_BILLING|ESME GSME|Tariff item changed|A tariff item of clause 12.1 (a-e, q, aa: structure, rates, tiers, pricing, block period, currency conversion, CV and PTZ) was updated or suppressed remotely.
2111|16.12.1.d|TARIFF_BILLING|ESME|Auxiliary load switched|The auxiliary load switch output was switched on or off by the time-of-use switch entry in force (clauses 16.12.1.d, 16.13.1.c); Appendix B has no event for it.
"""


def _parse(rows: str) -> dict[EventCode, EventInfo]:
    table: dict[EventCode, EventInfo] = {}
    for line in rows.strip().splitlines():
        code, ref, category, components, title, description = line.split("|")
        names = [c.name for c in Component] if components == "ALL" else components.split()
        info = EventInfo(
            code=int(code),
            ref=ref,
            category=EventCategory[category],
            components=frozenset(Component[name] for name in names),
            title=title,
            description=description,
        )
        table[EventCode(info.code)] = info
    missing = set(EventCode) - set(table)
    if missing:
        raise RuntimeError(f"event codes without a catalogue row: {sorted(missing)}")
    return table


_TABLE = _parse(_ROWS)
_BY_REF = {info.ref: code for code, info in _TABLE.items() if info.ref.startswith("B.")}


def by_ref(ref: str) -> EventCode:
    """The event code of an Appendix B item, e.g. by_ref("B.8.3") is CLOCK_ADJUSTED_OLD_TIME."""
    return _BY_REF[ref]

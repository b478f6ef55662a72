"""Event code catalogue: complete against Appendix B, stable numbers, sound metadata."""

from __future__ import annotations

import csv
import re

from protocol.event_codes import Component, EventCategory, EventCode, by_ref
from tests.requirements import requirements_file

# Codes are stored in logs and sent to the head-end: this snapshot fails any renumbering.
SNAPSHOT = """
    POWER_UP=101 EVENT_LOG_CLEARED=102 MANUAL_DISCONNECTION=201 MANUAL_CONNECTION=202
    REMOTE_DISCONNECTION=203 LOCAL_DISCONNECTION=204 LIMITER_THRESHOLD_EXCEEDED=205
    LIMITER_THRESHOLD_OK=206 LIMITER_THRESHOLD_CHANGED=207 VALVE_ALARM=208
    MAXIMUM_DEMAND_EXCEEDED=209 UNDER_VOLTAGE=210 OVER_VOLTAGE=211 VOLTAGE_NORMAL=212
    PROFILE_CLEARED=213 FIRMWARE_READY_FOR_ACTIVATION=301 FIRMWARE_ACTIVATED=302
    PATCH_FAILURE=303 TOU_ACTIVATED=401 TARIFF_8X8_ACTIVATED=402
    SINGLE_RATE_TARIFF_ACTIVATED=403 ASYNCHRONOUS_BILLING_RESET=404
    SYNCHRONOUS_BILLING_RESET=405 REPLACE_BATTERY=501 BATTERY_LIFE_10_PERCENT=502
    LAST_GASP_BATTERY_FAILURE=503 BATTERY_VOLTAGE_LOW=504 PROGRAM_MEMORY_ERROR=505
    RAM_ERROR=506 NV_MEMORY_ERROR=507 MEASUREMENT_SYSTEM_ERROR=508 COMMUNICATION_ERROR=509
    COMMUNICATION_OK=510 ERROR_REGISTER_CLEARED=511 ALARM_REGISTER_CLEARED=512
    WATCHDOG_ERROR=513 DISCONNECTOR_FAILURE=514 CURRENT_WITH_NO_VOLTAGE=515
    INCORRECT_POLARITY=516 MEASUREMENT_SW_CHANGED=517 TERMINAL_COVER_REMOVED=601
    TERMINAL_COVER_CLOSED=602 STRONG_DC_FIELD_DETECTED=603 STRONG_DC_FIELD_GONE=604
    METER_COVER_REMOVED=605 METER_COVER_CLOSED=606 WRONG_PASSWORD_N_TIMES=607
    FRAUD_ATTEMPT=608 COMMUNICATION_ERROR_HAN=701 COMMUNICATION_OK_HAN=702
    COMMUNICATION_ERROR_WAN=703 COMMUNICATION_OK_WAN=704 DST_ENABLED=801 DST_DISABLED=802
    CLOCK_ADJUSTED_OLD_TIME=803 CLOCK_ADJUSTED_NEW_TIME=804 CLOCK_INVALID=805
    POWER_DOWN=901 DISCOUNT_APPLIED=1001 POWER_FACTOR_BELOW_THRESHOLD=1101
    POWER_FACTOR_ABOVE_THRESHOLD=1102 REMOTE_CONNECTION=2001 SUPPLY_ARMED=2002
    UNUSUAL_HAN_TRAFFIC=2003 MALFORMED_MESSAGE=2004 UNAUTHENTICATED_MESSAGE=2005
    FAILED_CONNECTION_ATTEMPT=2006 DEVICE_JOINED=2007 DEVICE_LEFT=2008 SIM_REMOVED=2009
    UNSIGNED_FIRMWARE_REJECTED=2010 FIRMWARE_ROLLED_BACK=2011 UNEXPECTED_CLOCK_CHANGE=2012
    REVERSE_FLOW=2013 COMPARTMENT_COVER_REMOVED=2014 COMPARTMENT_COVER_CLOSED=2015
    LOG_CAPACITY_REACHED=2016 UNEXPECTED_PROGRAM_OPERATION=2017 COMMAND_REFUSED=2018
    BLOCK_TARIFF_ACTIVATED=2101 PASSIVE_TARIFF_UPDATED=2102 PASSIVE_TARIFF_CANCELLED=2103
    CPP_EVENT_SCHEDULED=2104 CPP_EVENT_STARTED=2105 CPP_EVENT_ENDED=2106
    CPP_EVENT_ACCEPTED=2107 CPP_EVENT_REJECTED=2108 CURRENCY_SWITCHED=2109
    TARIFF_ITEM_CHANGED=2110 AUX_LOAD_SWITCHED=2111
"""

APPENDIX_B_ITEMS = 61


class TestCatalogue:
    def test_numbers_never_change(self) -> None:
        pinned = dict(item.split("=") for item in SNAPSHOT.split())
        assert {code.name: str(code.value) for code in EventCode} == pinned

    def test_codes_are_unique(self) -> None:
        values = [member.value for member in EventCode.__members__.values()]
        assert len(values) == len(set(values))

    def test_appendix_numbering_rule(self) -> None:
        appendix = [code for code in EventCode if code.ref.startswith("B.")]
        assert len(appendix) == APPENDIX_B_ITEMS
        for code in appendix:
            _, section, item = code.ref.split(".")
            assert code == int(section) * 100 + int(item)
            assert code.category.value == f"B.{section}"
            assert by_ref(code.ref) is code

    def test_additions_are_numbered_apart_and_cite_a_clause(self) -> None:
        for code in EventCode:
            if not code.ref.startswith("B."):
                assert code >= 2001
                assert re.fullmatch(r"(\d+(\.\w+)+|C\.\d+)", code.ref), code.ref

    def test_every_code_has_words_and_components(self) -> None:
        for code in EventCode:
            assert code.title and code.description and code.components
            assert code.info.code == code

    def test_events_the_firmware_needs(self) -> None:
        assert EventCode.POWER_UP.ref == "B.1.1"
        assert EventCode.POWER_DOWN.ref == "B.9.1"
        assert EventCode.COMMUNICATION_ERROR_HAN.ref == "B.7.1"
        assert EventCode.COMMUNICATION_OK_WAN.ref == "B.7.4"
        assert EventCode.CLOCK_ADJUSTED_OLD_TIME.category is EventCategory.CLOCK
        assert EventCode.UNUSUAL_HAN_TRAFFIC.ref == "18.11.f"
        assert EventCode.MALFORMED_MESSAGE.ref == "18.11.j"
        assert EventCode.FAILED_CONNECTION_ATTEMPT.ref == "18.11.m"
        assert EventCode.DEVICE_JOINED.category is EventCategory.HAN
        assert EventCode.DISCONNECTOR_FAILURE.ref == "B.5.14"
        assert EventCode.BATTERY_VOLTAGE_LOW.ref == "B.5.4"
        assert EventCode.FIRMWARE_ACTIVATED.ref == "B.3.2"

    def test_raised_by(self) -> None:
        gas = EventCode.raised_by(Component.GSME)
        assert EventCode.VALVE_ALARM in gas
        assert EventCode.TERMINAL_COVER_REMOVED not in gas
        hub = EventCode.raised_by(Component.HUB)
        assert EventCode.COMMUNICATION_ERROR_WAN in hub
        assert EventCode.SIM_REMOVED in hub
        assert EventCode.COMMUNICATION_ERROR_WAN not in EventCode.raised_by(Component.ESME)


class TestAgainstRequirements:
    def test_every_appendix_b_item_is_catalogued_with_its_title(self) -> None:
        text = requirements_file("000_*.txt").read_text(encoding="utf-8")
        appendix = text[text.index("APPENDIX B DETAILED") : text.index("APPENDIX C PROCESS")]
        items = dict(re.findall(r"(B\.\d+\.\d+)\s*-?\s*(.+)", appendix))
        assert len(items) == APPENDIX_B_ITEMS
        for ref, line in items.items():
            code = by_ref(ref)
            assert _words(line).startswith(_words(code.title)), (ref, line)

    def test_components_follow_our_reading_of_the_clauses(self) -> None:
        with requirements_file("clauses.csv").open(encoding="utf-8") as handle:
            rows = {row["id"]: row for row in csv.DictReader(handle) if row["id"].startswith("B.")}
        assert len(rows) == APPENDIX_B_ITEMS
        for ref, row in rows.items():
            listed = {Component[name] for name in row["components"].split(";") if name != "HEADEND"}
            assert by_ref(ref).components == listed, ref


def _words(text: str) -> str:
    return re.sub(r"[^a-z0-9%']+", " ", text.lower()).strip()

"""The IHD's own 'contact the service centre' message when it has lost every meter (12.7.3)."""

from __future__ import annotations

import pytest

from devices.ihd.comms_watch import local_message, next_change_s
from devices.ihd.meter_view import LOST_AFTER_FAILURES, Fuel, MeterLink
from firmware.rig import CommsLossRules

RULES = CommsLossRules(ihd_contact_after_s=600, service_number="0800 2")


def link(fuel: Fuel, heard_s: float | None, lost: bool) -> MeterLink:
    return MeterLink(
        fuel,
        nwk=0x1234,
        endpoint=1,
        mirrored=False,
        formatting={},
        failures=LOST_AFTER_FAILURES if lost else 0,
        heard_s=heard_s,
    )


@pytest.mark.req("12.7.3")
@pytest.mark.parametrize(
    ("links", "now", "shown"),
    [
        ([], 10_000, ""),  # no meter found yet: nothing lost
        ([link(Fuel.ELECTRICITY, 100, True)], 699, ""),
        ([link(Fuel.ELECTRICITY, 100, True)], 700, RULES.contact_message),
        # one meter still answers: the HAN is there, the hub tells of the other one
        ([link(Fuel.ELECTRICITY, 100, True), link(Fuel.GAS, 650, False)], 5_000, ""),
        # counted from the last meter heard
        ([link(Fuel.ELECTRICITY, 100, True), link(Fuel.GAS, 300, True)], 899, ""),
        (
            [link(Fuel.ELECTRICITY, 100, True), link(Fuel.GAS, 300, True)],
            900,
            RULES.contact_message,
        ),
    ],
)
def test_contact_message_after_every_meter_was_lost_long_enough(
    links: list[MeterLink], now: float, shown: str
) -> None:
    assert local_message(RULES, links, now) == shown
    assert len(RULES.contact_message) <= 32


@pytest.mark.req("12.7.3")
@pytest.mark.parametrize(
    ("links", "now", "due"),
    [
        ([], 10_000, None),  # only a meter found and lost can bring the message
        ([link(Fuel.ELECTRICITY, 100, False)], 650, None),  # answering: only its loss can
        ([link(Fuel.ELECTRICITY, 100, True)], 650, 50),  # the instant the period runs out
        ([link(Fuel.ELECTRICITY, 100, True), link(Fuel.GAS, 300, True)], 650, 250),
        ([link(Fuel.ELECTRICITY, 100, True)], 700, None),  # shown: only an answer clears it
        ([link(Fuel.ELECTRICITY, None, True)], 700, None),  # never heard: never shown
    ],
)
def test_the_watch_wakes_at_the_instant_the_message_is_due(
    links: list[MeterLink], now: float, due: float | None
) -> None:
    assert next_change_s(RULES, links, now) == due
    if due is not None:  # nothing shown until then, shown from then on
        assert local_message(RULES, links, now + due - 0.001) == ""
        assert local_message(RULES, links, now + due) == RULES.contact_message

"""The IHD's own 'contact the service centre' message when it has lost every meter (12.7.3)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.ihd.comms_watch import contact_watch
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
    assert contact_watch(RULES, links, now)[0] == shown
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
    assert contact_watch(RULES, links, now)[1] == due
    if due is not None:  # nothing shown until then, shown from then on
        assert contact_watch(RULES, links, now + due - 0.001)[0] == ""
        assert contact_watch(RULES, links, now + due)[0] == RULES.contact_message


@pytest.mark.req("12.7.3")
@given(
    heard=st.floats(0, 1e9, allow_nan=False),
    after=st.floats(*CommsLossRules.PERIOD_RANGE_S),
    now=st.floats(0, 2e9, allow_nan=False),
)
def test_the_message_and_its_timer_never_disagree(heard: float, after: float, now: float) -> None:
    """Not shown means a timer to wake on; and a clock moved by that timer shows it, even
    where `now - heard` rounds an ulp short of the period (the watch would wait for ever)."""
    rules = CommsLossRules(ihd_contact_after_s=after)
    links = [link(Fuel.ELECTRICITY, heard, True)]
    for at in (now, heard + after):
        shown, due = contact_watch(rules, links, at)
        assert (shown == "") == (due is not None)
        if due is not None:
            assert due > 0
            assert contact_watch(rules, links, at + due) == (rules.contact_message, None)

"""The IHD's own 'contact the service centre' message when it has lost every meter (12.7.3)."""

from __future__ import annotations

import pytest

from devices.ihd.comms_watch import local_message
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

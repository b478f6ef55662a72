"""The hub's loss-of-communications rules (`hub.loss_of_comms`, clauses 12.7.3 and 12.7.5) on a
manual clock: what is logged and what the IHD is told, and when."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from firmware.rig import CommsLossRules
from hal.emulated.clock import ManualClock
from hal.emulated.modem import EmulatedModem
from hal.real.sqlite_store import SqliteStore
from hub.loss_of_comms import LossOfComms
from protocol.errors import ConfigError, SmartMeterError
from protocol.event_codes import EventCode

RULES = CommsLossRules(
    wan_alert_after_s=60, ihd_failed_after_s=300, ihd_contact_after_s=900, service_number="0800 1"
)


class Wan:
    """Just what the rules look at: whether the link is up."""

    connected = True


class Harness:
    def __init__(
        self,
        modem: EmulatedModem | None = None,
        store: SqliteStore | None = None,
        clock: ManualClock | None = None,
    ) -> None:
        self.clock = clock or ManualClock()
        self.wan = Wan()
        self.events: list[tuple[EventCode, dict[str, Any]]] = []
        self.ihd: list[str] = []
        self.ihd_away = False
        self.long_losses = 0
        self.rules = LossOfComms(
            RULES, self.clock, self.wan, modem, self.record, self.show, self.long_loss, store
        )

    def record(self, code: EventCode, detail: dict[str, Any]) -> None:
        self.events.append((code, detail))
        self.rules.observe(code, detail)

    async def show(self, text: str) -> None:
        if self.ihd_away:
            raise SmartMeterError("ihd has not joined the HAN")
        self.ihd.append(text)

    def long_loss(self) -> None:
        self.long_losses += 1

    async def at(self, seconds: float) -> None:
        """Advance the clock by `seconds` and let the rules look."""
        self.clock.advance(seconds)
        await self.rules.tick()

    def codes(self) -> list[EventCode]:
        return [code for code, _ in self.events]


async def test_wan_loss_is_logged_after_its_period_and_its_end_after_return() -> None:
    h = Harness()
    await h.at(0)
    h.wan.connected = False
    await h.at(0)
    await h.at(59)
    assert h.codes() == []
    await h.at(1)
    assert h.codes() == [EventCode.COMMUNICATION_ERROR_WAN]
    assert h.events[0][1]["cause"] == "broker unreachable"
    assert h.long_losses == 1  # the prepayment hook (12.7.5.b/c) heard it once
    await h.at(100)
    assert h.codes() == [EventCode.COMMUNICATION_ERROR_WAN]
    h.wan.connected = True
    await h.at(1)
    assert h.codes() == [EventCode.COMMUNICATION_ERROR_WAN, EventCode.COMMUNICATION_OK_WAN]


async def test_a_short_blip_logs_nothing() -> None:
    h = Harness()
    await h.at(0)
    h.wan.connected = False
    await h.at(30)
    h.wan.connected = True
    await h.at(1)
    assert h.codes() == [] and h.ihd == []


async def test_a_hub_that_never_connected_is_starting_not_lost() -> None:
    h = Harness()
    h.wan.connected = False
    await h.at(0)
    await h.at(10_000)
    assert h.codes() == []


@pytest.mark.req("6.1.6")
async def test_a_detached_bearer_is_named_as_the_cause() -> None:
    modem = EmulatedModem("apn")
    h = Harness(modem)
    await h.at(0)
    modem.set(registration=0)
    h.wan.connected = False
    await h.at(0)
    await h.at(60)
    assert h.events == [
        (EventCode.COMMUNICATION_ERROR_WAN, {"cause": "bearer detached", "lost_for_s": 60.0})
    ]


async def test_the_ihd_is_told_after_each_period_and_cleared_on_return() -> None:
    h = Harness()
    await h.at(0)
    h.wan.connected = False
    await h.at(0)
    await h.at(299)
    assert h.ihd == []
    await h.at(1)
    assert h.ihd == [CommsLossRules.FAILED_MESSAGE]
    await h.at(600)
    contact = RULES.contact_message
    assert h.ihd == [CommsLossRules.FAILED_MESSAGE, contact]
    assert len(contact) <= 32  # one Messaging message
    h.wan.connected = True
    await h.at(1)
    assert h.ihd == [CommsLossRules.FAILED_MESSAGE, contact, ""]


@pytest.mark.req("12.7.3")
async def test_han_loss_leads_to_the_contact_message_and_its_return_clears_it() -> None:
    h = Harness()
    await h.at(0)
    h.record(EventCode.COMMUNICATION_ERROR_HAN, {"device": "esme", "detail": "does not answer"})
    await h.at(899)
    assert h.ihd == []  # a HAN loss alone never says 'failed to re-establish' (that is the WAN's)
    await h.at(1)
    assert h.ihd == [RULES.contact_message]
    assert h.rules.report()["han_lost"] == {"esme": 900.0}
    h.record(EventCode.COMMUNICATION_OK_HAN, {"device": "esme", "detail": "heard again"})
    await h.at(1)
    assert h.ihd[-1] == ""


async def test_an_ihd_that_is_away_is_told_when_it_is_back() -> None:
    h = Harness()
    await h.at(0)
    h.wan.connected = False
    h.ihd_away = True
    await h.at(0)
    await h.at(300)
    assert h.ihd == [] and h.rules.shown == ""
    h.ihd_away = False
    await h.at(1)
    assert h.ihd == [CommsLossRules.FAILED_MESSAGE]


async def test_a_hub_restarted_during_an_outage_counts_from_when_it_began(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.sqlite")
    try:
        first = Harness(store=store)
        await first.at(0)
        first.wan.connected = False
        await first.at(0)
        await first.at(250)
        first.record(EventCode.COMMUNICATION_ERROR_HAN, {"device": "gsme"})
        assert first.codes()[-2:] == [
            EventCode.COMMUNICATION_ERROR_WAN,
            EventCode.COMMUNICATION_ERROR_HAN,
        ]
        # The hub restarts (same store, same clock): the outage goes on.
        again = Harness(store=store, clock=first.clock)
        again.wan.connected = False
        await again.at(50)
        assert again.codes() == []  # the alert was logged before the restart, not again
        assert again.ihd == [
            CommsLossRules.FAILED_MESSAGE
        ]  # 300 s since the WAN went, restart or not
        assert again.rules.report()["han_lost"] == {"gsme": 50.0}
        again.wan.connected = True
        again.record(EventCode.COMMUNICATION_OK_HAN, {"device": "gsme"})
        await again.at(1)
        assert again.codes()[-1] == EventCode.COMMUNICATION_OK_WAN
        assert again.ihd[-1] == ""
    finally:
        store.close()


@pytest.mark.req("12.7.6")
async def test_rules_changed_remotely_or_locally_hold_across_a_restart(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "hub.sqlite")
    try:
        first = Harness(store=store)
        changed = first.rules.set_rules({"wan_alert_after_s": 5, "service_number": "0800 9"})
        assert (changed.wan_alert_after_s, changed.service_number) == (5, "0800 9")
        for bad in ({"wan_alert_after_s": 0}, {"service_number": "9" * 17}, {"colour": "red"}):
            with pytest.raises(ConfigError):
                first.rules.set_rules(bad)
        assert first.rules.rules == changed  # a refused change changes nothing
        again = Harness(store=store, clock=first.clock)
        assert again.rules.rules == changed
        await again.at(0)
        again.wan.connected = False
        await again.at(0)
        await again.at(5)
        assert again.codes() == [EventCode.COMMUNICATION_ERROR_WAN]
    finally:
        store.close()

"""Event treatment on the hub (hub/event_treatment.py, hub/hub_events.py, hub/hub_config.py):
per class and per code, with validity windows, set remotely or locally; power-loss and tamper
events always at once; every event logged with its module (clauses 18.1, 18.3, 18.6-18.8, 18.12,
12.2)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from firmware.event_log import EventLog
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from hub.event_treatment import EventClass, Rule, Treatment, Treatments
from hub.hub_config import ConfigRefused, HubConfig
from hub.hub_events import HubEvents
from hub.outbox import Outbox
from protocol.event_codes import EventCode
from protocol.wan import UplinkKind
from tests.hub.loopback_wan import LoopbackWan

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.mark.req("18.7", "18.8", "18.12")
def test_a_valid_code_rule_wins_then_the_class_rule_then_the_default() -> None:
    treatments = Treatments(
        by_code={EventCode.DST_ENABLED: Rule(Treatment.LOG_ONLY, NOW - DAY, NOW + DAY)},
        by_class={EventClass.LOW: Rule(Treatment.SEND_NOW, None, NOW - DAY)},
        class_of={EventCode.PROFILE_CLEARED: EventClass.HIGH},
    )
    assert treatments.treatment(EventCode.DST_ENABLED, NOW) is Treatment.LOG_ONLY
    # Outside the code rule's window, the class rule has expired too: the default for low.
    assert treatments.treatment(EventCode.DST_ENABLED, NOW + 2 * DAY) is Treatment.NEXT_EXCHANGE
    assert treatments.treatment(EventCode.DST_ENABLED, NOW - 2 * DAY) is Treatment.SEND_NOW
    assert treatments.event_class(EventCode.PROFILE_CLEARED) is EventClass.HIGH
    assert treatments.treatment(EventCode.PROFILE_CLEARED, NOW) is Treatment.SEND_NOW


@pytest.mark.req("18.6")
@pytest.mark.parametrize(
    "code", [EventCode.POWER_DOWN, EventCode.METER_COVER_REMOVED, EventCode.SIM_REMOVED]
)
def test_power_loss_and_tamper_events_go_at_once_whatever_is_configured(code: EventCode) -> None:
    log_only = Rule(Treatment.LOG_ONLY)
    treatments = Treatments({code: log_only}, dict.fromkeys(EventClass, log_only), {})
    assert treatments.treatment(code, NOW) is Treatment.SEND_NOW


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubEvents, HubConfig, Outbox]]:
    store = SqliteStore(tmp_path / "hub.sqlite")
    clock = ManualClock(NOW)
    outbox = Outbox(store, LoopbackWan(tmp_path / "headend.sqlite"), clock)
    config = HubConfig(store, clock, outbox, {"esme"})
    yield HubEvents(EventLog(store, clock, "hub"), store, clock, outbox, config), config, outbox
    store.close()


@pytest.mark.req("18.1", "18.3", "18.8", "12.2")
def test_each_event_is_logged_with_its_module_and_treated_as_configured(
    hub: tuple[HubEvents, HubConfig, Outbox],
) -> None:
    events, config, outbox = hub
    config.set("events.class.low", "log_only", by="local")
    config.set(f"events.code.{int(EventCode.DEVICE_JOINED)}", "next_exchange", by="head-end")
    events.record(EventCode.DST_ENABLED)  # low: log only
    events.record(EventCode.DEVICE_JOINED, {"device": "esme"})  # its own rule: next exchange
    events.record(EventCode.COMMUNICATION_ERROR_WAN)  # medium: send now by default
    assert events.log.count() == 3
    assert [r.module for r in reversed(events.log.recent())] == ["core", "han", "wan"]
    sent = outbox.pending("hub")
    assert [m.kind for m in sent] == [
        UplinkKind.CONFIG_CHANGE,
        UplinkKind.CONFIG_CHANGE,
        UplinkKind.ALERT,
    ]
    assert sent[2].event().module == "wan" and sent[2].event().source == "hub"
    assert sent[0].body["by"] == "local" and sent[1].body["by"] == "head-end"
    assert outbox.held_count() == 1


@pytest.mark.req("12.1.o", "19.1.7")
def test_settings_are_validated_naming_the_key(hub: tuple[HubEvents, HubConfig, Outbox]) -> None:
    _events, config, _outbox = hub
    with pytest.raises(ConfigRefused, match=r"outbox\.retry_count must be a whole number"):
        config.set("outbox.retry_count", -1, by="local")
    with pytest.raises(ConfigRefused, match="no device 'gsme'"):
        config.set("push.gsme.interval_s", 60, by="local")
    with pytest.raises(ConfigRefused, match="'until' must be after 'from'"):
        config.set(
            "events.class.high",
            {"treatment": "log_only", "from": "2026-02-01T00:00Z", "until": "2026-01-01T00:00Z"},
            by="local",
        )
    config.set("outbox.retry_interval_s", 5, by="local")
    config.set("outbox.retry_count", 3, by="local")
    assert (config.retry_policy().interval_s, config.retry_policy().count) == (5.0, 3)

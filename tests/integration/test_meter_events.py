"""A meter's own events reach the head-end through real processes (issue 10): raised on a
running meter through its bench port, published over the emulated HAN (SE Events PublishEvent),
stored in the hub's durable outbox, sealed to the supplier that owns the meter and kept by the
head-end with the meter as their source; and exactly once, in order, when the hub, the broker
and the meter are killed with SIGKILL while events are on their way."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig, load_rig
from hal.control_socket import ControlError, request_sync
from tests.integration.tariff_rig import smartmeter
from tests.integration.wan_delivery import headend_rows
from tests.waiting import wait_until
from tests.wan_probe import two_supplier_rig
from tools.headend import client
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(400)]
HEADEND = "headend"
ROOT = Path(__file__).resolve().parents[2]
#: Appendix B.6.5 / B.6.6 / B.6.3: what the meters' tamper inputs log.
METER_COVER_REMOVED, METER_COVER_CLOSED, STRONG_FIELD = 605, 606, 603


@pytest.fixture
def premises(tmp_path: Path) -> Iterator[tuple[Rig, RigLauncher]]:
    rig = load_rig(two_supplier_rig(tmp_path))
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        launcher.wait_joined(120)
        yield rig, launcher
    finally:
        launcher.stop()


def tamper(rig: Rig, meter: str, what: str, active: bool) -> dict[str, Any] | None:
    """Work a tamper input of a meter from the bench: the meter's reply once the input is as
    asked (`changed`: whether this call changed it), else None."""
    reply: dict[str, Any] = request_sync(
        rig.control_path(meter), "tamper", 10, input=what, active=active
    )
    return reply if reply["active"] is active else None


def headend_events(rig: Rig, source: str) -> list[dict[str, Any]]:
    found = [e for e in client.events(rig.control_path(HEADEND), 1000) if e["source"] == source]
    return found


def meter_log(rig: Rig, meter: str) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = request_sync(rig.control_path(meter), "events", 10, limit=1000)[
        "events"
    ]
    return sorted(events, key=lambda e: int(e["seq"]))


@pytest.mark.req("18.6", "18.3", "6.4.6", "6.1.4")
def test_a_tamper_on_a_meter_reaches_its_supplier_at_once_with_the_meter_as_source(
    premises: tuple[Rig, RigLauncher],
) -> None:
    rig, _launcher = premises
    control = rig.control_path(HEADEND)
    assert smartmeter(rig, "bench", "esme", "tamper", "meter_cover", "on")["active"] is True
    assert tamper(rig, "gsme", "magnetic_field", True) is not None

    def arrived(source: str, code: int) -> dict[str, Any] | None:
        return next((e for e in headend_events(rig, source) if e["code"] == code), None)

    cover = wait_until(
        lambda: arrived("esme", METER_COVER_REMOVED), 60, "the ESME's tamper at the head-end"
    )
    field = wait_until(lambda: arrived("gsme", STRONG_FIELD), 60, "the GSME's at the head-end")
    # 18.6: a tamper goes at once (an alert), whatever the treatment of its class says.
    assert cover["kind"] == "alert" and field["kind"] == "alert"
    # 18.3, 6.4.6: the originating component and its module; the meter's own sequence number.
    assert cover["module"] == "tamper" and cover["detail"] == {"input": "meter_cover"}
    logged = next(e for e in meter_log(rig, "esme") if e["code"] == METER_COVER_REMOVED)
    assert cover["seq"] == logged["seq"] and cover["utc"][:19] == logged["utc"][:19]
    # 6.1.4: each meter's events are its own supplier's, never the other's.
    assert cover["supplier"] == "alpha" and field["supplier"] == "beta"
    alpha = client.alerts(control, 1000, "alpha")
    beta = client.alerts(control, 1000, "beta")
    assert all(a["source"] != "gsme" for a in alpha), "gas events went to the electricity supplier"
    assert all(a["source"] != "esme" for a in beta), "electricity events went to the gas supplier"
    assert any(a["source"] == "esme" and a["code"] == METER_COVER_REMOVED for a in alpha)
    # What an operator sees: `smartmeter headend alerts --supplier alpha`.
    shown = smartmeter(rig, "headend", "alerts", "--supplier", "alpha", "--limit", "200")
    assert any(a["source"] == "esme" and a["title"] == "Meter cover removed" for a in shown)
    assert all(a["source"] != "gsme" for a in shown)


@pytest.mark.req("18.6", "19.1.6")
def test_meter_events_arrive_once_and_in_order_through_kill_9_of_hub_broker_and_meter(
    premises: tuple[Rig, RigLauncher],
) -> None:
    rig, launcher = premises
    hub = launcher.children[rig.hub.name].process
    # Every event of the meter goes at once, so the head-end must end with the whole log.
    request_sync(
        rig.control_path(rig.hub.name), "config", 10, key="events.class.low", value="send_now"
    )
    cover = Cover(rig, is_open=False)
    wait_until(lambda: settled(rig), 120, "the meter's first events at the head-end")
    meter_log_file = rig.run_dir / "logs" / "esme.log"

    def retries() -> int:
        return meter_log_file.read_text().count("not taken by the hub yet")

    # The hub frozen, then killed, between the meter's PublishEvent and its answer.
    hub.send_signal(signal.SIGSTOP)
    before = retries()
    cover.toggle(3)
    wait_until(lambda: retries() > before, 60, "the meter publishing to a hub that never answers")
    hub.send_signal(signal.SIGKILL)
    hub.wait(10)
    hub = launcher.restart(rig.hub.name).process
    launcher.wait_joined(120)
    wait_until(lambda: settled(rig), 120, "the events published to the killed hub, at the head-end")

    # The hub frozen while the meter publishes again and again, then thawed: it hears the same
    # event more than once and must keep it once.
    hub.send_signal(signal.SIGSTOP)
    before = retries()
    cover.toggle(1)
    wait_until(lambda: retries() > before + 1, 60, "the meter publishing the same event again")
    hub.send_signal(signal.SIGCONT)
    wait_until(lambda: settled(rig), 120, "the event published thrice, at the head-end")

    # The broker killed while the hub passes the events on: the outbox keeps them until acked.
    cover.toggle(2)
    broker = launcher.children["broker"].process
    broker.send_signal(signal.SIGKILL)
    broker.wait(10)
    cover.toggle(2)
    launcher.restart("broker")
    wait_until(lambda: settled(rig), 120, "the events raised while the broker was down")

    # The meter killed as soon as it raised its events: what it logged is sent after its restart.
    cover.toggle(3)
    meter = launcher.children["esme"].process
    meter.send_signal(signal.SIGKILL)
    meter.wait(10)
    launcher.restart("esme")
    launcher.wait_joined(120)
    logged = wait_until(lambda: settled(rig), 120, "every event of the meter's log at the head-end")

    arrived = headend_rows(
        rig.store_path(HEADEND).parent,
        "SELECT body FROM uplinks WHERE source = 'esme' AND kind IN ('alert', 'event') ORDER BY id",
    )
    seqs = [int(json.loads(body)["seq"]) for (body,) in arrived]
    assert seqs == sorted(set(seqs)), f"twice or out of order: {seqs}"
    assert seqs == [int(e["seq"]) for e in logged]
    assert sum(e["code"] in (METER_COVER_REMOVED, METER_COVER_CLOSED) for e in logged) >= 5


class Cover:
    """The ESME's meter cover as one test works it: its state is the test's own, set before it
    is toggled, so nothing carries over from another test."""

    def __init__(self, rig: Rig, is_open: bool) -> None:
        self.rig, self.open = rig, is_open
        self._set(is_open)

    def _set(self, is_open: bool) -> bool:
        """Put the cover in `is_open`; whether that changed it (an event was raised)."""
        reply = wait_until(
            lambda: tamper(self.rig, "esme", "meter_cover", is_open),
            60,
            "the meter's bench port",
            ignore=(ControlError, OSError),
        )
        self.open = is_open
        return bool(reply["changed"])

    def toggle(self, times: int) -> None:
        """Open or close the cover `times` times: one tamper event each."""
        for _ in range(times):
            # A request retried after a lost reply finds the cover already moved: still one.
            self._set(not self.open)


def settled(rig: Rig) -> list[dict[str, Any]] | None:
    """The meter's log, once the head-end holds every event of it."""
    try:
        logged = meter_log(rig, "esme")
        arrived = {int(e["seq"]) for e in headend_events(rig, "esme")}
    except (ControlError, OSError):
        return None
    return logged if {int(e["seq"]) for e in logged} <= arrived else None

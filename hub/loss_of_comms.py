"""Loss-of-communications rules of the comms hub (clauses 12.7.1-12.7.6).

- The HAN keeps running whatever the WAN does (12.7.1): nothing here stops it; this module only
  watches the WAN link (down when the bearer detaches or the broker is unreachable) and the
  HAN presence events (`hub.han.presence` logs B.7.1 at once when a device stops answering,
  12.7.5.a.2, and the event uplink sends it straight away).
- WAN lost for `wan_alert_after_s`: the WAN-loss alert (B.7.3) is logged; logged events go up
  when the WAN returns (12.7.5.a.1.ii), followed by B.7.4 when it is back.
- WAN lost for `ihd_failed_after_s`: the IHD shows 'failed to re-establish communication'
  (12.7.5.a.1.i); any communication (WAN, or a device on the HAN) lost for
  `ihd_contact_after_s`: it shows 'contact the service centre' with the number (12.7.3). The
  message is cleared when everything is back.
- The periods are the rig file's `[hub.comms_loss]` (`firmware.rig.CommsLossRules`) until
  changed remotely or locally (12.7.6, `set_rules`, kept in the hub's store across restarts;
  `hub.comms_loss_settings` takes the head-end's command and the bench's).
- 12.7.5.b/c (a credit meter switching to PAYG after a further delay) belongs to prepayment:
  `on_long_loss` is called once per loss when the WAN has been lost past `wan_alert_after_s`,
  for the prepayment rules to hook into.

Periods are in seconds of the hub's clock, so a rig on a fast simulated clock runs them fast.
Only a WAN that was up once can be lost: a hub still making its first connection is starting.
What the rules know (since when each link is lost, whether the alert was logged, what the IHD
shows) is kept in the hub's store in one transaction per change, so a hub restarted during an
outage carries on counting from when it began and clears the IHD's message when it ends.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from firmware.clock_waits import sleep_real
from firmware.rig import CommsLossRules
from hal.modem import Modem
from hal.ports import Clock, NonVolatileStore
from protocol.errors import ConfigError, SmartMeterError
from protocol.event_codes import EventCode

__all__ = ["LossOfComms"]

LOGGER = logging.getLogger(__name__)
#: Real seconds between two looks at the links.
TICK_S = 0.5
_NAMESPACE = "comms_loss"

RecordEvent = Callable[[EventCode, dict[str, Any]], None]


class LinkUp(Protocol):
    """All the rules need of the WAN link (`hal.wan.WanLink` has it)."""

    @property
    def connected(self) -> bool: ...


ShowOnIhd = Callable[[str], Awaitable[None]]


class LossOfComms:
    """Watches the WAN and the HAN and applies the 12.7 rules."""

    def __init__(
        self,
        rules: CommsLossRules,
        clock: Clock,
        wan: LinkUp,
        modem: Modem | None,
        record: RecordEvent,
        show_on_ihd: ShowOnIhd,
        on_long_loss: Callable[[], None] | None = None,
        store: NonVolatileStore | None = None,
    ) -> None:
        self.rules = rules
        self._clock, self._wan, self._modem = clock, wan, modem
        self._record, self._show, self._on_long_loss = record, show_on_ihd, on_long_loss
        self._store = store
        self._wan_seen_up = False
        self._wan_lost_at: float | None = None
        self._wan_alerted = False
        #: Devices not answering on the HAN, and since when (clock-monotonic).
        self.han_lost: dict[str, float] = {}
        self.shown: str = ""
        self._restore()

    # -- persistence: instants in UTC in the store, clock-monotonic in memory -------------------

    def _to_mono(self, text: str) -> float:
        ago = (self._clock.now() - datetime.fromisoformat(text)).total_seconds()
        return self._clock.monotonic() - max(0.0, ago)

    def _to_utc(self, mono: float) -> str:
        return (self._clock.now() - timedelta(seconds=self._clock.monotonic() - mono)).isoformat()

    def _restore(self) -> None:
        if self._store is None:
            return
        saved = self._store.items(_NAMESPACE)
        self._wan_seen_up = bool(saved.get("wan_seen_up", False))
        lost = saved.get("wan_lost_utc")
        self._wan_lost_at = None if lost is None else self._to_mono(str(lost))
        self._wan_alerted = bool(saved.get("wan_alerted", False))
        if isinstance(rules := saved.get("rules"), dict):
            try:
                self.rules = CommsLossRules(**rules)
            except (ConfigError, TypeError) as exc:  # a store from another version
                LOGGER.warning("saved comms-loss rules ignored: %s", exc)
        han = saved.get("han_lost", {})
        self.han_lost = {str(k): self._to_mono(str(v)) for k, v in dict(han).items()}
        self.shown = str(saved.get("ihd_message", ""))

    def _save(self) -> None:
        if self._store is None:
            return
        lost = None if self._wan_lost_at is None else self._to_utc(self._wan_lost_at)
        values = {
            "wan_seen_up": self._wan_seen_up,
            "wan_lost_utc": lost,
            "wan_alerted": self._wan_alerted,
            "han_lost": {name: self._to_utc(since) for name, since in self.han_lost.items()},
            "ihd_message": self.shown,
        }
        with self._store.transaction() as tx:
            for key, value in values.items():
                self._store.put(_NAMESPACE, key, value, tx=tx)

    def set_rules(self, changes: Mapping[str, Any]) -> CommsLossRules:
        """Change some of the rules (12.7.6), kept across restarts; ConfigError (nothing
        changed) for an unknown key or a value out of range."""
        known = {field.name for field in dataclasses.fields(CommsLossRules)}
        if unknown := sorted(set(changes) - known):
            raise ConfigError(f"no comms-loss rule {', '.join(unknown)}; known: {sorted(known)}")
        rules = dataclasses.replace(self.rules, **changes)
        if self._store is not None:
            self._store.put(_NAMESPACE, "rules", rules.as_dict())
        self.rules = rules
        LOGGER.info("comms-loss rules now %s", rules)
        return rules

    def observe(self, code: EventCode, detail: dict[str, Any]) -> None:
        """Every event the hub logs passes here: HAN loss and return of a device."""
        device = detail.get("device")
        if not isinstance(device, str):
            return
        if code is EventCode.COMMUNICATION_ERROR_HAN and device not in self.han_lost:
            self.han_lost[device] = self._clock.monotonic()
            self._save()
        elif code is EventCode.COMMUNICATION_OK_HAN and device in self.han_lost:
            del self.han_lost[device]
            self._save()

    def report(self) -> dict[str, Any]:
        """For the hub's status: what is lost, for how long, and what the IHD was told."""
        now = self._clock.monotonic()
        lost = None if self._wan_lost_at is None else round(now - self._wan_lost_at, 1)
        return {
            "wan_lost_for_s": lost,
            "wan_alert_logged": self._wan_alerted,
            "han_lost": {name: round(now - since, 1) for name, since in self.han_lost.items()},
            "ihd_message": self.shown,
        }

    async def run(self) -> None:
        """Apply the rules until cancelled."""
        while True:
            await self.tick()
            await sleep_real(self._clock, TICK_S)

    async def tick(self) -> None:
        now = self._clock.monotonic()
        self._follow_wan(now)
        await self._update_ihd(now)

    def _cause(self) -> str:
        if self._modem is not None and not self._modem.state().attached:
            return "bearer detached"
        return "broker unreachable"

    def _follow_wan(self, now: float) -> None:
        if self._wan.connected:
            if self._wan_alerted:
                lost_for = now - (self._wan_lost_at or now)
                self._record(EventCode.COMMUNICATION_OK_WAN, {"lost_for_s": round(lost_for, 1)})
            if (self._wan_seen_up, self._wan_lost_at, self._wan_alerted) != (True, None, False):
                self._wan_seen_up, self._wan_lost_at, self._wan_alerted = True, None, False
                self._save()
            return
        if not self._wan_seen_up:
            return
        if self._wan_lost_at is None:
            self._wan_lost_at = now
            self._save()
            LOGGER.warning("WAN lost (%s)", self._cause())
        lost_for = now - self._wan_lost_at
        if not self._wan_alerted and lost_for >= self.rules.wan_alert_after_s:
            self._wan_alerted = True
            # Logged now, sent by the event uplink when the WAN is back (12.7.5.a.1.ii).
            detail = {"cause": self._cause(), "lost_for_s": round(lost_for, 1)}
            self._record(EventCode.COMMUNICATION_ERROR_WAN, detail)
            self._save()
            if self._on_long_loss is not None:
                self._on_long_loss()  # 12.7.5.b/c: the prepayment rules' hook

    def _wanted_message(self, now: float) -> str:
        starts = list(self.han_lost.values())
        if self._wan_lost_at is not None:
            starts.append(self._wan_lost_at)
        if starts and now - min(starts) >= self.rules.ihd_contact_after_s:
            return self.rules.contact_message
        if (
            self._wan_lost_at is not None
            and now - self._wan_lost_at >= self.rules.ihd_failed_after_s
        ):
            return self.rules.FAILED_MESSAGE
        return ""

    async def _update_ihd(self, now: float) -> None:
        wanted = self._wanted_message(now)
        if wanted == self.shown:
            return
        try:
            await self._show(wanted)
        except SmartMeterError as exc:  # the IHD is away too: try again at the next tick
            LOGGER.info("IHD not told %r yet: %s", wanted, exc)
            return
        self.shown = wanted
        self._save()

"""The hub's events: logged, then treated as configured (clauses 18.1, 18.2, 18.6, 18.8).

One transaction per event: its entry in the hub's event log (naming the hub's module that
raised it, 18.3 / 6.4.6) and, as its treatment says (`hub.event_treatment`), an alert in the
outbox to go at once, a message held for the next scheduled exchange, or nothing more (log
only). The log itself is never cleared by decommissioning or a change of supplier (18.5): only
'Event log cleared' by authorised personnel removes entries.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from firmware.event_log import EventLog, EventRecord
from hal.ports import Clock, NonVolatileStore
from protocol.event_codes import EventCode
from protocol.wan import UplinkKind

from .event_treatment import Treatment, module_of
from .hub_config import HubConfig
from .outbox import Outbox

__all__ = ["HubEvents"]


class HubEvents:
    def __init__(
        self,
        log: EventLog,
        store: NonVolatileStore,
        clock: Clock,
        outbox: Outbox,
        config: HubConfig,
    ) -> None:
        self.log, self._store, self._clock = log, store, clock
        self._outbox, self._config = outbox, config

    def record(self, code: EventCode, detail: Mapping[str, Any] | None = None) -> EventRecord:
        """Log `code` and treat it; returns the log entry."""
        treatment = self._config.treatments().treatment(code, self._clock.now())
        with self._store.transaction() as tx:
            record = self.log.record(code, detail, tx, module=module_of(code))
            body = record.report().to_dict()
            if treatment is Treatment.SEND_NOW:
                self._outbox.enqueue(self.log.component, UplinkKind.ALERT, body, tx)
            elif treatment is Treatment.NEXT_EXCHANGE:
                self._outbox.hold(self.log.component, UplinkKind.EVENT, body, tx)
        return record

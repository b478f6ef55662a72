"""The head-end's tariff commands as the meter carries them out (the tunnel's `Dispatch`).

Each command arrives through the Tunneling server (`tunnel_server`) as a name and a JSON object
(`protocol.wan.CommandType`), is validated here with our own errors (`CommandRefused`, whose
text goes back to the head-end), applied to the meter's tariff, saved in the same transaction as
the registers and logged as an event, all before the answer leaves:

| command              | arguments                                        | clauses            |
|----------------------|--------------------------------------------------|--------------------|
| `set_tariff`         | {"tariff": document, "effective_from"?: ISO}     | 16.7, 16.2         |
| `cancel_tariff`      | {}                                               | 16.7               |
| `schedule_cpp`       | {"cpp": CPP document}                            | 16.11              |
| `set_gas_conversion` | {"cv"?: "39.5", "ptz"?: "1.02264"} (gas meter)   | 13.2, 16.17, 12.1.aa |
| `read_tariff`        | {}                                               | 16.3, 16.8, 14.4   |
| `read_profile`       | {"from": ISO, "to": ISO}                         | 16.15, 12.4        |
| `tariff_items`       | {"action": "read"|"update"|"suppress", "item"?, "value"?, "suppressed"?} | 12.1.a-e, q, aa |

The tariff items are parts of the tariff document: `structure` (12.1.a: the structure and its
switch entries), `rates` (12.1.b: the unit prices), `tiers` (12.1.c: the 8x8 tiers and
thresholds), `pricing` (12.1.d: standing charge, currency), `block_period` (12.1.e, 16.19),
`currency` (12.1.q: the conversion rate and its switch-over time) and `conversion` (12.1.aa: CV
and PTZ). An update is a new passive tariff (the active one with the item changed) that takes
effect at once or at "effective_from"; a suppressed item is no longer shown on the meter's
display or the IHD (the meter stops announcing its price).

The same commands serve the optical port (`optical_tariff`): `dispatch` takes the
`ChangeSource` that asked (the head-end over the WAN by default, or an engineer at the optical
port), and names it in every event it logs. A command is checked in full before anything
changes, so a refusal leaves no trace; a change and its events are then saved in one SQLite
transaction with the tariff and the registers (`save`). A change whose save fails is undone in
memory too (`MeterTariff.checkpoint`): the meter answers with an error and nothing of it
applies, then or at a later save.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from devices.meter.tariff.results import TariffEvent
from hal.ports import NonVolatileStore, Tx
from protocol.errors import DecodeError, LocalProtocolError
from protocol.event_codes import EventCode
from protocol.json_fields import JsonObject
from protocol.tariff import (
    CalorificValue,
    VolumeFactor,
    decode_cpp_event,
    decode_tariff,
    encode_tariff,
)
from protocol.tariff.model import Fuel, Tariff

from .profile_store import MAX_READ
from .tariff_runtime import MeterTariff
from .tunnel_server import CommandRefused

__all__ = [
    "HEAD_END",
    "ITEMS",
    "ChangeSource",
    "Channel",
    "Pending",
    "SaveChange",
    "TariffCommands",
    "Write",
]

#: Tariff items (12.1) and the keys of the tariff document each one is.
ITEMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "structure": ("12.1.a", ("single", "tou", "matrix", "block")),
    "rates": ("12.1.b", ("single", "tou", "matrix", "block")),
    "tiers": ("12.1.c", ("matrix",)),
    "pricing": ("12.1.d", ("standing_charge", "currency", "generation_discount")),
    "block_period": ("12.1.e", ("block",)),
    "currency": ("12.1.q", ("currency_switch",)),
    "conversion": ("12.1.aa", ("gas",)),
}
_NAMESPACE = "meter_tariff"
#: Records an event: code and detail (the firmware's event log, with the registers' save).
Record = Callable[[EventCode, dict[str, Any]], object]
#: An event waiting to be saved, and another record of a change written in its transaction.
Pending = tuple[EventCode, dict[str, Any]]
Write = Callable[[Tx], None]
#: Saves a change's events and writes with the tariff, in one transaction; raises if it cannot.
SaveChange = Callable[[list[Pending], list[Write]], None]


class Channel(enum.Enum):
    """Where a change to the tariff came from (named in its event)."""

    WAN = "wan"  # the head-end, through the hub and the meter's tunnel
    OPTICAL = "optical"  # an engineer's HHT on the optical port, after local authentication


@dataclass(frozen=True)
class ChangeSource:
    """Who asked for a change: the channel and the party (the head-end or an engineer code)."""

    channel: Channel
    who: str

    def detail(self) -> dict[str, str]:
        return {"source": self.channel.value, "by": self.who}


HEAD_END = ChangeSource(Channel.WAN, "head-end")
#: What a command changed, for the firmware to save and announce: ("passive", id) and so on.
Changed = tuple[str, int | None]
_Handler = Callable[[JsonObject, ChangeSource], tuple[JsonObject, Changed | None]]


def _time(args: JsonObject, key: str) -> datetime:
    text = args.get(key)
    if not isinstance(text, str):
        raise CommandRefused(f'"{key}" must be an ISO 8601 date and time with its zone')
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise CommandRefused(f'"{key}" {text!r} is not an ISO 8601 date and time') from None
    if when.tzinfo is None:
        raise CommandRefused(f'"{key}" {text!r} needs its zone (Z or +00:00)')
    return when


class TariffCommands:
    """Carries out the tariff commands on a meter's `MeterTariff`."""

    def __init__(
        self,
        tariff: MeterTariff,
        store: NonVolatileStore,
        now: Callable[[], datetime],
        save: SaveChange,
        changed: Callable[[str, int | None], None],
    ) -> None:
        self._tariff = tariff
        self._store = store
        self._now = now
        #: Saves a change with its events and other records, in one transaction (the
        #: firmware's register transaction); raises if it cannot.
        self._save = save
        #: Tells the firmware what changed ("passive", "cancel", "cpp", "gas", "items") once
        #: saved, so it tells the HAN.
        self._changed = changed
        #: The events of the command being carried out, saved with its change.
        self._events: list[Pending] = []
        self.suppressed: set[str] = set(store.get(_NAMESPACE, "suppressed", []))

    def _record(self, code: EventCode, detail: dict[str, Any]) -> None:
        self._events.append((code, detail))

    def save(self, tx: Tx) -> None:
        """Inside the firmware's save transaction (with the registers and the events): the
        suppressed items, every time, so a save that failed is made good by the next one."""
        self._store.put(_NAMESPACE, "suppressed", sorted(self.suppressed), tx=tx)

    def dispatch(
        self,
        command: str,
        args: JsonObject,
        source: ChangeSource = HEAD_END,
        writes: Sequence[Write] = (),
    ) -> JsonObject:
        """Carry out `command` for `source`, and save the change with its events and `writes`
        (more records of it: the optical port's change log) in one transaction.

        CommandRefused: refused, nothing changed. Any other exception (the save failed): the
        tariff and the suppressed items are put back as they were before the command, so the
        change never applies later (a later save finds nothing of it), nor its records."""
        handler: _Handler | None = {
            "set_tariff": self._set_tariff,
            "cancel_tariff": self._cancel_tariff,
            "schedule_cpp": self._schedule_cpp,
            "set_gas_conversion": self._set_gas,
            "read_tariff": self._read_tariff,
            "read_profile": self._read_profile,
            "tariff_items": self._items,
        }.get(command)
        if handler is None:
            raise CommandRefused(f"the meter does not take {command!r}")
        checkpoint, suppressed = self._tariff.checkpoint(), set(self.suppressed)
        self._events = []
        try:
            result, changed = handler(args, source)
            if changed is not None:
                self._save(self._events, list(writes))
        except BaseException:
            self._tariff.restore(checkpoint)
            self.suppressed = suppressed
            raise
        finally:
            self._events = []
        if changed is not None:
            self._changed(*changed)
        return result

    # -- tariffs ---------------------------------------------------------------------------

    def _checked_tariff(self, args: JsonObject) -> Tariff:
        """The tariff of `args`, checked against this meter; nothing is changed yet."""
        try:
            tariff = decode_tariff(args.get("tariff"))
        except DecodeError as exc:
            raise CommandRefused(str(exc)) from None
        if "effective_from" in args:
            tariff = dataclasses.replace(tariff, effective_from=_time(args, "effective_from"))
        if tariff.fuel is not self._tariff.fuel:
            raise CommandRefused(f"a {tariff.fuel} tariff on a {self._tariff.fuel} meter")
        return tariff

    def _set_tariff(
        self, args: JsonObject, source: ChangeSource
    ) -> tuple[JsonObject, Changed | None]:
        tariff = self._checked_tariff(args)
        try:
            tariff_id = self._tariff.set_passive(tariff)  # the engine refuses before it changes
        except LocalProtocolError as exc:
            raise CommandRefused(str(exc)) from None
        self._record(
            EventCode.PASSIVE_TARIFF_UPDATED,
            {
                "tariff_id": tariff_id,
                "name": tariff.name,
                "effective_from": tariff.effective_from.isoformat(),
                **source.detail(),
            },
        )
        result: JsonObject = {
            "tariff_id": tariff_id,
            "name": tariff.name,
            "structure": tariff.kind.value,
            "effective_from": tariff.effective_from.isoformat(),
        }
        return result, ("passive", tariff_id)

    def _cancel_tariff(
        self, args: JsonObject, source: ChangeSource
    ) -> tuple[JsonObject, Changed | None]:
        if self._tariff.passive_tariff() is None:
            raise CommandRefused("there is no passive tariff to cancel")
        tariff_id = self._tariff.cancel_passive()
        self._record(
            EventCode.PASSIVE_TARIFF_CANCELLED, {"tariff_id": tariff_id, **source.detail()}
        )
        return {"cancelled": tariff_id}, ("cancel", tariff_id)

    def _schedule_cpp(
        self, args: JsonObject, source: ChangeSource
    ) -> tuple[JsonObject, Changed | None]:
        if self._tariff.fuel is not Fuel.ELECTRICITY:
            raise CommandRefused("critical peak pricing is for the electricity meter (16.11)")
        try:
            event = decode_cpp_event(args.get("cpp"), self._now())
        except DecodeError as exc:
            raise CommandRefused(str(exc)) from None
        try:
            self._tariff.add_cpp(event)
        except LocalProtocolError as exc:
            raise CommandRefused(str(exc)) from None
        self._record(
            EventCode.CPP_EVENT_SCHEDULED,
            {
                "id": event.event_id,
                "start": event.start.isoformat(),
                "end": event.end.isoformat(),
                "refusable": event.refusable,
                **source.detail(),
            },
        )
        result: JsonObject = {
            "id": event.event_id,
            "start": event.start.isoformat(),
            "end": event.end.isoformat(),
        }
        return result, ("cpp", None)

    def _set_gas(self, args: JsonObject, source: ChangeSource) -> tuple[JsonObject, Changed | None]:
        if self._tariff.fuel is not Fuel.GAS:
            raise CommandRefused("calorific value and PTZ are set on the gas meter (13.2)")
        try:
            cv = CalorificValue.parse(args["cv"]) if "cv" in args else None
            ptz = VolumeFactor.parse(args["ptz"]) if "ptz" in args else None
        except ValueError as exc:
            raise CommandRefused(f"cv and ptz: {exc}") from None
        if cv is None and ptz is None:
            raise CommandRefused('give "cv" (MJ/m3), "ptz" or both')
        old = self._tariff.gas
        gas = self._tariff.set_gas(cv, ptz)
        self._record(
            EventCode.TARIFF_ITEM_CHANGED,
            {
                "item": "conversion",
                "clause": "12.1.aa",
                "old": None if old is None else f"cv {old.cv} ptz {old.ptz}",
                "new": f"cv {gas.cv} ptz {gas.ptz}",
                **source.detail(),
            },
        )
        return {"cv": str(gas.cv), "ptz": str(gas.ptz)}, ("gas", None)

    # -- reads -----------------------------------------------------------------------------

    def _read_tariff(self, args: JsonObject, source: ChangeSource) -> tuple[JsonObject, None]:
        now = self._now()
        price = self._tariff.price(now)
        active, passive = self._tariff.active_tariff(), self._tariff.passive_tariff()
        registers = self._tariff.registers().document()
        result: JsonObject = {
            "at": now.isoformat(),
            "active": None if active is None else _summary(*active),
            "passive": None if passive is None else _summary(*passive),
            "price": None if price is None else price.document(),
            "billing": {
                "day": registers["billing_day"],
                "of": registers["billing_days"],
                "cost_since_bill": registers["cost_since_bill"],
                "cost_today": registers["cost_today"],
            },
            "registers": registers,
            "cpp_events": [
                {"id": e.event_id, "start": e.start.isoformat(), "status": auth.name}
                for e, auth in self._tariff.cpp_events()
            ],
        }
        return result, None

    def _read_profile(self, args: JsonObject, source: ChangeSource) -> tuple[JsonObject, None]:
        start, end = _time(args, "from"), _time(args, "to")
        if end <= start:
            raise CommandRefused('"to" must be after "from"')
        intervals = self._tariff.profile.read(start, end, MAX_READ + 1)
        more = len(intervals) > MAX_READ
        result: JsonObject = {
            "minutes": self._tariff.profile.period_min,
            "unit": "Wh" if self._tariff.fuel is Fuel.ELECTRICITY else "l",
            "intervals": [i.to_json() for i in intervals[:MAX_READ]],
            "more": more,
        }
        return result, None

    # -- tariff items (12.1) -----------------------------------------------------------------

    def _items(self, args: JsonObject, source: ChangeSource) -> tuple[JsonObject, Changed | None]:
        action = args.get("action", "read")
        item = args.get("item")
        if item is not None and item not in ITEMS:
            raise CommandRefused(f"unknown item {item!r}; items: {', '.join(ITEMS)}")
        if action == "read":
            return {"items": self._read_items([item] if item else list(ITEMS))}, None
        if not isinstance(item, str):
            raise CommandRefused(f'{action} needs an "item": one of {", ".join(ITEMS)}')
        if action == "suppress":
            return self._suppress(item, args.get("suppressed", True), source)
        if action == "update":
            return self._update(item, args, source)
        raise CommandRefused('"action" is "read", "update" or "suppress"')

    def _document(self) -> JsonObject:
        """The tariff in force: a passive one already due counts (it takes over at the next
        instant the meter prices), so an update read back, or updated again, is not lost."""
        active, passive = self._tariff.active_tariff(), self._tariff.passive_tariff()
        due = passive is not None and passive[1].effective_from <= self._now()
        current = passive if due or active is None else active
        if current is None:
            raise CommandRefused("the meter holds no tariff")
        return encode_tariff(current[1])

    def _read_items(self, items: list[str]) -> JsonObject:
        document = self._document()
        return {
            item: {
                "clause": ITEMS[item][0],
                "suppressed": item in self.suppressed,
                "value": {k: document[k] for k in ITEMS[item][1] if k in document},
            }
            for item in items
        }

    def _suppress(
        self, item: str, suppressed: object, source: ChangeSource
    ) -> tuple[JsonObject, Changed | None]:
        if not isinstance(suppressed, bool):
            raise CommandRefused('"suppressed" must be true or false')
        old = item in self.suppressed
        (self.suppressed.add if suppressed else self.suppressed.discard)(item)
        self._record(
            EventCode.TARIFF_ITEM_CHANGED,
            {
                "item": item,
                "clause": ITEMS[item][0],
                "old": f"suppressed {old}",
                "new": f"suppressed {suppressed}",
                **source.detail(),
            },
        )
        return {"item": item, "suppressed": suppressed}, ("items", None)

    def _update(
        self, item: str, args: JsonObject, source: ChangeSource
    ) -> tuple[JsonObject, Changed | None]:
        value = args.get("value")
        if not isinstance(value, dict) or not set(value) <= set(ITEMS[item][1]):
            keys = ", ".join(ITEMS[item][1])
            raise CommandRefused(f'"value" of {item} is an object of some of: {keys}')
        document = self._document()
        old = {k: document[k] for k in ITEMS[item][1] if k in document}
        if item in ("structure", "rates", "tiers", "block_period"):
            for key in ITEMS[item][1]:
                document.pop(key, None)
        document.update(value)
        document["effective_from"] = args.get("effective_from", self._now().isoformat())
        result, changed = self._set_tariff({"tariff": document}, source)
        passive = self._tariff.passive_tariff()
        if item == "conversion" and passive is not None and passive[1].gas is not None:
            # CV and PTZ convert from now on, as set_gas_conversion does (13.2, 12.1.aa).
            self._tariff.set_gas(passive[1].gas.calorific_value, passive[1].gas.volume_factor)
        self._record(
            EventCode.TARIFF_ITEM_CHANGED,
            {
                "item": item,
                "clause": ITEMS[item][0],
                "old": _short(old),
                "new": _short(value),
                **source.detail(),
            },
        )
        return {"item": item, **result}, changed


def _short(value: object) -> str:
    """A value for an event's detail: compact JSON, cut to what a log line should hold."""
    return json.dumps(value, separators=(",", ":"))[:200]


def _summary(tariff_id: int, tariff: Any) -> JsonObject:
    return {
        "tariff_id": tariff_id,
        "name": tariff.name,
        "structure": tariff.kind.value,
        "currency": tariff.currency.value,
        "effective_from": tariff.effective_from.isoformat(),
    }


def log_events(events: list[TariffEvent], record: Record) -> None:
    """The engine's events with an Appendix B (or our) code, into the event log."""
    for event in events:
        if event.code is not None:
            record(event.code, {"kind": event.kind.value, **event.detail})

"""The tariff on the optical port: the tariff items (12.1) as data objects (IEC 62056-21, 19.2.1),
and the registers of `tariff_readout` in the readout.

**Tariff items** (programming mode, after the engineer's proof): the same items the head-end
reads, updates and suppresses (`tariff_commands.ITEMS`), each one object whose value is the
item as compact JSON (`protocol.iec62056_21.json_value`: reserved characters as JSON escapes),
and one object for whether it is suppressed (the OBIS names: `protocol.iec62056_21.tariff_items`):

| OBIS          | item (clause)                                            | access                |
|---------------|----------------------------------------------------------|-----------------------|
| 0-0:128.3.1   | structure and switch entries, ToU registers (12.1.a)     | readout, R1; W1 seal  |
| 0-0:128.3.2   | rates: the unit prices (12.1.b)                          | readout, R1; W1 seal  |
| 0-0:128.3.3   | tiers and thresholds of the 8x8 matrix (12.1.c)          | readout, R1; W1 seal  |
| 0-0:128.3.4   | pricing: standing charge, currency, generation (12.1.d)  | readout, R1; W1 seal  |
| 0-0:128.3.5   | block tariff and its period (12.1.e, 16.19)              | readout, R1; W1 seal  |
| 0-0:128.3.6   | GBP/EUR conversion rate and switch-over time (12.1.q)    | readout, R1; W1 seal  |
| 0-0:128.3.7   | gas conversion: CV and PTZ (12.1.aa)                     | readout, R1; W1 seal  |
| 0-0:128.4.1-7 | that item suppressed: 1, or shown: 0                     | readout, R1; W1 seal  |

A read answers with the item's value, split over several data sets of the same address when
it is longer than one, and so does the readout (a line of those data sets), which an engineer
with the read role only (D.2.2, no programming session) reads the items from; a long write goes as several W1 of the object, every part but the last
starting with ``+``, kept for the session only and at most `WRITE_MAX` (32 KiB) in all, as a
command from the head-end (a longer one is refused, ERR04). The write (the item's keys as the tariff
document has them, e.g. ``{"standing_charge":{"amount":"0.60","period_days":1}}``) and the
suppression go through the head-end's own command (`TariffCommands.dispatch`, `tariff_items`),
so they are checked, applied, saved and logged exactly as a remote change is: a new passive
tariff effective at once, an event (2102 and 2110) naming the optical port and the engineer and
an entry of the local change log (17.2.21.e), in the SQLite transaction of the change; a refusal is ``(ERR04 reason)`` and changes nothing. A
tariff change alters what the meter bills, so it needs the programming seal broken (17.2.21.a)
like the clock.

The tariff's registers in the readout are `tariff_readout`'s.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import datetime

from hal.ports import Tx
from protocol.errors import DecodeError
from protocol.iec62056_21.json_value import (
    MORE,
    WRITE_MAX,
    decode_json_value,
    encode_json_value,
)
from protocol.iec62056_21.obis import Obis
from protocol.iec62056_21.tariff_items import ITEM_OBIS, SUPPRESS_OBIS

from .local_access import LocalAccess
from .optical_objects import ERR_BAD_VALUE, DataObject, WriteRefused
from .optical_setup import MeterOptical
from .readings import ReadingSource
from .tariff_commands import ITEMS, ChangeSource, Channel
from .tariff_han import MeterTariffLink
from .tariff_readout import TariffReadings
from .tunnel_server import CommandRefused

__all__ = ["attach_tariff", "tariff_objects"]

_FLAGS = {"1": True, "0": False}


def _refused(exc: CommandRefused | DecodeError) -> WriteRefused:
    return WriteRefused(ERR_BAD_VALUE, str(exc))


class _Staged:
    """The parts of long writes, per object, for one programming session only."""

    def __init__(self, session: Callable[[], int]) -> None:
        self._session = session
        self._owner: tuple[int, str] | None = None
        self._parts: dict[str, str] = {}

    def take(self, item: str, value: str, engineer: str) -> str | None:
        """The whole value once its last part came; None while parts are still coming."""
        owner = (self._session(), engineer)
        if owner != self._owner:
            self._owner, self._parts = owner, {}
        held = sum(map(len, self._parts.values()))
        if held + len(value) > WRITE_MAX:  # what a session may make the meter keep is bounded
            self._parts.pop(item, None)
            raise WriteRefused(ERR_BAD_VALUE, f"a value written in parts is at most {WRITE_MAX}")
        if value.startswith(MORE):
            self._parts[item] = self._parts.get(item, "") + value[len(MORE) :]
            return None
        return self._parts.pop(item, "") + value


def tariff_objects(
    link: MeterTariffLink, access: LocalAccess, session: Callable[[], int]
) -> list[DataObject]:
    """The item and suppression objects; `session` numbers the port's sessions (for parts)."""
    staged = _Staged(session)
    commands = link.commands

    def change(engineer: str, what: str, old: str, new: str, args: dict[str, object]) -> None:
        """Carry out a change, its local change log (17.2.21.e) in the change's transaction."""

        def log(tx: Tx) -> None:
            access.log_in(tx, engineer, "optical", what, old, new)

        source = ChangeSource(Channel.OPTICAL, engineer)
        try:  # saved with the change, or not at all
            commands.dispatch("tariff_items", args, source, writes=[log])
        except CommandRefused as exc:
            raise _refused(exc) from None

    def read_item(item: str) -> tuple[str, str]:
        try:
            found = commands.dispatch("tariff_items", {"action": "read", "item": item})
        except CommandRefused as exc:  # no tariff held: say so, as an error of that object
            raise WriteRefused(ERR_BAD_VALUE, str(exc)) from None
        return encode_json_value(found["items"][item]["value"]), ""

    def write_item(item: str) -> Callable[[str, str], str]:
        def write(value: str, engineer: str) -> str:
            whole = staged.take(item, value, engineer)
            if whole is None:
                return ""  # a part: nothing applied until the last one
            try:
                parsed = decode_json_value(whole, f"tariff item {item}")
            except DecodeError as exc:
                raise _refused(exc) from None
            old = read_item(item)[0]
            args = {"action": "update", "item": item, "value": parsed}
            change(engineer, f"tariff {item}", old, whole, args)
            return old

        return write

    def read_flag(item: str) -> tuple[str, str]:
        return ("1" if item in commands.suppressed else "0"), ""

    def write_flag(item: str) -> Callable[[str, str], str]:
        def write(value: str, engineer: str) -> str:
            if value not in _FLAGS:
                raise WriteRefused(ERR_BAD_VALUE, f"{item} suppressed is 1 or 0, not {value!r}")
            old = read_flag(item)[0]
            args = {"action": "suppress", "item": item, "suppressed": _FLAGS[value]}
            change(engineer, f"tariff {item} suppressed", old, value, args)
            return old

        return write

    objects = []
    for item, (clause, _keys) in ITEMS.items():
        objects.append(
            DataObject(
                Obis.parse(ITEM_OBIS[item]),
                f"tariff {item} ({clause})",
                functools.partial(read_item, item),
                write_item(item),
                seal=True,  # in the readout too: a read-only engineer reads it (12.1, D.2.2)
            )
        )
    for item in ITEMS:
        objects.append(
            DataObject(
                Obis.parse(SUPPRESS_OBIS[item]),
                f"tariff {item} suppressed",
                functools.partial(read_flag, item),
                write_flag(item),
                seal=True,
            )
        )
    return objects


def attach_tariff(
    optical: MeterOptical,
    link: MeterTariffLink,
    now: Callable[[], datetime],
    add_source: Callable[[ReadingSource], None],
) -> None:
    """Put a meter's tariff on its optical port: the item objects, and the registers."""
    optical.table.extend(tariff_objects(link, optical.access, lambda: optical.port.sessions))
    add_source(TariffReadings(link.tariff, link.commands, now))

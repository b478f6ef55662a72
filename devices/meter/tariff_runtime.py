"""The meter's tariff at run time: the engine fed by the metrology, saved with the registers.

`MeterTariff` owns the meter's `TariffEngine` (`devices.meter.tariff`), its load profile
(`profile_store`) and, on a gas meter, the calorific value and PTZ factor the head-end sets
(13.2, 16.17). The firmware hands it each sample's new whole units of the register (Wh, or
litres of gas, converted to Wh with CV and PTZ over the cumulative volume so rounding never
accumulates) with the instants they were measured between; the engine prices them and returns
the tariff events to log (Appendix B: 401-405) and the price changes to push to the HAN (16.20).

`save(tx)` writes the engine's snapshot, the open profile interval and the gas factors inside the
transaction that saves the energy register: a meter killed at any instant restarts with the
tariff registers exactly where the energy register is, nothing lost, nothing counted twice.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.meter.tariff.engine import TariffEngine
from devices.meter.tariff.results import PriceNow, Registers, TariffEvent, TariffEventKind
from hal.ports import NonVolatileStore, Tx
from protocol.errors import LocalProtocolError
from protocol.se.price_types import CppAuth
from protocol.tariff import CalorificValue, VolumeFactor, volume_to_energy
from protocol.tariff.model import CppEvent, Fuel, Tariff

from .profile_store import ProfileStore

__all__ = ["DEFAULT_GAS", "GasConversion", "MeterTariff"]

LOGGER = logging.getLogger(__name__)
UK = ZoneInfo("Europe/London")
_NAMESPACE = "meter_tariff"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class GasConversion:
    """The head-end's calorific value and volume conversion factor, and where the cumulative
    volume stood when they were set (energy = base_wh + energy of the volume since)."""

    cv: CalorificValue
    ptz: VolumeFactor
    base_litres: int = 0
    base_wh: int = 0

    def energy_wh(self, litres: int) -> int:
        return self.base_wh + volume_to_energy(litres - self.base_litres, self.cv, self.ptz)

    def to_json(self) -> dict[str, Any]:
        return {
            "cv": self.cv.value,
            "ptz": self.ptz.value,
            "base_litres": self.base_litres,
            "base_wh": self.base_wh,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GasConversion:
        return cls(
            CalorificValue(int(data["cv"])),
            VolumeFactor(int(data["ptz"])),
            int(data["base_litres"]),
            int(data["base_wh"]),
        )


@dataclass(frozen=True)
class Checkpoint:
    """A `MeterTariff`'s changeable state at one instant (`MeterTariff.checkpoint`)."""

    engine: dict[str, Any]
    tariff_ids: dict[str, int]
    cpp_answers: dict[int, bool]
    gas: GasConversion | None
    last_end: datetime | None


#: GB's typical calorific value and the standard PTZ factor, until the head-end sets its own.
DEFAULT_GAS = GasConversion(CalorificValue.of("39.5"), VolumeFactor.of("1.02264"))


class MeterTariff:
    """The engine, the profile and the gas conversion of one meter (see the module doc)."""

    def __init__(
        self,
        store: NonVolatileStore,
        fuel: Fuel,
        initial: Tariff | None,
        profile_minutes: int = 30,
    ) -> None:
        self._store = store
        self.fuel = fuel
        self.profile = ProfileStore(store, profile_minutes)
        snapshot = store.get(_NAMESPACE, "engine")
        self.engine = TariffEngine(UK, snapshot if isinstance(snapshot, dict) else None)
        saved_gas = store.get(_NAMESPACE, "gas")
        self.gas = GasConversion.from_json(saved_gas) if isinstance(saved_gas, dict) else None
        #: Ids the meter gave its tariffs (IssuerTariffID on the HAN): active, passive.
        self.tariff_ids: dict[str, int] = dict(store.get(_NAMESPACE, "ids", {}))
        #: The consumer's answers to CPP events (16.11.8): event id -> accepted.
        self.cpp_answers: dict[int, bool] = {
            int(k): bool(v) for k, v in store.get(_NAMESPACE, "cpp_answers", {}).items()
        }
        self._litres: int | None = None
        #: Export and gross generation registers (Wh) at the last call: their gains are billed.
        self._exported: tuple[int, int] | None = None
        self._registers: Registers | None = None
        last_end = store.get(_NAMESPACE, "last_end_us")
        #: The end of the last interval priced (the engine's now), kept across restarts.
        self.last_end: datetime | None = (
            None if last_end is None else _EPOCH + timedelta(microseconds=int(last_end))
        )
        if snapshot is None and initial is not None:
            self.set_passive(initial)
        if self.gas is None and fuel is Fuel.GAS:
            self.gas = self._gas_of(self.engine.passive or self.engine.active)

    @staticmethod
    def _gas_of(tariff: Tariff | None) -> GasConversion:
        if tariff is None or tariff.gas is None:
            return DEFAULT_GAS
        return GasConversion(tariff.gas.calorific_value, tariff.gas.volume_factor)

    # -- metering ------------------------------------------------------------------------

    def begin(
        self, now: datetime, raw_total: int, exported: int = 0, generated: int = 0
    ) -> datetime:
        """Note the registers at the first sample after power-up (what they held was priced
        before); the instant pricing resumes from: the last one priced, or `now` at the very
        first sample of a meter."""
        if self._litres is None:
            self._litres = raw_total
        if self._exported is None:
            self._exported = (exported, generated)
        if self.last_end is None:
            self.last_end = now
        return self.last_end

    def consume(
        self,
        start: datetime,
        end: datetime,
        raw_total: int,
        exported: int = 0,
        generated: int = 0,
    ) -> list[TariffEvent]:
        """The import register reads `raw_total` (Wh or litres) at `end`, the export and gross
        generation registers `exported` and `generated` (Wh); price what each gained since the
        last call, used evenly since `start`. The first call after a start only notes the
        registers (the time a meter is off measures nothing, and costs only its boundaries)."""
        if self.last_end is not None and start < self.last_end:
            start = self.last_end  # the engine refuses overlaps (a clock set back)
        if self._litres is None:
            self._litres = raw_total  # the register as powered up: nothing gained yet
        if self._exported is None:
            self._exported = (exported, generated)
        if end <= start:
            return []
        previous = self._litres
        (was_exported, was_generated) = self._exported
        self._litres, self.last_end = raw_total, end
        self._exported = (exported, generated)
        gained = max(0, raw_total - previous)
        export_wh = max(0, exported - was_exported)
        generation_wh = max(0, generated - was_generated)
        if self.fuel is Fuel.GAS and self.gas is not None:
            wh = self.gas.energy_wh(raw_total) - self.gas.energy_wh(previous)
        else:
            wh = gained
        before = self.registers().total_cost.value
        events = self.engine.consume(start, end, wh, export_wh, generation_wh=generation_wh)
        self._registers = None
        self.profile.add(end, gained, self.registers().total_cost.value - before)
        if any(e.kind is TariffEventKind.TARIFF_ACTIVATED for e in events):
            self.tariff_activated()
        return events

    def save(self, tx: Tx) -> None:
        """Write the engine, the open interval and the gas factors inside `tx`."""
        self._store.put(_NAMESPACE, "engine", self.engine.snapshot(), tx=tx)
        if self.last_end is not None:
            self._store.put(
                _NAMESPACE,
                "last_end_us",
                (self.last_end - _EPOCH) // timedelta(microseconds=1),
                tx=tx,
            )
        self._store.put(_NAMESPACE, "ids", self.tariff_ids, tx=tx)
        self._store.put(
            _NAMESPACE, "cpp_answers", {str(k): v for k, v in self.cpp_answers.items()}, tx=tx
        )
        if self.gas is not None:
            self._store.put(_NAMESPACE, "gas", self.gas.to_json(), tx=tx)
        self.profile.save(tx)

    def checkpoint(self) -> Checkpoint:
        """What a command may change, as it is now: `restore` puts it back when the change
        cannot be saved (nothing is applied that was refused)."""
        return Checkpoint(
            self.engine.snapshot(),
            dict(self.tariff_ids),
            dict(self.cpp_answers),
            self.gas,
            self.last_end,
        )

    def restore(self, checkpoint: Checkpoint) -> None:
        self.engine = TariffEngine(UK, checkpoint.engine)
        self.tariff_ids = dict(checkpoint.tariff_ids)
        self.cpp_answers = dict(checkpoint.cpp_answers)
        self.gas, self.last_end = checkpoint.gas, checkpoint.last_end
        self._registers = None

    # -- what the HAN and the display show ----------------------------------------------

    def price(self, at: datetime) -> PriceNow | None:
        return self.engine.price_at(at) if self.engine.active is not None else None

    def registers(self) -> Registers:
        """The engine's registers, built once per change (the HAN and display read them often)."""
        if self._registers is None:
            self._registers = self.engine.registers()
        return self._registers

    # -- changes from the head-end --------------------------------------------------------

    def set_passive(self, tariff: Tariff) -> int:
        self.engine.set_passive(tariff)
        self._registers = None
        tariff_id = max(self.tariff_ids.values(), default=0) + 1
        self.tariff_ids["passive"] = tariff_id
        return tariff_id

    def cancel_passive(self) -> int | None:
        tariff_id = self.tariff_ids.pop("passive", None)
        self.engine.cancel_passive()
        self._registers = None
        return tariff_id

    def set_gas(self, cv: CalorificValue | None, ptz: VolumeFactor | None) -> GasConversion:
        """New conversion factors from now on: what was measured keeps its energy."""
        current = self.gas or DEFAULT_GAS
        litres = self._litres or 0
        self.gas = GasConversion(
            cv or current.cv, ptz or current.ptz, litres, current.energy_wh(litres)
        )
        return self.gas

    def add_cpp(self, event: CppEvent) -> None:
        """Store a CPP event; LocalProtocolError if the engine cannot take it."""
        self.engine.add_cpp_event(event)
        self._registers = None
        self.cpp_answers.pop(event.event_id, None)

    def answer_cpp(self, event_id: int, accept: bool) -> bool:
        """The consumer's answer (16.11.8); False for an unknown or mandatory event."""
        try:
            self.engine.respond_cpp(event_id, accept)
        except LocalProtocolError:
            return False
        self._registers = None
        self.cpp_answers[event_id] = accept
        return True

    def cpp_events(self) -> list[tuple[CppEvent, CppAuth]]:
        """Every stored CPP event and its status: Forced when it cannot be refused."""
        found = []
        for event in self.engine.cpp_events:
            answer = self.cpp_answers.get(event.event_id)
            auth = (
                CppAuth.Forced
                if not event.refusable
                else CppAuth.Pending
                if answer is None
                else CppAuth.Accepted
                if answer
                else CppAuth.Rejected
            )
            found.append((event, auth))
        return found

    def tariff_activated(self) -> None:
        """The passive tariff became active: its id moves with it."""
        if "passive" in self.tariff_ids:
            self.tariff_ids["active"] = self.tariff_ids.pop("passive")

    # -- the PriceSource of the Price server ------------------------------------------------

    def active_tariff(self) -> tuple[int, Tariff] | None:
        active = self.engine.active
        return None if active is None else (self.tariff_ids.get("active", 1), active)

    def passive_tariff(self) -> tuple[int, Tariff] | None:
        passive = self.engine.passive
        return None if passive is None else (self.tariff_ids.get("passive", 2), passive)

    def billing_period(self) -> tuple[datetime, int] | None:
        """The current billing period's first local midnight and its length in days."""
        registers = self.registers()
        if registers.billing_days == 0 or self.last_end is None:
            return None
        day = self.last_end.astimezone(UK).date() - timedelta(days=registers.billing_day - 1)
        start = datetime.combine(day, datetime.min.time(), UK)
        return start, registers.billing_days

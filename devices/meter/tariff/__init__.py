"""The meters' tariff engine (requirements section 16): pure logic, no I/O, no clock.

    engine = TariffEngine(ZoneInfo("Europe/London"))        # or TariffEngine(tz, snapshot)
    engine.set_passive(tariff)       # protocol.tariff.Tariff; active exactly at effective_from (16.7)
    engine.cancel_passive()
    engine.add_cpp_event(event)      # protocol.tariff.CppEvent (16.11); same id replaces
    engine.respond_cpp(event_id, accept=False)   # LocalProtocolError if not refusable (16.11.9)
    events = engine.consume(start, end, import_wh, export_wh=0, generation_wh=None)
    price = engine.price_at(now)     # PriceNow | None: register, tier/block, unit price, CPP
    regs = engine.registers()        # Registers: totals, 48+48 ToU, 8x8, blocks, CPP, costs
    state = engine.snapshot()        # JSON-able ints/strings/lists, save with the meter register

- Times are aware datetimes; switch entries are local times of `tz` (the clock changes move
  them). `consume` takes intervals in time order (an overlap is a LocalProtocolError; a gap is
  consumed as zero energy). Energy is int Wh, spread evenly over the interval and apportioned
  across every boundary inside it with integer floors (the parts sum exactly to the whole).
- `consume` returns `TariffEvent`s in time order: `code` is the event to log (Appendix B 401,
  402, 403, 405 and our 2101-2109), None for a price change to push to the HAN (16.20):
  RATE_SWITCHED (with aux_load), TIER_CHANGED, BLOCK_CHANGED, CPP_TIER_CHANGED.
- Money: registers are `protocol.tariff.Money` (1e-9 units), prices `UnitPrice` (1e-6/kWh); a
  cost is exactly Wh x price. CPP consumption is billed at CPP prices and kept per event and
  occurrence (16.11.7), not in the ToU/8x8 registers: ToU (or 8x8, or block) + CPP = import.
- Standing charge: charged at local midnight at the start of each period, counted from the
  tariff's first local day (a tariff taking effect mid-day starts charging the next midnight).
- Gas: `protocol.tariff.volume_to_energy(litres, cv, factor)` converts a cumulative volume.
- Interval data (profile) is the firmware's, not the engine's.
"""

from devices.meter.tariff.engine import TariffEngine
from devices.meter.tariff.results import (
    CppConsumption,
    CppInForce,
    PriceNow,
    Registers,
    TariffEvent,
    TariffEventKind,
)

__all__ = [
    "CppConsumption",
    "CppInForce",
    "PriceNow",
    "Registers",
    "TariffEngine",
    "TariffEvent",
    "TariffEventKind",
]

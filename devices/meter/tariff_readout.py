"""The tariff's registers and the price in force in the optical port's readout (IEC 62056-21,
19.2.1), as the meter's display shows them.

Every readout lists (16.3, 16.17):

| OBIS          | register                                                        |
|---------------|-----------------------------------------------------------------|
| 1-0:1.8.e     | time-of-use import register e (1..48) in use, kWh (7-0: gas)    |
| 1-0:2.8.e     | time-of-use export register e in use, kWh (electricity)         |
| 1-0:128.8.RT  | 8x8 matrix: rate R, tier T (E = 10R + T), kWh                   |
| 1-0:128.9.b   | block b of a block tariff, kWh                                  |
| 0-0:128.5.0   | the active unit price, currency per kWh (left out if suppressed)|
| 0-0:128.5.1   | the register (48x1) or rate (8x8) in force                      |
| 0-0:128.5.2   | the tier (8x8) or block in force, 0 for none                    |
| 0-0:128.5.3   | cost since the last bill                                        |
| 0-0:128.5.4   | cost today                                                      |
| 0-0:128.5.5   | day of the billing period                                       |
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from protocol.iec62056_21.obis import Obis
from protocol.tariff.model import Fuel

from .readings import Reading
from .tariff_commands import TariffCommands
from .tariff_runtime import MeterTariff

__all__ = ["TariffReadings"]


def _kwh(wh: int) -> str:
    """Whole Wh as kWh to three places, in plain digits."""
    sign = "-" if wh < 0 else ""
    return f"{sign}{abs(wh) // 1000}.{abs(wh) % 1000:03d}"


class TariffReadings:
    """The tariff's registers and the price in force, as `Reading`s (a `ReadingSource`)."""

    def __init__(
        self, tariff: MeterTariff, commands: TariffCommands, now: Callable[[], datetime]
    ) -> None:
        self._tariff, self._commands, self._now = tariff, commands, now

    def readings(self) -> list[Reading]:
        if self._tariff.active_tariff() is None:
            return []
        registers = self._tariff.registers()
        medium = 1 if self._tariff.fuel is Fuel.ELECTRICITY else 7
        found: list[Reading] = []
        for i, (label, wh) in enumerate(
            zip(registers.tou_labels, registers.tou_import_wh, strict=True), 1
        ):
            if label or wh:
                found.append(
                    Reading(Obis(medium, 0, 1, 8, i), label or f"register {i}", _kwh(wh), "kWh")
                )
        if medium == 1:
            for i, wh in enumerate(registers.tou_export_wh, 1):
                if wh:
                    found.append(
                        Reading(Obis(1, 0, 2, 8, i), f"export register {i}", _kwh(wh), "kWh")
                    )
        for r, row in enumerate(registers.matrix_wh, 1):
            for t, wh in enumerate(row, 1):
                if wh or registers.matrix_price[r - 1][t - 1] is not None:
                    name = f"rate {r} tier {t}"
                    found.append(
                        Reading(Obis(medium, 0, 128, 8, 10 * r + t), name, _kwh(wh), "kWh")
                    )
        for b, wh in enumerate(registers.block_wh, 1):
            if wh:
                found.append(Reading(Obis(medium, 0, 128, 9, b), f"block {b}", _kwh(wh), "kWh"))
        currency = registers.currency.value
        price = self._tariff.price(self._now())
        hidden = {"rates", "pricing"} & self._commands.suppressed
        if price is not None and not hidden:  # a suppressed price is not shown (12.1.b, d)
            unit = f"{currency}kWh"  # a unit may not hold '/'
            found.append(
                Reading(Obis(0, 0, 128, 5, 0), "unit price", str(price.import_price), unit)
            )
        if price is not None:
            step = price.tier or price.block or 0
            found.append(Reading(Obis(0, 0, 128, 5, 1), "register in force", str(price.register)))
            found.append(Reading(Obis(0, 0, 128, 5, 2), "tier or block", str(step)))
        found += [
            Reading(
                Obis(0, 0, 128, 5, 3), "cost since bill", str(registers.cost_since_bill), currency
            ),
            Reading(Obis(0, 0, 128, 5, 4), "cost today", str(registers.cost_today), currency),
            Reading(Obis(0, 0, 128, 5, 5), "billing day", str(registers.billing_day)),
        ]
        return found

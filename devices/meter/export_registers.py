"""Export and gross generation registers of the ESME (clause 16.22.1), beside the import one.

The measuring element reports the net power at the meter and, apart, the gross generation of
the microgeneration behind it. Each sample splits the net power into import and export rates
(`Flows.of_net`): import = max(net, 0), export = max(-net, 0), so import - export = net =
load - generation exactly, at every sample and therefore over any run of them. The meter
integrates the three rates with the same exact integer integrator (`integrator`), saves them in
the same transaction as the import register (`register_store`), and serves them:

- on the HAN: CurrentSummationReceived (0x0001, Wh) and CurrentTier1..48SummationReceived (the
  48 export time-of-use registers, 16.12.1.b) of the Metering cluster;
- on the optical port: 1-0:2.8.0 (active energy export) and the gross generation;
- on the meter's display: export and gross generation in kWh once there is any (16.22.1);
- to the tariff engine, which bills export at its (negative) export rate and the generation
  discount over gross generation (16.22.2, 16.22.3).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from firmware.zcl.cluster_server import AttributeBinding
from hal.ports import Tx
from protocol.iec62056_21.obis import Obis

from .integrator import EnergyIntegrator
from .metering_cluster import Commodity
from .readings import Reading
from .register_store import RegisterStore

__all__ = ["GENERATED", "RECEIVED", "ExportRegisters", "Flows"]

#: Names of the registers in the store (the import one is "current_summation_delivered").
RECEIVED = "current_summation_received"
GENERATED = "gross_generation"
_UINT48_MODULUS = 1 << 48


@dataclass(frozen=True, slots=True)
class Flows:
    """The rates of one sample, in register units per hour (mW for the ESME)."""

    imported: int
    exported: int = 0
    generated: int = 0

    @classmethod
    def of_net(cls, net: int, generated: int = 0) -> Flows:
        """Split the net power at the meter into import and export; generation as measured."""
        return cls(max(net, 0), max(-net, 0), max(generated, 0))

    @property
    def net(self) -> int:
        """Import less export: the signed power at the meter (InstantaneousDemand's sign)."""
        return self.imported - self.exported


class ExportRegisters:
    """The export (CurrentSummationReceived) and gross generation registers of a meter."""

    def __init__(self, store: RegisterStore, commodity: Commodity) -> None:
        self._store = store
        self._commodity = commodity
        self.exported: EnergyIntegrator = store.load(RECEIVED)
        self.generated: EnergyIntegrator = store.load(GENERATED)

    def add(self, flows: Flows, elapsed_us: int) -> None:
        """Integrate the export and generation rates held for `elapsed_us`."""
        self.exported.add(flows.exported, elapsed_us)
        self.generated.add(flows.generated, elapsed_us)

    def visible(self) -> tuple[int, int]:
        """(export, gross generation) in whole raw units (Wh) as the world may see them."""
        return (
            self._commodity.raw_summation(self.exported.units),
            self._commodity.raw_summation(self.generated.units),
        )

    def save(self, now: datetime, tx: Tx) -> None:
        """Inside the transaction that saves the import register. A register still at zero
        (a gas meter's, a meter without generation) needs no row: it loads as zero, and a
        register never goes back to zero once it has moved."""
        for name, register in ((RECEIVED, self.exported), (GENERATED, self.generated)):
            if register.units or register.remainder:
                self._store.save(name, register, now, tx)

    # -- what the meter serves -------------------------------------------------------------

    def metering_bindings(
        self, tou_export_wh: Callable[[], tuple[int, ...]]
    ) -> dict[str, AttributeBinding]:
        """CurrentSummationReceived and the 48 export time-of-use registers (Wh)."""
        bindings = {
            "current_summ_received": AttributeBinding(lambda: self.visible()[0]),
        }
        for n in range(1, 49):
            bindings[f"current_tier{n}_summ_received"] = AttributeBinding(
                _tier(tou_export_wh, n - 1)
            )
        return bindings

    def readings(self) -> list[Reading]:
        """Export and gross generation as the optical port lists them (kWh, three decimals)."""
        exported, generated = self.visible()
        return [
            Reading(Obis.parse("1-0:2.8.0"), "Export", _kwh(exported), "kWh"),
            Reading(Obis.parse("1-1:1.8.0"), "Generation", _kwh(generated), "kWh"),
        ]

    def display_lines(self) -> list[str]:
        """Export and gross generation in kWh (16.22.1); nothing on a meter that never saw any."""
        exported, generated = self.visible()
        if not exported and not generated:
            return []
        return [f"Export {_kwh(exported)} kWh", f"Gen {_kwh(generated)} kWh"]

    def describe(self) -> dict[str, Any]:
        """For the bench port: both registers, units (mWh) and remainders."""
        return {
            "export_wh": self.visible()[0],
            "generation_wh": self.visible()[1],
            "export": {"units": self.exported.units, "remainder": self.exported.remainder},
            "generation": {"units": self.generated.units, "remainder": self.generated.remainder},
        }


def _tier(values: Callable[[], tuple[int, ...]], index: int) -> Callable[[], int]:
    return lambda: values()[index] % _UINT48_MODULUS


def _kwh(wh: int) -> str:
    return f"{wh // 1000}.{wh % 1000:03d}"

"""Electricity meter (ESME) firmware: a single-phase import register served over ZigBee SE.

The ESME is mains powered, so it joins the HAN as a router (it relays for the sleepy gas meter
and the IHD in a real home). Its endpoint 1 is a Smart Energy Metering Device (device id 0x0501)
serving Metering (0x0702) and declaring itself a client of Time (0x000A): it will set its RTC
from the hub's Time cluster once the hub serves Smart Energy; until then it keeps its own clock.

Bench commands, beside the common ones: `load` {"watts": W or null} sets (or clears) the bench
override of the measuring element, 0..23000 W (100 A at 230 V, clause 1.1.b); `generation`
{"watts": W or null} sets (or clears) the bench override of the gross generation behind the
meter (rooftop PV, 16.22), 0..23000 W; `registers` returns the raw Metering attributes and the
registers they mean; `export` the export and gross generation registers; `aux` the auxiliary
load switch output the time-of-use switch entries drive (`devices.esme.aux_load`, 16.12.1.d).

The element measures the net power (load less generation) and the gross generation apart: the
meter imports max(net, 0), exports max(-net, 0) and counts the generation
(`devices.meter.export_registers`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devices.core.firmware import DeviceIdentity
from devices.esme.aux_load import AuxLoadControl
from devices.meter.bill_credit import credit_bindings
from devices.meter.export_registers import Flows
from devices.meter.meter_firmware import MeterFirmware, check_bench_number
from devices.meter.metering_cluster import ELECTRICITY
from devices.meter.readings import readings_of
from devices.meter.tariff_setup import TariffSetup
from firmware.boards import ElectricityMeterBoard
from firmware.rig import DeviceKind
from firmware.zcl.cluster_server import AttributeBinding
from hal.control_socket import ControlError, Handler, Request
from hal.ports import PortError
from hal.radio import EndpointDescriptor
from protocol.zigbee_ids import ClusterId, SeDeviceId

__all__ = ["MAX_BENCH_LOAD_W", "EsmeFirmware"]

#: Clause 1.1.b: single phase up to 100 A, at the 230 V nominal voltage.
MAX_BENCH_LOAD_W = 23_000.0


class EsmeFirmware(MeterFirmware):
    """The electricity meter; its board's `metrology` is its measuring element."""

    kind = DeviceKind.ESME
    endpoint = EndpointDescriptor(
        1,
        SeDeviceId.METERING_DEVICE,
        (ClusterId.METERING, ClusterId.PRICE, ClusterId.TUNNELING, ClusterId.PREPAYMENT),
        (ClusterId.TIME,),
    )
    router = True
    commodity = ELECTRICITY
    register_obis = ("1-0:1.8.0", "1-0:1.7.0")  # active energy import, active power import

    def __init__(
        self,
        identity: DeviceIdentity,
        board: ElectricityMeterBoard,
        setup: TariffSetup | None = None,
    ) -> None:
        self.metrology = board.metrology
        super().__init__(identity, board, setup)
        self.add_reading_source(readings_of(self.export.readings))
        # Built once the tariff is: it follows the tariff's entry in force. The display is
        # first shown by the first sample, at start (`MeterFirmware.on_start`), never while
        # the constructors run, so `display_lines` may count on it.
        self.aux_load = AuxLoadControl(
            board.aux_load,
            lambda: self.tariff.tariff.engine.aux_load,
            lambda code, detail: self.tariff.pending.append((code, detail)),
        )

    def tariff_followed(self) -> bool:
        return self.aux_load.follow()

    def measure_rate(self) -> int:
        """Active power in milliwatts (mWh per hour), quantised like an ADC reading."""
        return round(self.metrology.sample(self.clock.now()).active_power_w * 1000)

    def measure(self) -> Flows:
        """Net power split into import and export, and the gross generation, in mW."""
        sample = self.metrology.sample(self.clock.now())
        return Flows.of_net(round(sample.active_power_w * 1000), round(sample.generation_w * 1000))

    def export_bindings(self) -> dict[str, AttributeBinding]:
        return {
            **self.export.metering_bindings(lambda: self.tariff.tariff.registers().tou_export_wh),
            # Export can take the bill below zero: the credit goes in BillToDateReceived.
            **credit_bindings(self.tariff.tariff.registers, self.clock.now),
        }

    def display_lines(self) -> list[str]:
        lines = super().display_lines()
        aux = [self.aux_load.display_line()] if self._uses_aux_load() else []
        return [*lines[:2], *self.export.display_lines(), *lines[2:], *aux]

    def _uses_aux_load(self) -> bool:
        """The display names the output only while a tariff switches it (or it is on)."""
        active = self.tariff.tariff.engine.active
        switches = getattr(active.structure, "switches", ()) if active is not None else ()
        return self.aux_load.on or any(switch.aux_load for switch in switches)

    def extra_handlers(self) -> dict[str, Handler]:
        return {
            **super().extra_handlers(),
            "load": self._cmd_load,
            "generation": self._cmd_generation,
            "export": self._cmd_export,
            "aux": self._cmd_aux,
        }

    async def _cmd_aux(self, request: Request) -> dict[str, Any]:
        return self.aux_load.describe()

    async def _cmd_generation(self, request: Request) -> dict[str, Any]:
        watts = self._bench_power(request, self.metrology.set_generation)
        return {"watts": watts, "demand_w": self.commodity.raw_demand(self._flows.net)}

    async def _cmd_export(self, request: Request) -> dict[str, Any]:
        return self.export.describe()

    async def _cmd_load(self, request: Request) -> dict[str, Any]:
        watts = self._bench_power(request, self.metrology.set_load)
        return {"watts": watts, "demand_w": self.commodity.raw_demand(self.rate)}

    def _bench_power(self, request: Request, apply: Callable[[float | None], None]) -> float | None:
        """The bench's watts applied to the metrology, and sampled at once: demand and export
        follow the bench now, not at the next tick."""
        watts = check_bench_number(request, "watts", MAX_BENCH_LOAD_W, "W")
        try:
            apply(watts)
        except PortError as exc:
            raise ControlError(str(exc)) from None
        self.sample()
        return watts

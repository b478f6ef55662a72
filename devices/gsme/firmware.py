"""Gas meter (GSME) firmware: a volume register served over ZigBee SE.

A real GSME runs on a battery for years (clause 12.5: "respecting gas battery life"), so it is
a sleepy end device that wakes to push its readings to the hub's gas proxy. For now this one
joins as an end device (router=False) but keeps its receiver on, and the IHD reads it directly;
the sleepy behaviour arrives with the hub's gas proxy (mirror). Its endpoint 1 is a Smart Energy
Metering Device (0x0501) serving Metering (0x0702), client of Time (0x000A).

Bench commands, beside the common ones: `flow` {"m3_per_h": F or null} sets (or clears) the
bench override of the flow, 0..6 m3/h (clause 1.1.a); `load` {"watts": W or null} does the same
from the power of the gas burnt, converted to a flow with the GB formula of clause 13.2 at the
default calorific value (about 11.22 kWh per m3), for the rig's common `smartmeter bench load`;
`registers` as for the ESME.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from devices.core.firmware import DeviceIdentity
from devices.meter.meter_firmware import MeterFirmware, check_bench_number
from devices.meter.metering_cluster import GAS
from devices.meter.tariff_setup import TariffSetup
from firmware.boards import GasMeterBoard
from firmware.rig import DeviceKind
from hal.control_socket import ControlError, Handler, Request
from hal.ports import PortError
from hal.radio import EndpointDescriptor
from protocol.metering_units import KWH_PER_M3, gas_flow_for_power
from protocol.zigbee_ids import ClusterId, SeDeviceId

__all__ = ["MAX_BENCH_FLOW_M3_PER_H", "GsmeFirmware"]

ML_PER_M3 = 1_000_000
#: Clause 1.1.a: a domestic gas meter up to 6 m3/h.
MAX_BENCH_FLOW_M3_PER_H = 6.0
MAX_BENCH_POWER_W = float(Decimal(MAX_BENCH_FLOW_M3_PER_H) * KWH_PER_M3 * 1000)


class GsmeFirmware(MeterFirmware):
    """The gas meter; `metrology` is its measuring element (HAL port)."""

    kind = DeviceKind.GSME
    endpoint = EndpointDescriptor(
        1,
        SeDeviceId.METERING_DEVICE,
        (ClusterId.METERING, ClusterId.PRICE, ClusterId.TUNNELING, ClusterId.PREPAYMENT),
        (ClusterId.TIME,),
    )
    router = False
    commodity = GAS
    register_obis = ("7-0:3.0.0", "7-0:43.0.0")  # volume, flow rate (EN 13757-1 medium 7)

    def __init__(
        self, identity: DeviceIdentity, board: GasMeterBoard, setup: TariffSetup | None = None
    ) -> None:
        self.metrology = board.metrology
        super().__init__(identity, board, setup)

    def measure_rate(self) -> int:
        """Flow in millilitres per hour."""
        return round(self.metrology.sample(self.clock.now()).flow_m3_per_h * ML_PER_M3)

    def extra_handlers(self) -> dict[str, Handler]:
        return {**super().extra_handlers(), "flow": self._cmd_flow, "load": self._cmd_load}

    async def _cmd_flow(self, request: Request) -> dict[str, Any]:
        flow = check_bench_number(request, "m3_per_h", MAX_BENCH_FLOW_M3_PER_H, "m3/h")
        return self._set_flow(flow)

    async def _cmd_load(self, request: Request) -> dict[str, Any]:
        watts = check_bench_number(request, "watts", MAX_BENCH_POWER_W, "W")
        reply = self._set_flow(
            None if watts is None else min(gas_flow_for_power(watts), MAX_BENCH_FLOW_M3_PER_H)
        )
        return {"watts": watts, **reply}

    def _set_flow(self, flow: float | None) -> dict[str, Any]:
        try:
            self.metrology.set_flow(flow)
        except PortError as exc:
            raise ControlError(str(exc)) from None
        self.sample()  # the flow shown and served follows the bench at once
        return {"m3_per_h": flow, "demand_l_per_h": self.commodity.raw_demand(self.rate)}

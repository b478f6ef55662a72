"""A gas meter's engine (13.2, 16.5, 16.9, 16.10) and the labels of registers and tiers (16.8)."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest

from devices.meter.tariff import TariffEngine
from protocol.errors import LocalProtocolError
from protocol.tariff import Money, tariff_from_json, volume_to_energy
from tests.devices.tariff.tariffs import JAN_1, LONDON, cpp

TARIFFS = Path(__file__).resolve().parents[3] / "rigs" / "tariffs"
HOUR = timedelta(hours=1)


@pytest.mark.req("16.5.a", "16.9", "16.10")
def test_gas_bills_energy_converted_from_cumulative_volume() -> None:
    gas = tariff_from_json((TARIFFS / "demo-gas.json").read_bytes())
    electricity = tariff_from_json((TARIFFS / "demo-electricity.json").read_bytes())
    meters = {"gas": TariffEngine(LONDON), "electricity": TariffEngine(LONDON)}
    meters["gas"].set_passive(gas)
    meters["electricity"].set_passive(electricity)
    assert gas.gas is not None
    cv, factor = gas.gas.calorific_value, gas.gas.volume_factor
    # Cumulative volume in litres, hourly; each interval bills the difference of conversions.
    volumes = [0, 350, 700, 1_400, 2_000]
    for hour, (before, after) in enumerate(itertools.pairwise(volumes)):
        wh = volume_to_energy(after, cv, factor) - volume_to_energy(before, cv, factor)
        meters["gas"].consume(JAN_1 + hour * HOUR, JAN_1 + (hour + 1) * HOUR, wh)
        meters["electricity"].consume(JAN_1 + hour * HOUR, JAN_1 + (hour + 1) * HOUR, 500)
    regs = meters["gas"].registers()
    # 2 m3 x 1.02264 x 39.5 / 3.6 = 22.4412... kWh, to the Wh
    assert regs.import_wh == volume_to_energy(2_000, cv, factor) == 22_441
    assert regs.import_cost == Money(22_441 * 62_470)  # Wh x 0.06247 per kWh, exactly
    # Two meters, two structures, independent contents (16.9, 16.10).
    # Economy 7: night from 00:30, so 3.5 of these 4 hours.
    assert meters["electricity"].registers().tou_import_wh[:2] == (250, 1_750)
    price = meters["gas"].price_at(JAN_1)
    assert price is not None and (price.register_label, str(price.import_price)) == (
        "Gas",
        "0.06247",
    )
    with pytest.raises(LocalProtocolError, match="electricity only"):
        meters["gas"].add_cpp_event(cpp(1, JAN_1 + 5 * HOUR, JAN_1 + 6 * HOUR, 0, ("1", "1")))


@pytest.mark.req("16.8")
def test_every_register_and_tier_carries_its_label() -> None:
    engine = TariffEngine(LONDON)
    engine.set_passive(tariff_from_json((TARIFFS / "matrix-8x8.json").read_bytes()))
    engine.consume(JAN_1, JAN_1 + HOUR, 100)
    regs = engine.registers()
    assert regs.tou_labels[:3] == ("Peak", "Off-peak", "")
    price = engine.price_at(JAN_1 + HOUR)
    assert price is not None
    assert (price.register_label, price.tier_label) == ("Off-peak", "Up to 200 kWh")

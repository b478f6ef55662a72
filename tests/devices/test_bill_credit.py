"""A cost since the last bill below zero (a credit from export) crosses the HAN in
BillToDateReceived and the IHD shows it signed (14.4, 16.22.3)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.esme.firmware import EsmeFirmware
from devices.ihd.price_view import PriceInfo
from devices.meter.bill_credit import credit_micro
from devices.meter.metering_cluster import METERING_CLUSTER
from devices.meter.tariff_han import _micro as delivered_micro
from devices.meter.tariff_setup import TariffSetup
from hal.emulated.clock import ManualClock
from hal.emulated.metrology import ConstantLoad
from hal.real.sqlite_store import SqliteStore
from protocol.tariff import decode_tariff
from tests.boards import electricity_meter_board, identity

NANO_PER_MICRO = 1000


@pytest.mark.req("14.4", "16.22.3")
@given(cost=st.integers(-(2**32 - 1) * NANO_PER_MICRO, (2**32 - 1) * NANO_PER_MICRO))
def test_delivered_less_received_is_the_meters_figure(cost: int) -> None:
    """Whatever the sign of the meter's figure (billionths), the IHD's net of the two unsigned
    attributes is that figure in millionths, cut toward zero; one of the two is always 0."""
    delivered, received = delivered_micro(cost), credit_micro(cost)
    assert delivered == 0 or received == 0
    info = PriceInfo(bill=delivered, bill_digits=6, credit=received, credit_digits=6)
    truncated = abs(cost) // NANO_PER_MICRO * (1 if cost >= 0 else -1)
    assert info.net_bill() == (truncated, 6)


@pytest.mark.req("14.4", "16.22.3")
def test_a_credit_since_the_last_bill_is_shown_as_cr() -> None:
    info = PriceInfo(price=305670, digits=6, label="Day", tier=1, bill_digits=6, credit_digits=6)
    info.bill, info.credit = 0, 1_234_567
    assert info.lines("electricity")[1] == "Elec bill CR £1.23"
    assert info.describe()["bill"] == "-1.234567"
    info.bill, info.credit = 2_500_000, 0
    assert info.lines("electricity")[1] == "Elec bill £2.50"
    info.credit = None  # a gas meter serves no credit at all
    assert info.describe()["bill"] == "2.5"


@pytest.mark.req("14.4", "16.22.3")
async def test_an_exporting_esme_serves_its_credit_in_bill_to_date_received(
    tmp_path: Path, started: Any
) -> None:
    """3 kW exported for ten minutes at -£0.15/kWh, nothing imported, no standing charge: the
    bill since the last bill is -£0.075, served as Received, with Delivered at 0."""
    clock = ManualClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    exporting = decode_tariff(
        {
            "tariff": 1,
            "name": "export",
            "fuel": "electricity",
            "effective_from": "2026-01-01T00:00:00Z",
            "single": {"label": "Flat", "import_price": "0.30", "export_price": "-0.15"},
        }
    )
    with SqliteStore(tmp_path / "esme.sqlite") as store:
        metrology = ConstantLoad(0)
        board = electricity_meter_board(clock, store, metrology)
        meter = EsmeFirmware(identity("esme"), board, TariffSetup(exporting))
        await started(meter)
        metrology.set_generation(3000)
        await clock.run_for(10 * 60)
        values = meter.zcl_server.cluster(METERING_CLUSTER).values(
            ["bill_to_date", "bill_to_date_received"]
        )
        billed = meter.tariff.tariff.registers().cost_since_bill.value
        assert -76_000_000 <= billed <= -74_000_000  # a sample's worth of export either way
        assert (int(values["bill_to_date"]), int(values["bill_to_date_received"])) == (
            0,
            -billed // NANO_PER_MICRO,
        )
        await meter.stop()

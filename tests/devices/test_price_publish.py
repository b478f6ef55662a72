"""The Price commands a meter builds from its tariff fit one frame, split as SE provides."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from devices.meter import price_publish
from firmware.zcl.cluster_server import ClusterServer
from firmware.zcl.frame import MAX_ZCL_PAYLOAD
from firmware.zcl.server import ZclServer
from protocol.se import Price
from protocol.tariff import tariff_from_json
from protocol.tariff.fixed import UnitPrice
from protocol.tariff.model import Fuel, Switch, Tariff, TimeOfUse, TouRegister

AT = datetime(2026, 1, 15, 6, tzinfo=UTC)
ROOT = Path(__file__).resolve().parents[2]


def tou(registers: int) -> Tariff:
    return Tariff(
        "Forty-eight rates",
        Fuel.ELECTRICITY,
        AT,
        TimeOfUse(
            tuple(
                TouRegister(n, f"Rate {n}", UnitPrice(100_000 + n)) for n in range(1, registers + 1)
            ),
            (Switch(0, 1),),
        ),
    )


@pytest.mark.parametrize("registers", [1, 2, 7, 8, 48])
def test_every_price_command_fits_one_frame_and_the_matrix_is_split(registers: int) -> None:
    tariff = tou(registers)
    server = ZclServer([ClusterServer(Price, {})])
    matrix = price_publish.price_matrix(tariff, 9, 1)
    commands = [
        price_publish.publish_price(tariff, price_publish.HanPrice(registers, "Rate", 1), AT, 1),
        price_publish.tariff_information(tariff, 9, 1),
        *matrix,
        price_publish.billing_period(tariff, AT, 31, 1),
        price_publish.cancel_tariff(9),
    ]
    frames = [server.command_frame(Price.cluster_id, command) for command in commands]
    assert all(len(frame) <= MAX_ZCL_PAYLOAD for frame in frames)
    entries = [(e.tier_block_id, e.price) for c in matrix for e in c.fields["price_matrix"]]
    assert entries == [(n, 100_000 + n) for n in range(1, registers + 1)]
    assert [c.fields["command_index"] for c in matrix] == list(range(len(matrix)))
    assert {c.fields["total_number_of_commands"] for c in matrix} == {len(matrix)}


def test_block_thresholds_and_period_of_a_block_tariff_fit_one_frame() -> None:
    tariff = tariff_from_json((ROOT / "rigs" / "tariffs" / "block.json").read_bytes())
    server = ZclServer([ClusterServer(Price, {})])
    commands = price_publish.block_thresholds(tariff, 3, 1)
    frames = [server.command_frame(Price.cluster_id, c) for c in commands]
    assert frames and all(len(frame) <= MAX_ZCL_PAYLOAD for frame in frames)
    sent = [
        (int(e.tier_and_count.tier), list(e.block_thresholds))
        for c in commands
        for e in c.fields["block_thresholds"]
    ]
    limits = [b.up_to_wh for b in tariff.structure.blocks if b.up_to_wh is not None]  # type: ignore[union-attr]
    assert sent == [(0, limits)]
    period = price_publish.block_period(tariff, AT, 1)
    assert period is not None
    assert len(server.command_frame(Price.cluster_id, period)) <= MAX_ZCL_PAYLOAD
    assert period.fields["block_period_duration"] == tariff.structure.period_days  # type: ignore[union-attr]


@pytest.mark.req("16.20", "16.11.10")
@pytest.mark.parametrize("label", ["Critical peak", "Winter £ peak", "Économie sept"])
def test_a_long_rate_label_is_cut_so_publish_price_fits_one_frame(label: str) -> None:
    """A CPP event's label (or a long register label) must not make PublishPrice too long for
    the HAN: the price would never reach the IHD."""
    tariff = tariff_from_json((ROOT / "rigs" / "tariffs" / "demo-electricity.json").read_bytes())
    command = price_publish.publish_price(
        tariff, price_publish.HanPrice(2, label[:12], 910_000_000), AT, 7
    )
    definition = Price.ClientCommandDefs.publish_price
    body = definition.schema(**command.fields).serialize()
    assert len(body) + 3 <= MAX_ZCL_PAYLOAD
    shown = bytes(command.fields["rate_label"]).decode("utf-8")
    assert shown and label.startswith(shown)

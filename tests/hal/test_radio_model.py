"""The air's radio model: log-distance path loss, walls, LQI, and losses near sensitivity.

The model is what makes the hub's per-device signal report (12.1.r, 20.4.1.c) mean something,
and what puts a device out of the hub's direct reach (6.1.8).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.rig import load_rig
from hal.emulated.air_channel import DEFAULT_LQI, DEFAULT_RSSI, AirChannel
from hal.radio_model import RadioModel, lqi_from_rssi
from protocol.air_link import Receive, Transmit
from protocol.errors import ConfigError
from tests.rig_files import demo_rig_copy


def model_at(*distances: float, **kwargs: object) -> RadioModel:
    positions = {"hub": (0.0, 0.0)} | {f"n{d:g}": (d, 0.0) for d in distances}
    return RadioModel(positions, **kwargs)  # type: ignore[arg-type]


def test_rssi_falls_with_distance() -> None:
    model = model_at(1, 3, 10, 30)
    rssi = [model.rssi("hub", f"n{d}") for d in (1, 3, 10, 30)]
    # tx 3 dBm, 40 dB at 1 m, then 30 dB per decade (n = 3).
    assert rssi == [-37, -51, -67, -81]
    assert model.rssi("n3", "hub") == model.rssi("hub", "n3")


def test_closer_than_a_metre_is_as_strong_as_a_metre() -> None:
    model = model_at(0, 0.5, 1)
    assert model.rssi("hub", "n0") == model.rssi("hub", "n0.5") == model.rssi("hub", "n1")


def test_wall_attenuation_applies_both_ways_and_only_to_its_link() -> None:
    plain = model_at(10, 11)
    walled = model_at(10, 11, attenuation_db={frozenset(("hub", "n10")): 20.0})
    assert walled.rssi("hub", "n10") == plain.rssi("hub", "n10") - 20  # type: ignore[operator]
    assert walled.rssi("n10", "hub") == walled.rssi("hub", "n10")
    assert walled.rssi("hub", "n11") == plain.rssi("hub", "n11")


def test_exponent_steepens_the_fall() -> None:
    assert model_at(10, path_loss_exponent=4.0).rssi("hub", "n10") == -77
    assert model_at(10, path_loss_exponent=2.0).rssi("hub", "n10") == -57


def test_lqi_is_monotonic_and_clipped() -> None:
    values = [lqi_from_rssi(rssi) for rssi in range(-120, 0)]
    assert values == sorted(values)
    assert lqi_from_rssi(-120) == lqi_from_rssi(-100) == 0
    assert lqi_from_rssi(-40) == lqi_from_rssi(-10) == 255
    assert 0 < lqi_from_rssi(-70) < 255


def heard(channel: AirChannel, sender: str, receiver: str, frames: int = 1) -> list[Receive]:
    got: list[Receive] = []
    tx = channel.attach(1, sender, lambda _m: None)
    rx = channel.attach(2, receiver, got.append)
    for _ in range(frames):
        channel.transmit(tx, Transmit(15, b"\x01\x02"))
    channel.detach(tx)
    channel.detach(rx)
    return got


def test_reception_carries_the_modelled_rssi_and_lqi() -> None:
    (message,) = heard(AirChannel(model_at(10)), "hub", "n10")
    assert (message.rssi, message.lqi) == (-67, lqi_from_rssi(-67))
    assert message.psdu == b"\x01\x02"


def test_out_of_range_frames_are_not_delivered() -> None:
    channel = AirChannel(model_at(200))
    assert channel.model is not None and channel.model.rssi("hub", "n200") == -106
    assert heard(channel, "hub", "n200", frames=50) == []


def test_fade_margin_loses_some_frames_reproducibly() -> None:
    # 80 m: -94 dBm, inside the 10 dB above the -100 dBm sensitivity.
    def run(seed: int) -> list[int]:
        channel = AirChannel(model_at(80, seed=seed))
        got = heard(channel, "hub", "n80", frames=200)
        return [m.rssi for m in got]

    first = run(7)
    assert 0 < len(first) < 200
    assert all(rssi == -94 for rssi in first)
    assert len(run(7)) == len(first)
    lengths = {len(run(seed)) for seed in range(5)}
    assert len(lengths) > 1, "the seed should matter"


def test_unknown_nodes_get_the_default_good_link() -> None:
    channel = AirChannel(model_at(200))
    (message,) = heard(channel, "attacker", "n200")
    assert (message.rssi, message.lqi) == (DEFAULT_RSSI, DEFAULT_LQI)
    (message,) = heard(channel, "hub", "sniffer")
    assert (message.rssi, message.lqi) == (DEFAULT_RSSI, DEFAULT_LQI)


def test_channel_without_a_model_is_unchanged() -> None:
    messages = heard(AirChannel(), "hub", "anything", frames=3)
    assert [(m.rssi, m.lqi) for m in messages] == [(DEFAULT_RSSI, DEFAULT_LQI)] * 3


def test_demo_rig_positions_and_wall(tmp_path: Path) -> None:
    model = load_rig(demo_rig_copy(tmp_path)).radio_model
    assert model.positions["hub"] == (0.0, 0.0)
    assert set(model.positions) == {"hub", "esme", "gsme", "ihd"}
    assert model.attenuation_db[frozenset(("hub", "gsme"))] == 10.0
    esme, gsme = model.rssi("hub", "esme"), model.rssi("hub", "gsme")
    assert esme is not None and gsme is not None and gsme < esme


def test_default_positions_spread_devices_three_metres_apart(tmp_path: Path) -> None:
    path = demo_rig_copy(tmp_path)
    text = "\n".join(
        line for line in path.read_text().splitlines() if not line.startswith("position")
    )
    path.write_text(text)
    positions = load_rig(path).radio_model.positions
    assert positions == {
        "hub": (0.0, 0.0),
        "esme": (3.0, 0.0),
        "gsme": (6.0, 0.0),
        "ihd": (9.0, 0.0),
    }


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("position = [5.0, 2.0]", "position = [5.0]", r"\[device #2\] position: must be"),
        ("position = [5.0, 2.0]", 'position = ["a", 2]', r"\[device #2\] position: must be"),
        ("position = [0.0, 0.0]", "position = 3", r"\[hub\] position: must be"),
        ("path_loss_exponent = 3.0", "path_loss_exponent = 0.5", "path_loss_exponent"),
        ("path_loss_exponent = 3.0", 'path_loss_exponent = "x"', "must be float"),
        ("seed = 0 ", "seed = 1.5 ", r"\[air\] seed: must be int"),
        ('b = "gsme"', 'b = "garage"', r"\[air.link #1\] b: 'garage' is not a component"),
        ('b = "gsme"', 'b = "hub"', "two distinct components"),
        ("attenuation_db = 10.0", "attenuation_db = -3", "attenuation_db: must be at least"),
        ("attenuation_db = 10.0", "", "needs 'attenuation_db'"),
    ],
)
def test_bad_radio_settings_name_the_file_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    path = demo_rig_copy(tmp_path)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message) as raised:
        load_rig(path)
    assert str(path) in str(raised.value)

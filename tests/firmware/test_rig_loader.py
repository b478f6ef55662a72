"""The rig file is checked once, at load, with the file and the key named: nothing a rig could
trip over later gets through (issue 7: no bad rig file starts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from firmware.rig import load_rig
from protocol.errors import ConfigError
from tests.rig_files import demo_rig_copy


@pytest.fixture
def rig_path(tmp_path: Path) -> Path:
    return demo_rig_copy(tmp_path)


def edited(path: Path, old: str, new: str, count: int = 1) -> Path:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))
    return path


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (  # two devices with one EUI-64: the HAN would see one node
            'eui64 = "00:0d:6f:00:00:00:20:01"',
            'eui64 = "00:0d:6f:00:00:00:10:01"',
            r"\[\[device\]\] 'gsme' eui64: 'esme' has the same EUI-64",
        ),
        (  # a device with the hub's EUI-64
            'eui64 = "00:0d:6f:00:00:00:10:01"',
            'eui64 = "00:0d:6f:00:00:00:00:01"',
            r"'esme' eui64: 'hub' has the same EUI-64",
        ),
        ("pan_id = 0x1A62", "pan_id = 0xFFFF", r"\[hub\] pan_id: must be within 0\.\.65534"),
        ('wan_id = "hub-0001"', 'wan_id = "hub/+/#"', r"\[hub\] wan_id: 'hub/\+/#' must be"),
        ('wan_id = "hub-0001"', 'wan_id = "a/b"', r"\[hub\] wan_id: 'a/b'"),
        (
            'load = "household"',
            "load = -5",
            r"\[device #1\] load: must be at least 0",
        ),
        (
            'install_code = "83FED3407A939723A5C639B26916D505C3B5"',
            'install_code = "83FED3407A939723A5C639B26916D505C3B6"',
            r"\[device #1\] install_code: .*CRC",
        ),
        ("channel = 15", "channel = 27", r"\[hub\] channel: must be within 11\.\.26"),
        (
            'radio = "emulated"            # or',
            'radio = "usb0"            # or',
            r"\[hub\] radio: 'usb0'",
        ),
        ("scale = 1.0", "scale = -1.0", r"\[rig\] scale: must be at least"),
        (
            'epoch = "2026-01-15T06:00:00Z"',
            'epoch = "2026-01-15T06:00:00"',
            r"\[rig\] epoch: .*UTC offset",
        ),
        ('name = "ihd"', 'name = "esme"', "two components are named 'esme'"),
        ('name = "ihd"', 'name = "broker"', r"\[device #3\] name: 'broker' is taken"),
        ('name = "ihd"', 'name = "../etc"', r"\[device #3\] name: '\.\./etc' must be"),
    ],
)
def test_a_bad_rig_is_refused_naming_the_file_and_the_key(
    rig_path: Path, old: str, new: str, message: str
) -> None:
    edited(rig_path, old, new)
    with pytest.raises(ConfigError, match=message) as raised:
        load_rig(rig_path)
    assert str(rig_path) in str(raised.value)


def test_pv_behind_the_esme_only(rig_path: Path) -> None:
    assert load_rig(rig_path).devices["esme"].pv_peak_kw == 0.0
    edited(rig_path, 'name = "esme"\n', 'name = "esme"\npv_peak_kw = 3.5\n')
    assert load_rig(rig_path).devices["esme"].pv_peak_kw == 3.5
    edited(rig_path, 'name = "gsme"\n', 'name = "gsme"\npv_peak_kw = 1\n')
    with pytest.raises(ConfigError, match=r"pv_peak_kw: only an electricity meter"):
        load_rig(rig_path)


def test_a_rig_file_that_is_not_utf8_is_refused_cleanly(tmp_path: Path) -> None:
    path = tmp_path / "rig.toml"
    path.write_bytes('[rig]\nname = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(ConfigError, match=r"not UTF-8 text \(byte 17\)"):
        load_rig(path)


def test_defaults_taken_for_missing_sections_are_said(rig_path: Path) -> None:
    text = rig_path.read_text()
    start = text.index("[broker]")
    end = text.index("[hub]")
    rig_path.write_text(text[:start] + text[end:])  # no [broker], no [air]
    rig = load_rig(rig_path)
    assert (rig.broker.port, rig.air.port) == (1883, 17840)
    assert any("no [broker] port: using 1883" in note for note in rig.notes)
    assert any("no [air] port: using 17840" in note for note in rig.notes)
    assert load_rig(demo_rig_copy(rig_path.parent.parent / "again")).notes == ()

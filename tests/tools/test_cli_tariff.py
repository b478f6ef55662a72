"""`smartmeter tariff simulate` in a subprocess: registers and costs as JSON, one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TARIFFS = ROOT / "rigs" / "tariffs"


def smartmeter(*argv: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", *map(str, argv)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_simulate_prints_registers_and_costs(tmp_path: Path) -> None:
    profile = tmp_path / "day.csv"
    # 10 Wh a minute for a winter day (GMT): Economy 7 night 00:30-07:30 is 7 hours.
    rows = ["timestamp,import_wh"] + [
        f"2026-01-15T{h:02d}:{m:02d}:00+00:00,{(h * 60 + m) * 10}"
        for h in range(24)
        for m in (0, 30)
    ]
    rows.append(f"2026-01-16T00:00:00+00:00,{24 * 60 * 10}")
    profile.write_text("\n".join(rows) + "\n")
    done = smartmeter(
        "tariff",
        "simulate",
        "--tariff",
        TARIFFS / "demo-electricity.json",
        "--profile",
        profile,
        "--cpp",
        TARIFFS / "cpp-event.json",
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    regs = result["registers"]
    assert result["intervals"] == 48
    assert regs["import_wh"] == 14_400
    night = next(r for r in regs["tou"] if r["label"] == "Night")
    assert night["import_wh"] == 7 * 600
    (cpp,) = regs["cpp"]
    assert cpp["tier_wh"] == [1_000, 200]  # 17:00-19:00 is 1.2 kWh, above 1 kWh at tier 2
    day = next(r for r in regs["tou"] if r["label"] == "Day")
    assert day["import_wh"] == 14_400 - 7 * 600 - 1_200
    expected = (
        Decimal(day["import_wh"]) * Decimal("0.30567") / 1000
        + Decimal(night["import_wh"]) * Decimal("0.14213") / 1000
        + Decimal("1.00") * Decimal("0.55")
        + Decimal("0.2") * Decimal("0.95")
        + 2 * Decimal("0.5389")  # 15 January and the midnight ending the profile
    )
    assert Decimal(regs["total_cost"]) == expected
    codes = [e["code"] for e in result["events"]]
    assert codes == [401, 2105, 2106]


def test_simulate_switches_to_a_later_tariff(tmp_path: Path) -> None:
    later = json.loads((TARIFFS / "single-rate.json").read_text())
    later["effective_from"] = "2026-01-15T12:00:00+00:00"
    later_path = tmp_path / "later.json"
    later_path.write_text(json.dumps(later))
    profile = tmp_path / "p.csv"
    profile.write_text(
        "timestamp,import_wh,export_wh\n"
        "2026-01-15T00:00:00+00:00,0,0\n"
        "2026-01-16T00:00:00+00:00,2400,0\n"
    )
    done = smartmeter(
        "tariff",
        "simulate",
        "--tariff",
        later_path,
        "--tariff",
        TARIFFS / "demo-electricity.json",
        "--profile",
        profile,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["tariff"] == "Standard variable"
    assert [e["code"] for e in result["events"]] == [401, 403]


BAD_PROFILES = [
    ("time,kwh\n2026-01-01T00:00:00Z,0\n", "a header timestamp,import_wh"),
    ("timestamp,import_wh\n2026-01-01T00:00:00Z,0\n", "at least two readings"),
    ("timestamp,import_wh\n2026-01-01T00:00:00,0\n2026-01-01T01:00:00,1\n", "UTC offset"),
    ("timestamp,import_wh\n2026-01-01T00:00:00Z,5\n2026-01-01T01:00:00Z,4\n", "never decrease"),
    ("timestamp,import_wh\n2026-01-01T01:00:00Z,0\n2026-01-01T00:00:00Z,4\n", "a time after"),
    ("timestamp,import_wh\n2026-01-01T00:00:00Z,0\n2026-01-01T01:00:00Z,1.5\n", "whole Wh"),
    ("timestamp,import_wh\n2026-01-01T00:00:00Z,0\n2026-01-01T01:00:00Z\n", "2 columns"),
]


@pytest.mark.parametrize(("text", "message"), BAD_PROFILES, ids=[m for _, m in BAD_PROFILES])
def test_a_bad_profile_is_one_line_and_status_1(tmp_path: Path, text: str, message: str) -> None:
    profile = tmp_path / "bad.csv"
    profile.write_text(text)
    done = smartmeter(
        "tariff", "simulate", "--tariff", TARIFFS / "single-rate.json", "--profile", profile
    )
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("smartmeter: error: ") and done.stderr.count("\n") == 1
    assert message in done.stderr


def test_a_bad_tariff_file_is_one_line_and_status_1(tmp_path: Path) -> None:
    tariff = json.loads((TARIFFS / "single-rate.json").read_text())
    tariff["single"]["import_price"] = 0.25
    path = tmp_path / "float.json"
    path.write_text(json.dumps(tariff))
    for argv, message in [
        (("--tariff", path), "a decimal string"),
        (("--tariff", tmp_path / "missing.json"), "No such file"),
        (("--tariff", TARIFFS / "single-rate.json", "--tz", "Mars/Olympus"), "unknown time zone"),
    ]:
        done = smartmeter("tariff", "simulate", *argv, "--profile", TARIFFS / "profile-example.csv")
        assert done.returncode == 1, done.stdout
        assert done.stderr.startswith("smartmeter: error: ") and done.stderr.count("\n") == 1
        assert message in done.stderr

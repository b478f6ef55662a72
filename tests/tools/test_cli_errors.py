"""No traceback ever reaches a user: every `smartmeter` command, given something wrong (a file
that does not exist or cannot be read, a component that is not running, a name the rig does not
have, a value out of range), exits 1 with one line `smartmeter: error: …` (issue 7)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.rig_files import demo_rig_copy

ROOT = Path(__file__).resolve().parents[2]


def run(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("SMARTMETER_RIG", None)
    return subprocess.run(
        [sys.executable, "-m", "tools.cli", *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo rig on its own ports and run directory, not running."""
    return demo_rig_copy(tmp_path_factory.mktemp("cli"))


@pytest.fixture(scope="module")
def not_utf8(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bad") / "latin1.toml"
    path.write_bytes('[rig]\nname = "caf\xe9"\n'.encode("latin-1"))
    return path


CPP = ("headend", "tariff", "cpp", "esme", "--id", "1")
BAD = [
    ("rig", "up", "{missing}"),
    ("rig", "up", "{not_utf8}"),
    ("rig", "up", "{directory}"),
    ("headend", "read", "esme", "--rig", "{rig}"),
    ("headend", "read", "garage", "--rig", "{rig}"),
    ("headend", "remove", "esme", "--rig", "{rig}"),
    ("headend", "commission", "garage", "--rig", "{rig}"),
    ("headend", "status", "--rig", "{rig}"),
    ("headend", "events", "--rig", "{rig}"),
    ("headend", "alerts", "--rig", "{rig}"),
    ("headend", "alerts", "--limit", "0", "--rig", "{rig}"),
    ("headend", "config", "get", "esme", "--rig", "{rig}"),
    ("headend", "config", "set", "garage", "outbox.retry_count", "3", "--rig", "{rig}"),
    ("headend", "push-schedule", "esme", "--interval", "-1", "--rig", "{rig}"),
    ("headend", "read", "esme", "--rig", "{not_utf8}"),
    ("bench", "esme", "display", "--rig", "{rig}"),
    ("bench", "garage", "display", "--rig", "{rig}"),
    ("bench", "esme", "load", "-5", "--rig", "{rig}"),
    ("bench", "esme", "load", "99999", "--rig", "{rig}"),
    ("bench", "ihd", "load", "100", "--rig", "{rig}"),
    ("bench", "esme", "registers", "--rig", "{missing}"),
    ("hub", "status", "--rig", "{rig}"),
    ("hub", "events", "--rig", "{rig}"),
    ("han", "keys", "--rig", "{rig}"),
    ("han", "capture", "/nonexistent/x.pcap", "--duration", "1", "--rig", "{rig}"),
    ("han", "capture", "{directory}", "--duration", "1", "--rig", "{rig}"),
    ("han", "capture", "out.pcap", "--duration", "0", "--rig", "{rig}"),
    ("headend", "tariff", "set", "esme", "{rig}", "--rig", "{rig}"),  # not a tariff document
    ("headend", "tariff", "set", "garage", "{missing}", "--rig", "{rig}"),
    ("headend", "tariff", "set", "esme", "{missing}", "--rig", "{rig}"),
    ("headend", "tariff", "registers", "esme", "--rig", "{rig}"),  # the rig is not running
    (*CPP, "--start", "17:00", "--minutes", "5", "--price1", "0.5", "--rig", "{rig}"),
    (
        *CPP,
        "--start",
        "2026-01-15T17:00+00:00",
        "--minutes",
        "0",
        "--price1",
        "0.5",
        "--rig",
        "{rig}",
    ),
    ("headend", "tariff", "gas-conversion", "gsme", "--cv", "lots", "--rig", "{rig}"),
    ("headend", "tariff", "items", "esme", "--suppress", "--rig", "{rig}"),
    ("bench", "ihd", "cpp", "accept", "--rig", "{rig}"),
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a[:3]) for a in BAD])
def test_a_bad_argument_is_one_line_and_exit_status_1(
    argv: tuple[str, ...], rig: Path, not_utf8: Path, tmp_path: Path
) -> None:
    values = {
        "rig": str(rig),
        "missing": str(tmp_path / "no-such-rig.toml"),
        "not_utf8": str(not_utf8),
        "directory": str(tmp_path),
    }
    result = run(*(part.format(**values) for part in argv), cwd=tmp_path)
    lines = result.stderr.strip().splitlines()
    assert "Traceback" not in result.stderr + result.stdout
    assert result.returncode == 1, result.stderr
    assert len(lines) == 1 and lines[0].startswith("smartmeter: error: "), result.stderr

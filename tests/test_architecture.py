"""The layers hold: `make check` refuses a sideways import, a backend named by firmware, and I/O in
protocol/ (import-linter contracts in pyproject.toml, and the call scan below for what an import
contract cannot see)."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("protocol", "hal", "firmware", "devices", "hub", "tools")
#: Calls that read the host's clock or talk to the outside world; protocol/ takes time and
#: bytes as arguments instead (STYLE.md: sans-IO).
IO_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("datetime", "today"),
    ("date", "today"),
    (None, "open"),
    (None, "print"),
    (None, "input"),
}


def io_calls(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Name) and (None, func.id) in IO_CALLS:
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {func.id}()")
        elif (
            isinstance(func, ast.Attribute)
            and isinstance(func.value, ast.Name)
            and (func.value.id, func.attr) in IO_CALLS
        ):
            found.append(f"{path.relative_to(ROOT)}:{node.lineno} {func.value.id}.{func.attr}()")
    return found


def test_protocol_makes_no_io_calls() -> None:
    calls = [call for path in sorted((ROOT / "protocol").rglob("*.py")) for call in io_calls(path)]
    assert calls == [], "protocol/ is sans-IO; inject the clock or the bytes instead"


def test_the_call_scan_sees_a_clock_read(tmp_path: Path) -> None:
    planted = ROOT / "protocol" / "_planted_for_test.py"
    source = tmp_path / "clock.py"
    source.write_text("from datetime import datetime\nNOW = datetime.now()\n")
    shutil.copy(source, planted)
    try:
        assert io_calls(planted) == ["protocol/_planted_for_test.py:2 datetime.now()"]
    finally:
        planted.unlink()


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).parent / "lint-imports"), "--config", "pyproject.toml"],
        cwd=tree,
        env={"PYTHONPATH": str(tree), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A copy of the packages and the contracts, to plant violations in."""
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("devices/esme/firmware.py", "import hub.firmware", "Layers"),
        ("hub/wan_bridge.py", "import devices.esme.firmware", "Layers"),
        ("hal/ports.py", "import firmware.rig", "Layers"),
        ("firmware/event_log.py", "import tools.cli", "Layers"),
        ("devices/meter/meter_firmware.py", "import hal.emulated.clock", "never backends"),
        ("hub/firmware.py", "import hal.real.mqtt_wan", "never backends"),
        ("devices/ihd/firmware.py", "import firmware.wiring", "Only the composition roots"),
        ("protocol/pcap.py", "import socket", "protocol does no I/O"),
        ("protocol/wan.py", "import uuid", "protocol does no I/O"),
    ],
)
def test_a_crossing_import_breaks_the_contracts(
    tree: Path, module: str, planted: str, contract: str
) -> None:
    assert lint_imports(tree).returncode == 0, "the contracts hold on the tree as it is"
    with (tree / module).open("a") as source:
        source.write(f"\n{planted}  # noqa\n")
    result = lint_imports(tree)
    assert result.returncode != 0
    broken = [line for line in result.stdout.splitlines() if "BROKEN" in line]
    assert any(contract in line for line in broken) or contract in result.stdout, result.stdout

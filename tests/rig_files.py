"""Rig files for tests: the demo premises on reserved ports, with its state in a temporary folder."""

from __future__ import annotations

import re
from pathlib import Path

from tests.ports import reserve_port
from tests.programs import require_program

DEMO_RIG = Path(__file__).resolve().parent.parent / "rigs" / "demo.toml"


def demo_rig_copy(folder: Path, *, broker_kind: str = "auto") -> Path:
    """`rigs/demo.toml` with reserved ports, its run_dir inside `folder`, and the given broker.

    Integration tests ask for "mosquitto", which CI installs: without it they fail, saying so.
    """
    if broker_kind == "mosquitto":
        require_program("mosquitto")
    text = DEMO_RIG.read_text()
    text = re.sub(r"(?m)^run_dir = .*$", f'run_dir = "{folder / "run"}"', text)
    text = re.sub(r"(?m)^kind = \"auto\".*$", f'kind = "{broker_kind}"', text)
    # The meters' tariff files stay where they are: relative to the project, not the copy.
    project = DEMO_RIG.parent.parent
    text = re.sub(r'(?m)^tariff = "([^"]+)"', lambda m: f'tariff = "{project / m[1]}"', text)
    ports = iter([reserve_port(), reserve_port()])
    text = re.sub(r"(?m)^port = \d+", lambda _m: f"port = {next(ports)}", text)
    path = folder / "rigs" / "rig.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path

"""Rig files for tests: the demo premises on free ports, with its state in a temporary folder."""

from __future__ import annotations

import re
import socket
from pathlib import Path

DEMO_RIG = Path(__file__).resolve().parent.parent / "rigs" / "demo.toml"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def demo_rig_copy(folder: Path, *, broker_kind: str = "auto") -> Path:
    """`rigs/demo.toml` with fresh ports, its run_dir inside `folder`, and the given broker."""
    text = DEMO_RIG.read_text()
    text = re.sub(r"(?m)^run_dir = .*$", f'run_dir = "{folder / "run"}"', text)
    text = re.sub(r"(?m)^kind = \"auto\".*$", f'kind = "{broker_kind}"', text)
    ports = iter([free_port(), free_port()])
    text = re.sub(r"(?m)^port = \d+", lambda _m: f"port = {next(ports)}", text)
    path = folder / "rigs" / "rig.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path

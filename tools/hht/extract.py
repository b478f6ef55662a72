"""`hht extract`: everything a meter holds, through the probe, into a JSON file (20.5.1, 20.5.4.2).

Before the transfer begins the HHT checks it has room for it (D.1.8): the largest readout a
meter may send (`BLOCK_MAX` of the HHT's connection) twice over, for the file and its copy
being written, plus a margin. Without the room, nothing is read and the installer is warned.
The file is written beside its final name and renamed, so a full disk never leaves half a file.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from protocol.errors import SmartMeterError
from protocol.iec62056_21.connection import BLOCK_MAX
from protocol.iec62056_21.frames import DataSet

__all__ = ["NEEDED_BYTES", "NoRoom", "check_room", "write_extract"]

NEEDED_BYTES = 2 * BLOCK_MAX["hht"] + 64 * 1024


class Usage(NamedTuple):
    total: int
    used: int
    free: int


class NoRoom(SmartMeterError):
    """The HHT has not the memory for the transfer: it was not started (D.1.8)."""


def check_room(
    path: Path, needed: int = NEEDED_BYTES, usage: Callable[[Path], Any] = shutil.disk_usage
) -> int:
    """The bytes free where `path` will be written; NoRoom if fewer than `needed`."""
    folder = path.parent if path.parent != Path("") else Path(".")
    free = int(usage(folder).free)
    if free < needed:
        raise NoRoom(
            f"not enough memory on the HHT for the extract: {free} bytes free at {folder}, "
            f"{needed} needed; the transfer was not started: free some space and try again"
        )
    return free


def write_extract(
    path: Path, identification: str, data: list[DataSet], engineer: str
) -> dict[str, Any]:
    document = {
        "meter": identification,
        "extracted_at": datetime.now(UTC).isoformat(),
        "engineer": engineer,
        "data": [{"obis": d.address, "value": d.value, "unit": d.unit} for d in data],
    }
    temporary = path.with_name(path.name + ".part")
    temporary.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(temporary, path)
    return document

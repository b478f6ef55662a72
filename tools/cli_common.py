"""Pieces every `smartmeter` subcommand shares: finding the rig, naming components, printing.

Kept apart from `tools/cli.py` so the subcommand modules can use them without importing the
module that imports them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from firmware.rig import Rig, load_rig
from protocol.errors import ConfigError, SmartMeterError

RIG_ENV = "SMARTMETER_RIG"
DEFAULT_RIG = Path("rigs/demo.toml")


class UsageError(SmartMeterError):
    """The command line asked for something that cannot be done; the message says why."""


def default_rig_path() -> Path:
    """The rig used when none is named: $SMARTMETER_RIG, else rigs/demo.toml under the cwd."""
    return Path(os.environ.get(RIG_ENV) or DEFAULT_RIG)


def add_rig_option(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a subparser's default must not overwrite a value its parent already parsed.
    parser.add_argument(
        "--rig",
        default=argparse.SUPPRESS,
        metavar="RIG",
        help=f"rig file (default: ${RIG_ENV} or {DEFAULT_RIG})",
    )


def rig_from(args: argparse.Namespace) -> Rig:
    """Load the rig the command line names, or the default one."""
    given = getattr(args, "rig", None)
    path = Path(given) if given else default_rig_path()
    try:
        return load_rig(path)
    except ConfigError as exc:
        if given or path.exists():
            raise
        raise ConfigError(f"{exc} (name a rig file with --rig RIG or set ${RIG_ENV})") from None


def rig_option_hint(rig: Rig) -> str:
    """ " --rig PATH" for the hints we print, unless the rig is the one used by default."""
    if rig.path == default_rig_path().resolve():
        return ""
    try:
        shown = rig.path.relative_to(Path.cwd())
    except ValueError:
        shown = rig.path
    return f" --rig {shown}"


def component(rig: Rig, name: str) -> str:
    """`name` if the rig has a hub or device of that name; otherwise say which names exist."""
    known = [rig.hub.name, *rig.devices]
    if name not in known:
        raise UsageError(
            f"rig {rig.name!r} has no device named {name!r}; known: {', '.join(known)}"
        )
    return name


def print_json(value: Any) -> None:
    """One JSON document on stdout: what scripts parse and people can still read."""
    print(json.dumps(value, indent=2, sort_keys=False))
    sys.stdout.flush()


def without_ok(reply: dict[str, Any]) -> dict[str, Any]:
    """A control reply without the transport's "ok" flag: only what the component said."""
    return {key: value for key, value in reply.items() if key != "ok"}

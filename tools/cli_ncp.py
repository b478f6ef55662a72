"""`smartmeter ncp serve`: the emulated EZSP NCP as a virtual dongle for any EZSP host.

A thin front end over `tools.ncp_serve` (also `python -m tools.ncp_serve`): see there for what
the dongle does, and README.md, "A virtual EZSP dongle", for pointing zigpy-cli, Home
Assistant's ZHA and Zigbee2MQTT at it.
"""

from __future__ import annotations

import argparse
from typing import Any

from tools.ncp_serve import add_serve_arguments, options_from, run


def add_parsers(commands: Any) -> None:
    """Register `ncp` on the top-level subparsers."""
    ncp = commands.add_parser("ncp", help="a virtual EZSP dongle (emulated NCP) for any host")
    actions = ncp.add_subparsers(dest="action", required=True, metavar="ACTION")
    serve = actions.add_parser(
        "serve",
        help="serve an emulated EZSP NCP on TCP or a pty until Ctrl-C",
        description="Run an emulated Silicon Labs EZSP NCP that any EZSP host (zigpy/bellows, "
        "Home Assistant's ZHA, Zigbee2MQTT's ember adapter) opens like a network-attached "
        "(--tcp) or USB (--pty) dongle, on the air of a running rig (--rig) or on an air of "
        "its own. Every host session finds a freshly booted dongle; the tokens (network, keys, "
        "counters) persist in --state.",
    )
    add_serve_arguments(serve)
    serve.set_defaults(handler=ncp_serve)


def ncp_serve(args: argparse.Namespace) -> int:
    return run(options_from(args))

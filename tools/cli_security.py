"""`smartmeter headend change-supplier|disable-comms|restore-comms`: the network operator's
commands on the sealed WAN (12.6, 17.2.22, 17.2.23; README "WAN security")."""

from __future__ import annotations

import argparse
from typing import Any

from tools.cli_common import UsageError, add_rig_option, print_json, rig_from
from tools.headend import client
from tools.launcher import HEADEND

__all__ = ["add_headend_actions"]

LINKS = ("wan", "han", "both")


def add_headend_actions(actions: Any) -> None:
    change = actions.add_parser(
        "change-supplier",
        help="move a device to another supplier (network operator)",
        description="The network operator tells DEVICE's hub that DEVICE now answers to "
        "supplier TO (12.6): the previous supplier is refused from that instant; the device's "
        "history stays.",
    )
    change.add_argument("device")
    change.add_argument("--to", required=True, metavar="SUPPLIER", help="the new supplier")
    add_rig_option(change)
    change.set_defaults(handler=headend_change_supplier)
    for name, verb, handler in (
        ("disable-comms", "disable", headend_disable_comms),
        ("restore-comms", "restore", headend_restore_comms),
    ):
        parser = actions.add_parser(
            name,
            help=f"{verb} a device's WAN and/or HAN communications (network operator)",
            description=f"The network operator asks DEVICE's hub to {verb} its communications "
            "(17.2.22, 17.2.23): WAN (the hub refuses its supplier's commands), HAN (off the "
            "HAN until restored) or both.",
        )
        parser.add_argument("device")
        parser.add_argument("--link", choices=LINKS, default="both")
        add_rig_option(parser)
        parser.set_defaults(handler=handler)


def _control(args: argparse.Namespace) -> Any:
    rig = rig_from(args)
    if args.device not in rig.devices:
        raise UsageError(f"unknown device {args.device!r}; known devices: {', '.join(rig.devices)}")
    return rig.control_path(HEADEND)


def headend_change_supplier(args: argparse.Namespace) -> int:
    print_json(client.change_supplier(_control(args), args.device, args.to, args.supplier))
    return 0


def headend_disable_comms(args: argparse.Namespace) -> int:
    print_json(client.disable_comms(_control(args), args.device, args.link, args.supplier))
    return 0


def headend_restore_comms(args: argparse.Namespace) -> int:
    print_json(client.restore_comms(_control(args), args.device, args.link, args.supplier))
    return 0

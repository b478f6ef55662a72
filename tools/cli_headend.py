"""`smartmeter headend read|remove|commission|status|events|alerts|config|push-schedule`: drive
the head-end simulator of a running rig.

Thin front end over `tools.headend.client`, which talks to the head-end's control socket. A read
goes head-end -> MQTT -> hub -> ZigBee -> meter and back, and must answer within 10 s (clause
6.1.11); the head-end enforces the deadline and explains a miss.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from firmware.rig import Rig
from tools import cli_field, cli_security, cli_tariff_headend
from tools.cli_common import UsageError, add_rig_option, print_json, rig_from
from tools.headend import client
from tools.launcher import HEADEND


def add_parsers(commands: Any) -> None:
    headend = commands.add_parser("headend", help="the head-end simulator of a running rig")
    headend.add_argument(
        "--supplier",
        metavar="NAME",
        help="act as this supplier (default: the device's own; README 'WAN security')",
    )
    actions = headend.add_subparsers(dest="action", required=True, metavar="ACTION")
    read = actions.add_parser(
        "read",
        help="on-demand read of a device's registers, as one JSON object",
        description="Ask the head-end for an on-demand read of DEVICE over WAN and HAN "
        "(clause 6.1.11) and print its answer: registers with their units.",
    )
    read.add_argument("device", help="a device name from the rig file, e.g. esme")
    read.add_argument(
        "--timeout",
        type=float,
        default=client.READ_DEADLINE_S,
        help=f"seconds the head-end waits for the meter (default {client.READ_DEADLINE_S:g})",
    )
    add_rig_option(read)
    read.set_defaults(handler=headend_read)
    remove = actions.add_parser(
        "remove",
        help="remove a device from its HAN until it is commissioned again",
        description="Ask DEVICE's hub to remove it from the HAN (clause 17.2.6): it is told to "
        "leave, the trust centre forgets its key, and it cannot join again until "
        "`smartmeter headend commission DEVICE`.",
    )
    commission = actions.add_parser(
        "commission",
        help="let a removed device join its HAN again",
        description="Ask DEVICE's hub to give its trust centre the device's install-code key "
        "again, so the device joins on its next attempt.",
    )
    for parser, handler in ((remove, headend_remove), (commission, headend_commission)):
        parser.add_argument("device", help="a device name from the rig file, e.g. gsme")
        add_rig_option(parser)
        parser.set_defaults(handler=handler)
    status = actions.add_parser("status", help="the head-end's broker link and hubs, as JSON")
    add_rig_option(status)
    status.set_defaults(handler=headend_status)
    events = actions.add_parser("events", help="recent events from hubs, as JSON")
    events.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    add_rig_option(events)
    events.set_defaults(handler=headend_events)
    cli_field.add_headend_actions(actions)
    cli_security.add_headend_actions(actions)
    _add_delivery_parsers(actions)
    cli_tariff_headend.add_tariff_actions(actions)


def _add_delivery_parsers(actions: Any) -> None:
    """alerts, config get|set, push-schedule (clauses 12.1.o, 12.1.r, 18.8, 19.1.7)."""
    alerts = actions.add_parser("alerts", help="recent alerts from hubs, as JSON")
    alerts.add_argument("--limit", type=int, default=20, help="how many (default 20)")
    alerts.add_argument("--supplier", help="only this supplier's alerts")
    add_rig_option(alerts)
    alerts.set_defaults(handler=headend_alerts)
    config = actions.add_parser(
        "config",
        help="read or change a hub's delivery settings",
        description="Read (get) or change (set) a setting of the hub behind DEVICE: event "
        "treatment (events.class.high, events.code.703, ...), retries (outbox.retry_*), "
        "exchanges (exchange.*), sync and push schedules. VALUE is JSON (a bare word is text).",
    )
    verbs = config.add_subparsers(dest="verb", required=True, metavar="get|set")
    get = verbs.add_parser("get", help="one setting, or all of them")
    get.add_argument("device", help="a device behind the hub, e.g. esme")
    get.add_argument("key", nargs="?", help="the setting (default: all)")
    set_ = verbs.add_parser("set", help="change one setting")
    set_.add_argument("device", help="a device behind the hub, e.g. esme")
    set_.add_argument("key", help="the setting")
    set_.add_argument("value", help="its new value (JSON; null removes a rule)")
    for parser in (get, set_):
        add_rig_option(parser)
        parser.set_defaults(handler=headend_config)
    push = actions.add_parser(
        "push-schedule",
        help="read or set how often a meter's readings are pushed",
        description="Show DEVICE's push schedule, or set it with --interval SECONDS "
        "(0 suppresses it; clauses 6.1.3, 12.1.o).",
    )
    push.add_argument("device", help="a meter, e.g. esme")
    push.add_argument("--interval", type=float, help="seconds between pushes (0: none)")
    add_rig_option(push)
    push.set_defaults(handler=headend_push_schedule)


def _device_rig(args: argparse.Namespace) -> Rig:
    rig = rig_from(args)
    if args.device not in rig.devices:
        known = ", ".join(rig.devices) or "none"
        raise UsageError(f"unknown device {args.device!r}; known devices: {known}")
    return rig


def headend_read(args: argparse.Namespace) -> int:
    rig = _device_rig(args)
    if not 0 < args.timeout <= 600:
        raise UsageError("--timeout must be a number of seconds from 0 to 600")
    print_json(client.read(rig.control_path(HEADEND), args.device, args.timeout, args.supplier))
    return 0


def headend_remove(args: argparse.Namespace) -> int:
    rig = _device_rig(args)
    control = rig.control_path(HEADEND)
    print_json(client.remove(control, args.device, supplier=args.supplier))
    return 0


def headend_commission(args: argparse.Namespace) -> int:
    rig = _device_rig(args)
    control = rig.control_path(HEADEND)
    print_json(client.commission(control, args.device, supplier=args.supplier))
    return 0


def headend_status(args: argparse.Namespace) -> int:
    print_json(client.status(rig_from(args).control_path(HEADEND)))
    return 0


def headend_events(args: argparse.Namespace) -> int:
    if not 0 < args.limit <= 10_000:
        raise UsageError("--limit must be from 1 to 10000")
    print_json(client.events(rig_from(args).control_path(HEADEND), args.limit))
    return 0


def headend_alerts(args: argparse.Namespace) -> int:
    if not 0 < args.limit <= 10_000:
        raise UsageError("--limit must be from 1 to 10000")
    print_json(client.alerts(rig_from(args).control_path(HEADEND), args.limit, args.supplier))
    return 0


def json_value(text: str) -> Any:
    """A setting's value from the command line: JSON, or else the bare word as text."""
    try:
        return json.loads(text)
    except ValueError:
        return text  # a bare word: send_now, low, ...


def headend_config(args: argparse.Namespace) -> int:
    rig = _device_rig(args)
    control = rig.control_path(HEADEND)
    if args.verb == "get":
        fields = {} if args.key is None else {"key": args.key}
        print_json(client.hub_command(control, "config_get", args.device, **fields))
    else:
        value = json_value(args.value)
        print_json(
            client.hub_command(control, "config_set", args.device, key=args.key, value=value)
        )
    return 0


def headend_push_schedule(args: argparse.Namespace) -> int:
    rig = _device_rig(args)
    if args.interval is not None and not 0 <= args.interval <= 366 * 86400:
        raise UsageError("--interval must be from 0 to 31622400 seconds")
    fields = {} if args.interval is None else {"interval_s": args.interval}
    print_json(
        client.hub_command(rig.control_path(HEADEND), "push_schedule", args.device, **fields)
    )
    return 0

"""`smartmeter bench DEVICE ...` and `smartmeter hub ...`: a component's bench-control port.

Each component serves JSON-lines commands on its control socket (hal/control_socket.py,
DESIGN.md §6 "bench control"); these subcommands are thin front ends over them. The load limits
are the emulated meters' ratings, checked here too so that a typo gets a clear answer at once.
"""

from __future__ import annotations

import argparse
import math
from typing import Any

from firmware.rig import DeviceKind, Rig
from hal.control_socket import request_sync
from tools.cli_common import UsageError, add_rig_option, component, print_json, rig_from, without_ok
from tools.cli_headend import json_value

BENCH_TIMEOUT_S = 5.0
#: Highest load a meter accepts from the bench, in watts.
MAX_LOAD_W = {
    DeviceKind.ESME: 23_000.0,  # clause 1.1.b: single phase up to 100 A, at 230 V
    # clause 1.1.a: up to 6 m3/h of natural gas at about 11.2 kWh per m3 (CV 39.5 MJ/m3)
    DeviceKind.GSME: 67_000.0,
}


def add_parsers(commands: Any) -> None:
    """Register `bench` and `hub` on the top-level subparsers."""
    bench = commands.add_parser(
        "bench",
        help="talk to a device's (or the hub's) bench-control port",
        description="Bench control of one component of a running rig.",
    )
    bench.add_argument("device", help="a device name from the rig file, or the hub's name")
    actions = bench.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (
        ("display", "print what the display shows now"),
        ("status", "print the component's status as JSON"),
        ("registers", "print a meter's registers as JSON"),
        ("events", "print the component's recent event log as JSON"),
        ("nameplate", "print a meter's nameplate: serial, variant, EUI-64, install code, bar code"),
        ("optical", "print a meter's optical port: path, session, settings, local access"),
        ("tariff", "print a meter's tariff: price in force, registers, costs, CPP events"),
        ("prices", "print the prices, costs and CPP notices an IHD shows"),
        ("export", "print an electricity meter's export and gross generation registers"),
        ("aux", "print an electricity meter's auxiliary load switch output (16.12.1.d)"),
    ):
        action = actions.add_parser(name, help=text, description=text)
        _common(action)
        action.set_defaults(handler=bench_command)
    load = actions.add_parser(
        "load",
        help="set a meter's emulated load in watts",
        description="Set the meter's emulated load to a constant number of watts.",
    )
    load.add_argument("watts", help="the load in watts, e.g. 3000")
    _common(load)
    load.set_defaults(handler=bench_load)
    generation = actions.add_parser(
        "generation",
        help="set the gross generation (PV) behind an electricity meter, in watts",
        description="Set the emulated generation behind the meter to a constant number of "
        'watts, or "profile" for the rig\'s PV profile (pv_peak_kw; none without it).',
    )
    generation.add_argument("watts", help='watts, e.g. 2500, or "profile"')
    _common(generation)
    generation.set_defaults(handler=bench_generation)
    seal = actions.add_parser(
        "seal",
        help="break or restore a meter's programming seal (17.2.21.a)",
        description="Break (or restore) the emulated seal that local changes affecting "
        "metering need.",
    )
    seal.add_argument("position", choices=["break", "restore"])
    _common(seal)
    seal.set_defaults(handler=bench_seal)
    tamper = actions.add_parser(
        "tamper",
        help="open or close a meter's cover, or apply a magnetic field (18.11.a, 18.11.c)",
        description="Work a meter's emulated tamper input: 'on' interferes (a cover removed, a "
        "field applied), 'off' restores it. Each change is a tamper event, sent at once.",
    )
    tamper.add_argument("input", choices=["meter_cover", "terminal_cover", "magnetic_field"])
    tamper.add_argument("state", choices=["on", "off"])
    _common(tamper)
    tamper.set_defaults(handler=bench_tamper)
    cpp = actions.add_parser(
        "cpp",
        help="the consumer's answer to a critical peak event, on the IHD (16.11)",
        description="Accept or reject the pending CPP event the IHD shows; the answer goes to "
        "the meter and, through the hub, to the head-end.",
    )
    cpp.add_argument("answer", choices=["accept", "reject"])
    cpp.add_argument("--fuel", choices=["electricity", "gas"], default="electricity")
    _common(cpp)
    cpp.set_defaults(handler=bench_cpp)

    hub = commands.add_parser("hub", help="the comms hub's bench-control port")
    hub_actions = hub.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, text in (
        ("status", "which devices have joined, and the WAN link, as JSON"),
        ("events", "the hub's recent events as JSON"),
        ("outbox", "uplinks waiting for the head-end's ack, and for the next exchange"),
    ):
        action = hub_actions.add_parser(name, help=text, description=text)
        _common(action)
        action.set_defaults(handler=hub_command)
    config = hub_actions.add_parser(
        "config",
        help="read or change a delivery setting locally (see the README's Delivery section)",
        description="With no KEY: every setting. With KEY: its value. With KEY VALUE: change it "
        "(VALUE is JSON; a bare word is text) and print the configuration-change message.",
    )
    config.add_argument("key", nargs="?", help="e.g. events.class.low, outbox.retry_count")
    config.add_argument("value", nargs="?", help="the new value")
    _common(config)
    config.set_defaults(handler=hub_config)
    modem = hub_actions.add_parser(
        "modem",
        help="show or set the hub's emulated GPRS modem: SIM, registration, signal, APN",
        description="Show the hub's WAN bearer, or change what its emulated modem reports "
        "(6.1.6): pull the SIM (a tamper, 18.11.l), lose the network (the WAN goes down), "
        "set the signal quality as AT+CSQ gives it.",
    )
    modem.add_argument("--sim", choices=["in", "out"], help="put the SIM in or take it out")
    modem.add_argument(
        "--registration",
        choices=["not_registered", "home", "searching", "denied", "unknown", "roaming"],
        help="network registration state, as +CREG reports it",
    )
    modem.add_argument("--rssi", type=int, help="AT+CSQ RSSI: 0-31, or 99 unknown")
    modem.add_argument("--ber", type=int, help="AT+CSQ bit error rate class: 0-7, or 99 unknown")
    modem.add_argument("--apn", help="the access point name")
    _common(modem)
    modem.set_defaults(handler=hub_modem)
    rules = hub_actions.add_parser(
        "comms-loss",
        help="show or change the hub's loss-of-communications rules (12.7.6)",
        description="Show the loss-of-communications rules, or change some of them: the "
        "periods in seconds of the rig's clock, and the service centre's number.",
    )
    for key in ("wan_alert_after_s", "ihd_failed_after_s", "ihd_contact_after_s"):
        rules.add_argument(f"--{key.replace('_', '-')}", dest=key, type=float, metavar="SECONDS")
    rules.add_argument("--service-number", dest="service_number", metavar="NUMBER")
    _common(rules)
    rules.set_defaults(handler=hub_comms_loss)


def _common(parser: argparse.ArgumentParser) -> None:
    add_rig_option(parser)
    parser.add_argument(
        "--timeout",
        type=float,
        default=BENCH_TIMEOUT_S,
        help=f"seconds to wait for an answer (default {BENCH_TIMEOUT_S:g})",
    )


def bench_command(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    name = component(rig, args.device)
    reply = request_sync(rig.control_path(name), args.action, args.timeout)
    if args.action == "display":
        for line in reply.get("lines", []):
            print(line)
    else:
        print_json(without_ok(reply))
    return 0


def bench_cpp(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    name = component(rig, args.device)
    accept = args.answer == "accept"
    reply = request_sync(rig.control_path(name), "cpp", args.timeout, fuel=args.fuel, accept=accept)
    print_json(without_ok(reply))
    return 0


def parse_load(rig: Rig, name: str, text: str) -> float:
    """The load in watts for meter `name`, or a UsageError that says what is wrong."""
    device = rig.devices.get(name)
    if device is None or device.kind not in MAX_LOAD_W:
        meters = [n for n, d in rig.devices.items() if d.kind in MAX_LOAD_W]
        raise UsageError(f"{name} has no load to set; the meters are: {', '.join(meters)}")
    try:
        watts = float(text)
    except ValueError:
        raise UsageError(f"load must be a number of watts, not {text!r}") from None
    if not math.isfinite(watts):
        raise UsageError(f"load must be a finite number of watts, not {text!r}")
    if watts < 0:
        raise UsageError(f"load must not be negative (got {text} W)")
    limit = MAX_LOAD_W[device.kind]
    if watts > limit:
        raise UsageError(f"load {text} W is above the {name}'s rating of {limit:g} W")
    return watts


def bench_load(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    name = component(rig, args.device)
    watts = parse_load(rig, name, args.watts)
    print_json(without_ok(request_sync(rig.control_path(name), "load", args.timeout, watts=watts)))
    return 0


def parse_generation(rig: Rig, name: str, text: str) -> float | None:
    """The generation in watts behind meter `name` (None: its profile), or a UsageError."""
    device = rig.devices.get(name)
    if device is None or device.kind is not DeviceKind.ESME:
        meters = [n for n, d in rig.devices.items() if d.kind is DeviceKind.ESME]
        raise UsageError(f"{name} has no generation; the electricity meters: {', '.join(meters)}")
    if text == "profile":
        return None
    try:
        watts = float(text)
    except ValueError:
        raise UsageError(
            f'generation must be a number of watts or "profile", not {text!r}'
        ) from None
    limit = MAX_LOAD_W[DeviceKind.ESME]
    if not math.isfinite(watts) or not 0 <= watts <= limit:
        raise UsageError(f"generation {text} W is outside 0..{limit:g} W")
    return watts


def bench_generation(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    name = component(rig, args.device)
    watts = parse_generation(rig, name, args.watts)
    reply = request_sync(rig.control_path(name), "generation", args.timeout, watts=watts)
    print_json(without_ok(reply))
    return 0


def hub_command(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    reply = request_sync(rig.control_path(rig.hub.name), args.action, args.timeout)
    print_json(without_ok(reply))
    return 0


def hub_config(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    fields: dict[str, Any] = {}
    if args.key is not None:
        fields["key"] = args.key
    if args.value is not None:
        fields["value"] = json_value(args.value)
    reply = request_sync(rig.control_path(rig.hub.name), "config", args.timeout, **fields)
    print_json(without_ok(reply))
    return 0


def hub_modem(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    fields = {
        key: getattr(args, key)
        for key in ("sim", "registration", "rssi", "ber", "apn")
        if getattr(args, key) is not None
    }
    reply = request_sync(rig.control_path(rig.hub.name), "modem", args.timeout, **fields)
    print_json(without_ok(reply))
    return 0


def hub_comms_loss(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    keys = ("wan_alert_after_s", "ihd_failed_after_s", "ihd_contact_after_s", "service_number")
    fields = {key: getattr(args, key) for key in keys if getattr(args, key) is not None}
    reply = request_sync(rig.control_path(rig.hub.name), "comms_loss", args.timeout, **fields)
    print_json(without_ok(reply))
    return 0


def bench_seal(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    name = component(rig, args.device)
    broken = args.position == "break"
    print_json(
        without_ok(request_sync(rig.control_path(name), "seal", args.timeout, broken=broken))
    )
    return 0


def bench_tamper(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    name = component(rig, args.device)
    reply = request_sync(
        rig.control_path(name), "tamper", args.timeout, input=args.input, active=args.state == "on"
    )
    print_json(without_ok(reply))
    return 0

"""`smartmeter headend tariff ...`: the head-end's tariff commands for a meter of a running rig.

    smartmeter headend tariff set DEVICE FILE [--from ISO]     passive tariff, effective at ISO (16.7)
    smartmeter headend tariff cancel DEVICE                    withdraw the passive tariff
    smartmeter headend tariff cpp DEVICE --id N --start ISO --minutes N --price1 P
                               [--price2 P] [--threshold-wh WH] [--forced]   CPP event (16.11)
    smartmeter headend tariff gas-conversion DEVICE --cv MJ_PER_M3 [--ptz F]   (13.2, 16.17)
    smartmeter headend tariff registers DEVICE                 registers, billing, costs (16.3)
    smartmeter headend tariff profile DEVICE --from ISO --to ISO    interval data (16.15)
    smartmeter headend tariff items DEVICE [ITEM] [--set VALUE | --suppress | --unsuppress]

Each goes head-end -> MQTT -> hub -> the meter's tunnel over the HAN; the meter's answer is
printed as JSON. Prices and money are given as decimal text ("0.2845"), never floats.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from hal.control_socket import request_sync
from protocol.errors import DecodeError
from protocol.tariff import tariff_from_json
from tools.cli_common import UsageError, add_rig_option, print_json, rig_from, without_ok
from tools.launcher import HEADEND

__all__ = ["add_tariff_actions"]

TIMEOUT_S = 30.0
_SOCKET_MARGIN_S = 5.0


def add_tariff_actions(actions: Any) -> None:
    tariff = actions.add_parser("tariff", help="tariffs of a meter: set, CPP, CV, registers")
    steps = tariff.add_subparsers(dest="step", required=True, metavar="STEP")
    set_ = steps.add_parser("set", help="send a passive tariff (a JSON tariff document, 16.7)")
    set_.add_argument("--from", dest="effective_from", help="effective-from instant (ISO 8601)")
    cancel = steps.add_parser("cancel", help="withdraw the passive tariff")
    cpp = steps.add_parser("cpp", help="schedule a critical peak pricing event (16.11)")
    cpp.add_argument("--id", type=int, required=True, help="the event's id (1..2^32-1)")
    cpp.add_argument("--start", required=True, help="start instant (ISO 8601 with zone)")
    cpp.add_argument("--minutes", type=int, required=True)
    cpp.add_argument("--price1", required=True, help="CPP1 price per kWh, e.g. 0.95")
    cpp.add_argument("--price2", help="CPP2 price above the threshold (default: CPP1's)")
    cpp.add_argument("--threshold-wh", type=int, default=0, help="Wh in the event before CPP2")
    cpp.add_argument("--forced", action="store_true", help="the consumer may not refuse it")
    gas = steps.add_parser("gas-conversion", help="calorific value and PTZ factor (13.2)")
    gas.add_argument("--cv", help="calorific value, MJ/m3, e.g. 39.5")
    gas.add_argument("--ptz", help="volume conversion factor, e.g. 1.02264")
    registers = steps.add_parser("registers", help="tariff registers, billing and costs")
    profile = steps.add_parser("profile", help="interval data over a time range (16.15)")
    profile.add_argument("--from", dest="start", required=True)
    profile.add_argument("--to", dest="end", required=True)
    items = steps.add_parser("items", help="read, update or suppress tariff items (12.1)")
    change = items.add_mutually_exclusive_group()
    change.add_argument("--set", dest="value")
    change.add_argument("--suppress", action="store_true")
    change.add_argument("--unsuppress", action="store_true")
    for parser in (set_, cancel, cpp, gas, registers, profile, items):
        parser.add_argument("device")
        add_rig_option(parser)
        parser.set_defaults(handler=headend_tariff)
    set_.add_argument("file", type=Path)
    items.add_argument("item", nargs="?")  # after the device: `items esme pricing`


def _decimal(text: str | None, what: str) -> str | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"{what} must be a decimal number, not {text!r}") from None
    if not value.is_finite():
        raise UsageError(f"{what} must be a finite number")
    return str(value)


def _tariff_file(path: Path) -> dict[str, Any]:
    """The tariff document of `path`, checked here first so a typo is named at once (the meter
    checks it again: it trusts nothing from outside)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read tariff file {path}: {exc.strerror}") from None
    try:
        tariff_from_json(data, str(path))
    except DecodeError as exc:
        raise UsageError(str(exc)) from None
    document: dict[str, Any] = json.loads(data)
    return document


def _cpp_document(args: argparse.Namespace) -> dict[str, Any]:
    """The CPP event document (`protocol.tariff.document`) from the command line."""
    if args.minutes <= 0:
        raise UsageError("--minutes must be a positive number of minutes")
    # The rig's clock may be simulated: the start is always given, never the host's now.
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        raise UsageError(f"--start {args.start!r} is not an ISO 8601 date and time") from None
    if start.tzinfo is None:
        raise UsageError("--start needs its zone, e.g. 2026-01-15T17:00:00+00:00")
    price1 = _decimal(args.price1, "--price1")
    document: dict[str, Any] = {
        "cpp": 1,
        "id": args.id,
        "start": start.isoformat(),
        "end": (start + timedelta(minutes=args.minutes)).isoformat(),
        "threshold_wh": args.threshold_wh,
        "prices": [price1, _decimal(args.price2, "--price2") or price1],
        "refusable": not args.forced,
    }
    return document


def _command(args: argparse.Namespace) -> tuple[str, dict[str, Any]]:
    step = args.step
    if step == "set":
        fields: dict[str, Any] = {"tariff": _tariff_file(args.file)}
        if args.effective_from:
            fields["effective_from"] = args.effective_from
        return "set_tariff", fields
    if step == "cancel":
        return "cancel_tariff", {}
    if step == "cpp":
        return "schedule_cpp", {"cpp": _cpp_document(args)}
    if step == "gas-conversion":
        gas = {"cv": _decimal(args.cv, "--cv"), "ptz": _decimal(args.ptz, "--ptz")}
        if not any(gas.values()):
            raise UsageError("give --cv, --ptz or both")
        return "set_gas_conversion", {k: v for k, v in gas.items() if v is not None}
    if step == "registers":
        return "read_tariff", {}
    if step == "profile":
        return "read_profile", {"from": args.start, "to": args.end}
    action = "read"
    fields = {}
    if args.value is not None:
        action, fields = "update", {"value": _json_object(args.value)}
    elif args.suppress or args.unsuppress:
        action, fields = "suppress", {"suppressed": bool(args.suppress)}
    if action != "read" and not args.item:
        raise UsageError("name the ITEM to change")
    if args.item:
        fields["item"] = args.item
    return "tariff_items", {"action": action, **fields}


def _json_object(text: str) -> dict[str, Any]:
    """--set's value: a JSON object of the item's keys, e.g. '{"generation_discount": "-0.05"}'."""
    try:
        value = json.loads(text)
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise UsageError(f"--set takes a JSON object of the item's keys, not {text!r}")
    return value


def headend_tariff(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    if args.device not in rig.devices:
        known = ", ".join(rig.devices) or "none"
        raise UsageError(f"unknown device {args.device!r}; known devices: {known}")
    command, fields = _command(args)
    reply = request_sync(
        rig.control_path(HEADEND),
        "tariff",
        TIMEOUT_S + _SOCKET_MARGIN_S,
        device=args.device,
        command=command,
        args=fields,
        timeout_s=TIMEOUT_S,
    )
    print_json(without_ok(reply))
    return 0

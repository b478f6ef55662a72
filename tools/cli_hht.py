"""`smartmeter hht ...`: the hand-held terminal (tools/hht), a front end over its library code.

    smartmeter hht login --engineer CODE --token TOKEN     keep the engineer on this HHT (D.1.7)
    smartmeter hht status                                  the authorisation, checked (D.1.3-5)
    smartmeter hht readout (--meter NAME | --probe PATH)   the meter's data readout
    smartmeter hht read OBIS (--meter ... | --probe ...)   one object
    smartmeter hht write OBIS VALUE (...)                  one configuration item (configure)
    smartmeter hht set-time (...) [--time ISO]             the meter's clock (seal broken)
    smartmeter hht tariff read|set|suppress|unsuppress [ITEM [VALUE]] (...)   tariff items (12.1)
    smartmeter hht extract --out FILE (...)                all its data to JSON (D.1.8)
    smartmeter hht scan DEVICE                             the barcode reader on a nameplate
    smartmeter hht signal                                  HAN link quality both ways, WAN
    smartmeter hht install [DEVICE ...]                    installation and commissioning
    smartmeter hht replace DEVICE                          a replacement inherits the config
    smartmeter hht decommission [DEVICE ...]               final readings, off the HAN
    smartmeter hht move-out | move-in                      home moves (C.6, C.7)

The probe is the emulated meter's pseudo-terminal (`--meter NAME`) or a real USB optical probe
(`--probe /dev/ttyUSB0`). Meters are reached with the job password the head-end issues to the
engineer (never kept by the HHT, never sent over the port).
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from firmware.rig import Rig
from protocol.iec62056_21.frames import DataSet
from protocol.iec62056_21.json_value import join_values
from protocol.nameplate import serial_number
from tools import cli_hht_tariff
from tools.cli_common import UsageError, add_rig_option, print_json, rig_from
from tools.cli_hht_tariff import add_tariff_arguments
from tools.hht import meter_session
from tools.hht.extract import check_room, write_extract
from tools.hht.headend_link import HeadendLink
from tools.hht.home_moves import decommission, move_in, move_out, replace
from tools.hht.optical_client import OpticalClient
from tools.hht.peripherals import barcode, probe, signal_view
from tools.hht.state import STATE_ENV, HhtState, load_state, save_state
from tools.hht.workflows import Workflows
from tools.launcher import HEADEND


def add_parsers(commands: Any) -> None:
    hht = commands.add_parser("hht", help="the hand-held terminal: optical port and workflows")
    actions = hht.add_subparsers(dest="action", required=True, metavar="ACTION")

    def action(name: str, text: str, handler: Any, probe_needed: bool = False) -> Any:
        parser = actions.add_parser(name, help=text, description=text)
        add_rig_option(parser)
        parser.add_argument("--state", type=Path, help=f"the HHT's state file (${STATE_ENV})")
        if probe_needed:
            where = parser.add_mutually_exclusive_group(required=True)
            where.add_argument("--meter", help="the rig's meter whose emulated port to use")
            where.add_argument("--probe", help="a real optical probe's device, e.g. /dev/ttyUSB0")
        parser.set_defaults(handler=handler)
        return parser

    login = action("login", "keep an engineer's code and token on this HHT", hht_login)
    login.add_argument("--engineer", required=True, help="the engineer code (D.2.1)")
    login.add_argument("--token", required=True, help="the token the head-end issued")
    action("status", "the HHT's engineer and authorisation, checked with the head-end", hht_status)
    action("readout", "the meter's data readout", hht_readout, True)
    read = action("read", "read one object by its OBIS name", hht_read, True)
    read.add_argument("obis", help="e.g. 1-0:1.8.0 or 96.1.0")
    write = action("write", "write one configuration item", hht_write, True)
    write.add_argument("obis", help="e.g. 0-0:128.0.0 (payment mode)")
    write.add_argument("value")
    set_time = action(
        "set-time", "set the meter's clock (the seal must be broken)", hht_set_time, True
    )
    set_time.add_argument("--time", help="ISO 8601 with offset (default: now, UTC)")
    tariff = action(
        "tariff", "read, set or suppress the meter's tariff items (12.1)", hht_tariff, True
    )
    add_tariff_arguments(tariff)
    extract = action("extract", "every data item of the meter into a JSON file", hht_extract, True)
    extract.add_argument("--out", required=True, type=Path, help="the JSON file to write")
    scan = action("scan", "read a component's nameplate bar code", hht_scan)
    scan.add_argument("device")
    action("signal", "HAN link quality both ways and the WAN link", hht_signal)
    install = action("install", "install and commission components (C.1)", hht_install)
    install.add_argument("devices", nargs="*", help="default: every device of the rig")
    install.add_argument("--join-timeout", type=float, default=60.0)
    rep = action(
        "replace", "replace a component; it inherits the old one's configuration", hht_replace
    )
    rep.add_argument("device")
    rep.add_argument("--join-timeout", type=float, default=60.0)
    dec = action(
        "decommission", "final readings to the head-end, off the HAN (C.9)", hht_decommission
    )
    dec.add_argument("devices", nargs="*", help="default: every device of the rig")
    action("move-out", "a consumer moves out (C.6)", hht_move_out)
    action("move-in", "a consumer moves in (C.7)", hht_move_in)


# -- plumbing ---------------------------------------------------------------------------


def _state_path(args: argparse.Namespace, rig: Rig) -> Path:
    given = args.state or os.environ.get(STATE_ENV)
    return Path(given) if given else rig.run_dir / "hht" / "state.json"


def _session(args: argparse.Namespace) -> tuple[Rig, HhtState, HeadendLink, Path]:
    rig = rig_from(args)
    path = _state_path(args, rig)
    state = load_state(path)
    return rig, state, HeadendLink(rig.control_path(HEADEND), state), path


def _authorised(args: argparse.Namespace) -> tuple[Rig, HhtState, HeadendLink, Path]:
    rig, state, link, path = _session(args)
    state.require()
    checked = link.verify()  # the head-end's word on every job: disabled, revalidated (D.1.4-5)
    state.role, state.expires_at = checked["role"], checked["expires_at"]
    state.verified_at = datetime.now(UTC).isoformat()
    save_state(path, state)
    return rig, state, link, path


def _line(args: argparse.Namespace, rig: Rig) -> Any:
    return probe(rig, args.meter, args.probe)


def _device_of(args: argparse.Namespace, rig: Rig) -> str:
    """The rig's name of the meter on the probe (the head-end knows it by that name)."""
    if args.meter:
        return str(args.meter)
    identification, _ = meter_session.readout(_line(args, rig))
    for name, config in rig.devices.items():
        if serial_number(config.kind.value, config.eui64) == identification:
            return name
    raise UsageError(f"the meter on the probe ({identification}) is not one of this rig's")


def _program(args: argparse.Namespace, job: Any) -> Any:
    rig, state, link, _ = _authorised(args)
    if state.role != "configure":
        raise UsageError(f"engineer {state.engineer} may read only: this needs the configure role")
    password = link.password(_device_of(args, rig))
    return meter_session.program(_line(args, rig), password, state.engineer, job)


# -- commands ---------------------------------------------------------------------------


def hht_login(args: argparse.Namespace) -> int:
    rig, _, _, path = _session(args)
    state = HhtState(engineer=args.engineer, token=args.token)
    checked = HeadendLink(rig.control_path(HEADEND), state).verify()
    state.role, state.expires_at = checked["role"], checked["expires_at"]
    state.verified_at = datetime.now(UTC).isoformat()
    save_state(path, state)
    print_json({"engineer": state.engineer, "role": state.role, "expires_at": state.expires_at})
    return 0


def hht_status(args: argparse.Namespace) -> int:
    _, state, _, path = _authorised(args)
    print_json(
        {
            "engineer": state.engineer,
            "role": state.role,
            "expires_at": state.expires_at,
            "verified_at": state.verified_at,
            "state_file": str(path),
            "jobs": len(state.jobs),
        }
    )
    return 0


def hht_readout(args: argparse.Namespace) -> int:
    rig, _, _, _ = _authorised(args)
    identification, data = meter_session.readout(_line(args, rig))
    print(f"meter {identification}")
    for item in data:
        unit = f" {item.unit}" if item.unit else ""
        print(f"  {item.address:<14} {item.value}{unit}")
    return 0


def hht_read(args: argparse.Namespace) -> int:
    rig, state, _, _ = _authorised(args)
    if state.role != "configure":  # a read-only engineer reads the readout (D.2.2)
        _, data = meter_session.readout(_line(args, rig))
        found = [d for d in data if d.address == args.obis or d.address.endswith(":" + args.obis)]
        if not found:
            raise UsageError(f"{args.obis} is not in the meter's readout")
        print_json({"obis": found[0].address, "value": found[0].value, "unit": found[0].unit})
        return 0

    async def job(hht: OpticalClient) -> Any:
        return await hht.read_all(args.obis)  # a long value comes as several data sets

    sets = _program(args, job)
    value = join_values(sets)
    print_json({"obis": sets[0].address, "value": value, "unit": sets[-1].unit})
    return 0


def hht_write(args: argparse.Namespace) -> int:
    async def job(hht: OpticalClient) -> None:
        await hht.write(args.obis, args.value)

    _program(args, job)
    print_json({"obis": args.obis, "written": args.value})
    return 0


def hht_tariff(args: argparse.Namespace) -> int:
    return cli_hht_tariff.hht_tariff(args, _program, _read_only_readout)


def _read_only_readout(args: argparse.Namespace) -> list[DataSet] | None:
    """The meter's readout for an engineer who may only read (D.2.2); None for one who may
    configure (who reads in a programming session)."""
    rig, state, _, _ = _authorised(args)
    if state.role == "configure":
        return None
    return meter_session.readout(_line(args, rig))[1]


def hht_set_time(args: argparse.Namespace) -> int:
    value = args.time or datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    async def job(hht: OpticalClient) -> str:
        await hht.write("0-0:1.0.0", value)
        return (await hht.read("0-0:1.0.0")).value

    print_json({"clock": _program(args, job)})
    return 0


def hht_extract(args: argparse.Namespace) -> int:
    rig, state, _, _ = _authorised(args)
    free = check_room(args.out)  # before anything is read (D.1.8)
    identification, data = meter_session.readout(_line(args, rig))
    write_extract(args.out, identification, data, state.engineer)
    print_json(
        {"meter": identification, "items": len(data), "file": str(args.out), "free_before": free}
    )
    return 0


def hht_scan(args: argparse.Namespace) -> int:
    plate = barcode(rig_from(args), args.device)
    print_json(plate.__dict__)
    return 0


def hht_signal(args: argparse.Namespace) -> int:
    rig, _, _, _ = _authorised(args)
    print_json(signal_view(rig))
    return 0


def _workflows(args: argparse.Namespace) -> tuple[Workflows, Rig, HhtState, Path]:
    rig, state, link, path = _authorised(args)
    flows = Workflows(rig, link, state.engineer, sys.stdout, getattr(args, "join_timeout", 60.0))
    return flows, rig, state, path


def _done(state: HhtState, path: Path, kind: str, devices: list[str]) -> int:
    state.add_job({"kind": kind, "devices": devices, "at": datetime.now(UTC).isoformat()})
    save_state(path, state)
    return 0


def hht_install(args: argparse.Namespace) -> int:
    flows, rig, state, path = _workflows(args)
    names = args.devices or list(rig.devices)
    unknown = [n for n in names if n not in rig.devices]
    if unknown:
        raise UsageError(f"rig {rig.name!r} has no device {', '.join(unknown)}")
    flows.install(names)
    return _done(state, path, "install", names)


def hht_replace(args: argparse.Namespace) -> int:
    flows, _, state, path = _workflows(args)
    replace(flows, args.device)
    return _done(state, path, "replace", [args.device])


def hht_decommission(args: argparse.Namespace) -> int:
    flows, rig, state, path = _workflows(args)
    names = args.devices or list(rig.devices)
    decommission(flows, names)
    return _done(state, path, "decommission", names)


def hht_move_out(args: argparse.Namespace) -> int:
    flows, rig, state, path = _workflows(args)
    move_out(flows, list(rig.devices))
    return _done(state, path, "move-out", list(rig.devices))


def hht_move_in(args: argparse.Namespace) -> int:
    flows, rig, state, path = _workflows(args)
    move_in(flows, list(rig.devices))
    return _done(state, path, "move-in", list(rig.devices))

"""`smartmeter`: the command line of the emulator (console script in pyproject.toml).

    smartmeter rig up [RIG] [--broker KIND]        start a whole premises, Ctrl-C stops it
    smartmeter headend read|status|events ...     drive the head-end simulator
    smartmeter bench DEVICE display|status|registers|events|load WATTS
    smartmeter hub status|events
    smartmeter han capture OUT.pcap --duration SECONDS | han keys
    smartmeter hht login|status|readout|read|write|set-time|tariff|extract|scan|signal|install|...
    smartmeter ncp serve (--tcp HOST:PORT | --pty PATH) [--rig RIG] [--ezsp-version 13|18] ...
    smartmeter tariff simulate --tariff FILE --profile FILE [--cpp FILE] [--tz ZONE]

A thin front end (STYLE.md, "tools/ are thin"): each subcommand calls library code in tools/ and
hal/. Errors a person can fix are SmartMeterError subclasses; they come out as one line on
stderr and exit status 1, never as a traceback.
"""

from __future__ import annotations

import argparse
import sys

from protocol.errors import SmartMeterError
from tools import cli_bench, cli_han, cli_headend, cli_hht, cli_ncp, cli_rig, cli_tariff


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="smartmeter",
        description="Emulated GB smart metering system: rigs, head-end, bench control.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    cli_rig.add_parsers(commands)
    cli_headend.add_parsers(commands)
    cli_bench.add_parsers(commands)
    cli_han.add_parsers(commands)
    cli_ncp.add_parsers(commands)
    cli_hht.add_parsers(commands)
    cli_tariff.add_parsers(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error argparse has already explained
        return exc.code if isinstance(exc.code, int) else 0 if exc.code is None else 2
    try:
        return int(args.handler(args))
    except SmartMeterError as exc:
        print(f"smartmeter: error: {exc}", file=sys.stderr)
        return 1
    except ConnectionError as exc:  # a component that died in the middle of answering
        print(f"smartmeter: error: connection lost: {exc.strerror or exc}", file=sys.stderr)
        return 1
    except OSError as exc:  # a file or device the person named that cannot be used
        where = f": {exc.filename}" if exc.filename else ""
        print(f"smartmeter: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    raise SystemExit(main())

"""`smartmeter rig up [RIG]`: start a whole premises, watch it, stop it on Ctrl-C or SIGTERM.

The work is `tools.launcher.RigLauncher`; this module adds what only a person at a terminal
needs: the signal handling, the table of what runs, the commands to try next, and the watch loop
that reports a process that dies while the others keep running.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from firmware.rig import BrokerKind, DeviceKind, Rig
from tools.cli_common import (
    DEFAULT_RIG,
    UsageError,
    add_rig_option,
    print_json,
    rig_from,
    rig_option_hint,
)
from tools.launcher import JOIN_TIMEOUT_S, JoinTimeout, RigLauncher, shown
from tools.launcher.systemd import write_units


def add_parsers(commands: Any) -> None:
    rig = commands.add_parser("rig", help="start a whole premises from a rig file")
    actions = rig.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "up",
        help="start every process of the rig and watch it until Ctrl-C",
        description="Start broker, air, head-end, hub and devices of RIG as separate "
        "processes, wait until every device has joined, and stop them all on Ctrl-C/SIGTERM.",
    )
    up.add_argument("rig_file", nargs="?", metavar="RIG", help=f"rig file (default: {DEFAULT_RIG})")
    add_rig_option(up)
    up.add_argument(
        "--broker",
        choices=[kind.value for kind in BrokerKind],
        help="override the rig's [broker] kind",
    )
    up.set_defaults(handler=rig_up)
    units = actions.add_parser(
        "systemd",
        help="write systemd units that run the rig (a Raspberry Pi rig without a terminal)",
        description="Write one systemd service per process of RIG, with the launcher's restart "
        "policy and start order, and a target that starts them all. Install them with "
        "`sudo cp DIR/* /etc/systemd/system/ && sudo systemctl daemon-reload && "
        "sudo systemctl enable --now smartmeter-NAME.target`.",
    )
    units.add_argument(
        "rig_file", nargs="?", metavar="RIG", help=f"rig file (default: {DEFAULT_RIG})"
    )
    add_rig_option(units)
    units.add_argument("--out", required=True, type=Path, help="folder to write the units into")
    units.add_argument(
        "--broker",
        choices=[kind.value for kind in BrokerKind],
        help="override the rig's [broker] kind",
    )
    units.set_defaults(handler=rig_systemd)


def rig_up(args: argparse.Namespace) -> int:
    if args.rig_file:
        args.rig = args.rig_file
    rig = rig_from(args)
    return run_up(rig, broker_kind=args.broker, prog=_prog(), rig_option=rig_option_hint(rig))


def rig_systemd(args: argparse.Namespace) -> int:
    if args.rig_file:
        args.rig = args.rig_file
    rig = rig_from(args)
    kind = BrokerKind(args.broker) if args.broker else None
    try:
        written = write_units(rig, args.out, broker_kind=kind)
    except OSError as exc:
        raise UsageError(f"cannot write units into {args.out}: {exc.strerror or exc}") from None
    print_json({"units": [str(path) for path in written], "target": written[-1].name})
    return 0


def _prog() -> str:
    """How the person started us, for the commands we suggest (`.venv/bin/smartmeter`...)."""
    invoked = Path(sys.argv[0])
    if invoked.name != "smartmeter":
        return "smartmeter"
    try:
        return str(invoked.absolute().relative_to(Path.cwd()))
    except ValueError:
        return str(invoked)


class Interrupts:
    """SIGINT and SIGTERM as KeyboardInterrupt, but held back inside `held()`.

    Raised in the middle of `Popen`, the exception could leave a child that nobody recorded and
    so nobody stops; the launcher enters `held()` around creating a child and around stopping.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self) -> None:
        self._depth = 0
        self._pending = False
        self._previous: dict[int, Any] = {}

    def install(self) -> None:
        for signum in self.SIGNALS:
            self._previous[signum] = signal.signal(signum, self._handler)

    def ignore(self) -> None:
        """From here on, signals change nothing: the clean stop runs to its end."""
        for signum in self.SIGNALS:
            signal.signal(signum, signal.SIG_IGN)

    def restore(self) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous.clear()

    def _handler(self, signum: int, frame: object) -> None:
        if self._depth:
            self._pending = True
        else:
            raise KeyboardInterrupt

    @contextlib.contextmanager
    def held(self) -> Iterator[None]:
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1
            if not self._depth and self._pending:
                self._pending = False
                raise KeyboardInterrupt


def hints(launcher: RigLauncher, prog: str, rig_option: str) -> str:
    """How to talk to the running rig, with the rig's own device names."""
    rig = launcher.rig
    meters = [n for n, d in rig.devices.items() if d.kind is not DeviceKind.IHD]
    lines = ["Talk to it from another terminal:"]
    for name in meters[:2]:
        lines.append(f"  {prog} headend read {name}{rig_option}")
    lines.append(f"  {prog} headend status{rig_option}")
    lines.append(f"  {prog} hub status{rig_option}")
    for name in rig.devices:
        lines.append(f"  {prog} bench {name} display{rig_option}")
    electricity = [n for n, d in rig.devices.items() if d.kind is DeviceKind.ESME]
    if electricity:
        lines.append(f"  {prog} bench {electricity[0]} load 3000{rig_option}")
    for name in meters[:1]:
        lines.append(
            f"  {prog} bench {name} optical{rig_option}   (its optical port, IEC 62056-21)"
        )
    lines.append("Ctrl-C (or SIGTERM) stops everything.")
    return "\n".join(lines)


def run_up(
    rig: Rig,
    *,
    broker_kind: str | None = None,
    prog: str = "smartmeter",
    rig_option: str = "",
    join_timeout: float = JOIN_TIMEOUT_S,
    out: TextIO | None = None,
) -> int:
    """`smartmeter rig up`: start the rig, report, watch it until Ctrl-C or SIGTERM, stop it.

    Returns 0 after a clean stop, 1 if every process exited by itself. Start-up errors
    (SmartMeterError) propagate after everything started has been stopped.
    """
    stream = out if out is not None else sys.stdout

    def say(text: str) -> None:
        print(text, file=stream, flush=True)

    interrupts = Interrupts()
    launcher = RigLauncher(rig, broker_kind_override=broker_kind, out=stream, guard=interrupts.held)
    interrupts.install()
    try:
        say(f"starting rig {rig.name!r} from {shown(rig.path)} (state in {shown(rig.run_dir)})")
        launcher.start()
        say(launcher.describe())
        say(hints(launcher, prog, rig_option))
        count = len(rig.devices)
        try:
            took = launcher.wait_joined(join_timeout)
        except JoinTimeout as exc:
            say(
                f"warning: {exc}; the rig keeps running (see the logs in {shown(launcher.log_dir)})"
            )
        else:
            say(f"all {count} devices joined in {took:.1f} s")
        while not launcher.all_exited():
            time.sleep(0.5)
            launcher.check_children()
        say("every process of the rig has exited; nothing left to run")
        return 1
    except KeyboardInterrupt:
        say("stopping the rig ...")
        return 0
    finally:
        interrupts.ignore()
        try:
            statuses = launcher.stop()
            if statuses:
                say("stopped: " + ", ".join(f"{n} ({s})" for n, s in statuses.items()))
        finally:
            interrupts.restore()

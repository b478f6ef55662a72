"""`smartmeter han capture|keys`: look at the emulated HAN of a running rig in Wireshark.

`capture` records the air (`hal.emulated.air_server`) to a pcap file through `tools.han_capture`;
`keys` asks the hub's bench-control port for the network key that decrypts it. Both are bench
aids of the emulator: a real hub never reveals its network key (clauses 17.2.10, 17.2.20), and
a real HAN is captured with a sniffer dongle, not by joining a virtual channel.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from hal.control_socket import request_sync
from tools.cli_common import UsageError, add_rig_option, print_json, rig_from
from tools.han_capture import MAX_DURATION_S, capture

KEYS_TIMEOUT_S = 5.0


def add_parsers(commands: Any) -> None:
    """Register `han` on the top-level subparsers."""
    han = commands.add_parser("han", help="capture the emulated HAN, and its key to decrypt it")
    actions = han.add_subparsers(dest="action", required=True, metavar="ACTION")
    cap = actions.add_parser(
        "capture",
        help="record every frame on the emulated air to a pcap file",
        description="Join the rig's emulated air as a listener and write every IEEE 802.15.4 "
        "frame transmitted during SECONDS to OUT (pcap, link type 195, FCS included). "
        "Decrypt it in Wireshark with the key from `smartmeter han keys`.",
    )
    cap.add_argument("out", metavar="OUT.pcap", help="capture file to write (replaced if present)")
    cap.add_argument(
        "--duration",
        required=True,
        metavar="SECONDS",
        help=f"how long to capture, more than 0 and at most {MAX_DURATION_S:g} s",
    )
    add_rig_option(cap)
    cap.set_defaults(handler=han_capture)
    keys = actions.add_parser(
        "keys",
        help="the HAN's network key and key sequence number (bench only), as JSON",
        description="Ask the hub's bench-control port for the network key and its sequence "
        "number, to decrypt a capture. Bench-only: a real hub never reveals its key.",
    )
    add_rig_option(keys)
    keys.set_defaults(handler=han_keys)


def parse_duration(text: str) -> float:
    """The capture duration in seconds, or a UsageError that says what is wrong."""
    try:
        seconds = float(text)
    except ValueError:
        raise UsageError(f"--duration must be a number of seconds, not {text!r}") from None
    if not math.isfinite(seconds) or not 0 < seconds <= MAX_DURATION_S:
        raise UsageError(
            f"--duration must be more than 0 and at most {MAX_DURATION_S:g} seconds (got {text})"
        )
    return seconds


def han_capture(args: argparse.Namespace) -> int:
    seconds = parse_duration(args.duration)
    rig = rig_from(args)
    radios = [rig.hub.radio, *(device.radio for device in rig.devices.values())]
    if not any(radio.emulated for radio in radios):
        raise UsageError(f"rig {rig.name!r} has no emulated radio, so no emulated air to capture")

    def started() -> None:
        print(
            f"capturing {rig.air.host}:{rig.air.port} for {seconds:g} s into {args.out}",
            file=sys.stderr,
            flush=True,
        )

    try:
        frames = capture(rig.air.host, rig.air.port, args.out, seconds, started)
    except KeyboardInterrupt:
        print(f"stopped; {args.out} holds every frame captured so far", file=sys.stderr)
        return 130
    print_json({"file": str(args.out), "frames": frames, "seconds": seconds})
    return 0


def han_keys(args: argparse.Namespace) -> int:
    rig = rig_from(args)
    reply = request_sync(rig.control_path(rig.hub.name), "keys", KEYS_TIMEOUT_S)
    print_json({"network_key": reply["network_key"], "key_seq": reply["key_seq"]})
    return 0

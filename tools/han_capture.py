"""Capture the emulated HAN to a pcap file that Wireshark/tshark dissect (DESIGN.md §3).

The tool joins the air as a monitor (`protocol.air_link.Monitor`): it transmits nothing, is no
node of the network, and gets a copy of every frame transmitted on any channel. Each frame is
written as one pcap record (link type 195, IEEE 802.15.4 with FCS), so the ZigBee layers decode
in Wireshark once it is given the network key (`smartmeter han keys`).

Timestamps come from this host's wall clock at reception: this is a bench tool, not firmware,
and a capture is read next to logs that carry wall-clock times. Every record is flushed as it is
written, so a capture stopped by Ctrl-C (or a killed process) is still a valid file holding
every frame received until then.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from protocol import pcap
from protocol.air_link import AirLinkDecoder, Monitor, Receive, encode
from protocol.errors import ConfigError, RemoteProtocolError, TransientLinkError

#: Longest capture the command line accepts, in seconds: an hour of a busy HAN is already
#: tens of megabytes; longer runs should be split into several files.
MAX_DURATION_S = 3600.0
#: How long to wait for the air to accept the connection.
CONNECT_TIMEOUT_S = 5.0
#: Longest single wait for data, so the deadline is checked at least this often.
_POLL_S = 0.25


def capture(
    air_host: str,
    air_port: int,
    out_path: Path | str,
    duration_s: float,
    started: Callable[[], None] | None = None,
) -> int:
    """Record every frame on the air for `duration_s` seconds into `out_path`; return the count.
    `started` is called once the file is open and the air has taken the monitor.

    Raises TransientLinkError if the air cannot be reached (the rig is not running) and
    RemoteProtocolError if it hangs up in the middle of the capture: the file then holds every
    frame received until that moment.
    """
    with contextlib.ExitStack() as stack:
        try:  # first: a file that cannot be written is said before anything else happens
            out = stack.enter_context(Path(out_path).open("wb"))
        except OSError as exc:
            raise ConfigError(
                f"cannot write the capture to {out_path}: {exc.strerror or exc}"
            ) from None
        try:
            link = stack.enter_context(
                socket.create_connection((air_host, air_port), timeout=CONNECT_TIMEOUT_S)
            )
        except OSError as exc:
            raise TransientLinkError(
                f"cannot reach the air at {air_host}:{air_port} ({exc.strerror or exc}); "
                "is the rig running?"
            ) from None
        out.write(pcap.global_header())
        out.flush()
        link.sendall(encode(Monitor()))
        if started is not None:
            started()
        return _record(link, out, time.monotonic() + duration_s)
    raise AssertionError("unreachable")  # for the type checker: the with block returns


def _record(link: socket.socket, out: BinaryIO, deadline: float) -> int:
    """Copy frames from `link` to `out` until `deadline` (time.monotonic) passes."""
    decoder = AirLinkDecoder()
    frames = 0
    while (left := deadline - time.monotonic()) > 0:
        link.settimeout(min(left, _POLL_S))
        try:
            data = link.recv(65536)
        except TimeoutError:
            continue
        except OSError as exc:
            raise RemoteProtocolError(f"the air closed the capture: {exc}") from None
        if not data:
            raise RemoteProtocolError(f"the air closed the capture after {frames} frames")
        # Stamp on arrival, before decoding: the closest this side can get to the air's time.
        stamp_us = time.time_ns() // 1000
        for message in decoder.feed(data):
            if isinstance(message, Receive):
                out.write(pcap.record(message.psdu, stamp_us))
                frames += 1
        out.flush()
    return frames

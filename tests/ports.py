"""TCP ports for tests, that no other socket and no concurrent test run can be handed.

Binding port 0, closing the socket and starting a server on that port later is a race: the port
is back in the kernel's ephemeral pool in between, so any outgoing connection on the machine can
take it, and a second test run picking the same way gets the same ports. So a port comes from a
fixed range *below* the kernel's ephemeral range (`/proc/sys/net/ipv4/ip_local_port_range`),
where the kernel never picks one on its own, and is claimed with an exclusive `flock` on a lock
file per port under `/tmp/smartmeter-test-ports/`. The lock is held until this test process
exits, so every port is given out once per session, and another test run on the machine moves on
to the next free one. A claimed port is checked bindable on 127.0.0.1 (nothing listens on it).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
import tempfile
from pathlib import Path

LOCK_DIR = Path(tempfile.gettempdir()) / "smartmeter-test-ports"
#: Where ports are picked when the ephemeral range leaves room below it.
PREFERRED = range(20000, 32000)
_EPHEMERAL_FILE = Path("/proc/sys/net/ipv4/ip_local_port_range")
#: Lock files held open (and so locked) for the life of the process: never closed on purpose.
_held: list[int] = []
_next: int | None = None


def ephemeral_range() -> range:
    """The ports the kernel hands out on its own (Linux default 32768-60999)."""
    try:
        low, high = (int(n) for n in _EPHEMERAL_FILE.read_text().split())
    except (OSError, ValueError):
        low, high = 32768, 60999
    return range(low, high + 1)


def candidate_range() -> range:
    """Ports to pick from: below the ephemeral range, or above it if it leaves no room below."""
    ephemeral = ephemeral_range()
    below = range(PREFERRED.start, min(PREFERRED.stop, ephemeral.start))
    if len(below) >= 1000:
        return below
    return range(max(ephemeral.stop, 1024), 65536)


def reserve_port(host: str = "127.0.0.1") -> int:
    """A port outside the ephemeral range, locked for this process, that `host` can bind now."""
    global _next
    ports = candidate_range()
    if _next is None:
        # Concurrent runs start at different points, so they rarely contend for a lock.
        _next = ports.start + (os.getpid() * 7919) % len(ports)
    LOCK_DIR.mkdir(exist_ok=True)
    with contextlib.suppress(OSError):  # the folder is someone else's: they opened it up
        LOCK_DIR.chmod(0o1777)  # every user of the machine may take ports, as in /tmp
    for _ in range(len(ports)):
        port = _next
        _next = port + 1 if port + 1 < ports.stop else ports.start
        if _claim(port, host):
            return port
    raise RuntimeError(f"no free test port in {ports.start}-{ports.stop - 1} (locks in {LOCK_DIR})")


def _claim(port: int, host: str) -> bool:
    try:
        fd = os.open(LOCK_DIR / f"{port}.lock", os.O_RDONLY | os.O_CREAT, 0o644)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # held by another test run (or us)
    except OSError:
        os.close(fd)
        return False
    if not _bindable(port, host):  # something outside the tests listens there
        os.close(fd)
        return False
    _held.append(fd)
    return True


def _bindable(port: int, host: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True

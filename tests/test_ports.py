"""Test ports (tests/ports.py): outside the ephemeral range, never given out twice at once."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests import ports
from tests.ports import candidate_range, ephemeral_range, reserve_port

REPO = Path(__file__).resolve().parents[1]
#: Another test run: reserves a port, says which, and holds it until its stdin closes.
OTHER_RUN = """
import sys
from tests.ports import reserve_port
print(reserve_port(), flush=True)
sys.stdin.read()
"""


def other_run() -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", OTHER_RUN],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def port_of(run: subprocess.Popen[str]) -> int:
    assert run.stdout is not None
    return int(run.stdout.readline())


def end(run: subprocess.Popen[str]) -> None:
    assert run.stdin is not None and run.stdout is not None
    run.stdin.close()
    run.wait(10)
    run.stdout.close()


def test_ports_are_outside_the_ephemeral_range_and_distinct() -> None:
    taken = [reserve_port() for _ in range(20)]
    assert len(set(taken)) == 20
    assert all(port in candidate_range() and port not in ephemeral_range() for port in taken)


def test_a_port_held_by_another_test_run_is_not_given_out_until_it_ends() -> None:
    run = other_run()
    try:
        held = port_of(run)
        assert not ports._claim(held, "127.0.0.1")  # its lock file is locked by the other run
    finally:
        end(run)
    assert ports._claim(held, "127.0.0.1")  # the lock went with the process


def test_a_port_something_else_listens_on_is_skipped_and_not_kept() -> None:
    run = other_run()
    free = port_of(run)
    end(run)  # a port no test run holds now
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", free))
        squatter.listen()
        assert not ports._claim(free, "127.0.0.1")
    assert ports._claim(free, "127.0.0.1")  # the failed claim let its lock go

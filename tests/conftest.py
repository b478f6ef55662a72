"""Shared test configuration: the `req` marker and guards every test runs under."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

#: pytester runs small pytest sessions in tests of the test tooling (tests/test_req_placement.py);
#: req_placement refuses `req` tags inherited from a module or class.
pytest_plugins = ["pytester", "tests.req_placement"]


@pytest.fixture(autouse=True)
def no_thread_left_behind() -> Iterator[None]:
    """Fail a test that leaves non-daemon threads running (pymodbus' system_health_check idea)."""
    before = set(threading.enumerate())
    yield
    leaked = [
        t
        for t in threading.enumerate()
        if t not in before and t.is_alive() and not t.daemon and not _loop_executor(t)
    ]
    for thread in leaked:
        thread.join(timeout=2.0)
    leaked = [t for t in leaked if t.is_alive()]
    assert not leaked, f"threads left running: {leaked}"


def _loop_executor(thread: threading.Thread) -> bool:
    """A worker of an event loop's default executor (opening a serial port runs there): it
    belongs to the loop, which may outlive the test (module-scoped loops), and is shut down
    with it."""
    return thread.name.startswith("asyncio_")

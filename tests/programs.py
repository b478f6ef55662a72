"""Programs the suite drives as oracles or peers (mosquitto, its clients, tshark).

CI installs every one of them (`.ci/run`), so a test that needs one never skips: a missing
program fails the test with one line saying which Debian package to install. Debian puts
mosquitto in /usr/sbin, which is often not on a user's PATH, so the sbin folders are searched
too (as `tools.broker.find_mosquitto` does for the rig launcher).
"""

from __future__ import annotations

import os
import shutil

import pytest

#: Debian package of each program.
PACKAGES = {
    "mosquitto": "mosquitto",
    "mosquitto_pub": "mosquitto-clients",
    "mosquitto_sub": "mosquitto-clients",
    "tshark": "tshark",
    "systemd-analyze": "systemd",
}
_SBIN = ("/usr/sbin", "/usr/local/sbin", "/sbin")


def find_program(name: str) -> str | None:
    """Path of `name` on PATH or in an sbin folder, or None."""
    found = shutil.which(name)
    if found is None:
        for folder in _SBIN:
            candidate = os.path.join(folder, name)
            if os.access(candidate, os.X_OK):
                return candidate
    return found


def require_program(name: str) -> str:
    """Path of `name`; fails the running test (no skip) when it is not installed."""
    found = find_program(name)
    if found is None:
        package = PACKAGES.get(name, name)
        pytest.fail(
            f"{name} is not installed (apt-get install {package}); CI installs it, so the tests "
            "that need it fail rather than skip",
            pytrace=False,
        )
    return found

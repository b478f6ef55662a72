"""zigpy-cli, a host no one here wrote, against `smartmeter ncp serve`: the virtual dongle's oracle.

The `zigpy` command (zigpy-cli, over bellows) forms a network, reads it back, backs it up and
scans the channels' energy, twice in a row on the same NCP process, on both EZSP versions; every
run is a new host session on a freshly booted dongle. After a restart of the process the network
comes back from the `--state` token file.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.ports import reserve_port
from tests.tools.test_ncp_serve import Served

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
EUI64 = "00:0d:6f:00:00:0d:00:01"
#: One zigpy-cli run; `form` takes about 10 s (bellows resets the NCP twice and waits 2 s each).
RUN_TIMEOUT_S = 60


def zigpy(port: int, *command: str) -> str:
    """Run `zigpy radio ezsp socket://127.0.0.1:PORT COMMAND...`; its stdout."""
    done = subprocess.run(
        [
            str(Path(sys.executable).with_name("zigpy")),
            "radio",
            "ezsp",
            f"socket://127.0.0.1:{port}",
            *command,
        ],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
    )
    assert done.returncode == 0, f"zigpy {' '.join(command)} failed:\n{done.stderr[-3000:]}"
    return done.stdout


def info(port: int) -> dict[str, str]:
    fields = {}
    for line in zigpy(port, "info").splitlines():
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip()] = value.strip()
    return fields


def check_round(port: int) -> dict[str, str]:
    """form, info, backup, energy-scan: one round, each a host session of its own."""
    zigpy(port, "form")
    network = info(port)
    assert network["Device IEEE"] == EUI64
    assert network["Device NWK"] == "0x0000"
    assert re.fullmatch(r"0x[0-9A-F]{4}", network["PAN ID"])
    channel = int(network["Channel"])
    assert 11 <= channel <= 26

    backup = json.loads(zigpy(port, "backup"))
    assert backup["coordinator_ieee"].lower() == EUI64.replace(":", "")
    assert int(backup["pan_id"], 16) == int(network["PAN ID"], 16)
    assert backup["channel"] == channel
    assert backup["network_key"]["key"] == network["Network key"].replace(":", "")

    # one scan of the 16 channels (duration exponent 2: 77 ms a channel)
    scan = zigpy(port, "energy-scan", "--num-scans", "0")
    listed = re.findall(r"^ - [ \[](\d\d)[ *][ \]]", scan, re.MULTILINE)
    assert sorted(int(c) for c in listed) == list(range(11, 27))
    assert re.search(rf"^ - \[{channel:02d}", scan, re.MULTILINE), scan
    return network


@pytest.mark.parametrize("version", [13, 18])
def test_zigpy_cli_forms_reads_backs_up_and_scans_twice_on_one_ncp(
    tmp_path: Path, version: int
) -> None:
    port = reserve_port()
    state = tmp_path / "dongle.sqlite"
    args = ("--tcp", f"127.0.0.1:{port}", "--ezsp-version", str(version), "--state", str(state))
    dongle = Served(*args)
    try:
        first = check_round(port)
        second = check_round(port)
        # the second `form` made a new network on the same process: no StackAlreadyRunning
        assert second["Network key"] != first["Network key"]
        assert dongle.process.poll() is None
    finally:
        assert dongle.stop() == 0
    restarted = Served(*args)
    try:
        again = info(port)
        # the tokens kept the network across the restart; the outgoing frame counter resumes
        # past the block reserved before it (tokens.py), never below
        counter = "Network key counter"
        assert int(again.pop(counter)) >= int(second.pop(counter))
        assert again == second
    finally:
        assert restarted.stop() == 0

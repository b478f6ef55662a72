"""A capture of a running premises' HAN, judged by tshark: with the network key from
`smartmeter han keys` the NWK and APS layers dissect; Metering is APS-encrypted with link keys
(17.2.3), so its ZCL layer takes the devices' install-code link keys as well; without any key
the ZCL layer stays hidden, because the air carries only secured frames (DESIGN.md §3).

Everything goes through real interfaces: the rig as processes, the `smartmeter` command line
as a subprocess, the head-end's control socket for the read, tshark on the file.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from firmware.rig import load_rig
from tests.programs import require_program
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.headend import client
from tools.launcher import HEADEND, RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(180)]
ROOT = Path(__file__).resolve().parents[2]
SMARTMETER = [sys.executable, "-m", "tools.cli"]
CAPTURE_S = 6.0
READS = 3
METERING, SMART_ENERGY = 0x0702, 0x0109


def tshark(
    tmp_path: Path, capture: Path, key: str | None, *args: str, link_keys: tuple[str, ...] = ()
) -> list[list[str]]:
    """tshark's field rows for `capture`, with `key` (hex) as the only network key it knows,
    and `link_keys` (hex) as the only link keys."""
    command = [
        require_program("tshark"),
        "-n",
        "-r",
        str(capture),
        "-T",
        "fields",
        "-E",
        "separator=/t",
        *args,
    ]
    for known in (key, *link_keys) if key is not None else link_keys:
        command += ["-o", f'uat:zigbee_pc_keys:"{known}","Normal","han keys"']
    # A private, empty profile: no key the user configured may help (or hinder) the decoding.
    env = {**os.environ, "WIRESHARK_CONFIG_DIR": str(tmp_path / "wireshark")}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=60, check=True)
    return [line.split("\t") for line in done.stdout.splitlines()]


@dataclasses.dataclass(frozen=True)
class Capture:
    """A capture of the demo premises while the head-end read the ESME `READS` times (after
    one read before the capture), and the network key `han keys` gave."""

    pcap: Path
    frames: int
    network_key: str
    link_keys: tuple[str, ...]


@pytest.fixture(scope="module")
def capture(tmp_path_factory: pytest.TempPathFactory) -> Capture:
    require_program("tshark")
    tmp_path = tmp_path_factory.mktemp("capture")
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = tmp_path / "han.pcap"
    launcher = RigLauncher(rig)
    launcher.start()
    try:
        launcher.wait_joined(90)
        client.read(rig.control_path(HEADEND), "esme", 10)  # the hub learns the meter's units
        command = ["han", "capture", str(out), "--duration", str(CAPTURE_S), "--rig", str(rig.path)]
        capturing = subprocess.Popen(
            [*SMARTMETER, *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            air_log = rig.run_dir / "logs" / "air.log"
            wait_until(  # the monitor attached before the reads go over the air
                lambda: "monitor attached to the air" in air_log.read_text(),
                10,
                "the capture attaching to the air",
            )
            for _ in range(READS):
                reply = client.read(rig.control_path(HEADEND), "esme", 10)
                assert "CurrentSummationDelivered" in reply["data"]["registers"]
            stdout, stderr = capturing.communicate(timeout=CAPTURE_S + 20)
        finally:
            if capturing.poll() is None:
                capturing.kill()
                capturing.wait(5)
        assert capturing.returncode == 0, stderr
        keys = subprocess.run(
            [*SMARTMETER, "han", "keys", "--rig", str(rig.path)],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert keys.returncode == 0, keys.stderr
    finally:
        launcher.stop()
    return Capture(
        out,
        json.loads(stdout)["frames"],
        json.loads(keys.stdout)["network_key"],
        tuple(device.link_key.hex() for device in rig.devices.values()),
    )


@pytest.mark.req("17.2.1", "17.2.2", "17.2.4")
def test_a_han_capture_decodes_with_the_hubs_key_and_only_with_it(
    tmp_path: Path, capture: Capture
) -> None:
    out, key = capture.pcap, capture.network_key
    assert capture.frames > 0
    assert len(bytes.fromhex(key)) == 16
    fields = ("-e", "frame.number", "-e", "zbee_aps.cluster", "-e", "zbee_aps.profile")
    nwk = tshark(tmp_path, out, key, "-Y", "zbee_nwk", "-e", "frame.number")
    aps = tshark(tmp_path, out, key, "-Y", "zbee_aps", "-e", "frame.number")
    assert nwk and aps, "tshark found no NWK/APS frames with the key"
    nwk_only = tshark(tmp_path, out, key, "-Y", "zbee_zcl", *fields)
    assert not [row for row in nwk_only if int(row[1], 0) == METERING], "Metering not APS-secured"
    zcl = tshark(tmp_path, out, key, "-Y", "zbee_zcl", *fields, link_keys=capture.link_keys)
    metering = [row for row in zcl if int(row[1], 0) == METERING]
    assert metering, f"no ZCL Metering frame among {zcl}"
    assert all(int(row[2], 0) == SMART_ENERGY for row in metering)
    # Without the key the same frames are there but their ZCL payload stays ciphertext.
    assert tshark(tmp_path, out, None, "-Y", "zbee_nwk", "-e", "frame.number") == nwk
    assert tshark(tmp_path, out, None, "-Y", "zbee_zcl", *fields) == []


def test_each_read_is_one_read_attributes_exchange_answered_in_full(
    tmp_path: Path, capture: Capture
) -> None:
    rows = tshark(
        tmp_path,
        capture.pcap,
        capture.network_key,
        "-Y",
        "zbee_aps.cluster == 0x0702 && (zbee_zcl.cmd.id == 0x00 || zbee_zcl.cmd.id == 0x01)",
        "-e",
        "zbee_nwk.src",
        "-e",
        "zbee_zcl.cmd.id",
        "-e",
        "zbee_zcl_se.met.attr_id",
        link_keys=capture.link_keys,
    )
    # The hub (0x0000) asks; other requests (the IHD finding its meters) are not the hub's.
    asked = [row for row in rows if int(row[0], 0) == 0 and int(row[1], 0) == 0x00]
    assert len(asked) == READS, rows
    wanted = {row[2] for row in asked}
    assert len(wanted) == 1, rows  # every read asks for the same attributes
    answers = [row for row in rows if int(row[1], 0) == 0x01 and row[2] in wanted]
    assert len(answers) >= READS, rows  # everything asked for, in one answer each

"""A capture of a tariff change on the HAN, judged by tshark: the prices and tiers the head-end
sent are what Wireshark's Smart Energy dissector reads from the meter's Price commands.

The rig runs as processes; the head-end sends a two-rate tariff (`smartmeter headend tariff
set`) while `smartmeter han capture` records the air; tshark, with the network key from
`smartmeter han keys` and the devices' link keys (Price is APS-secured, 17.2.3), decodes the
meter's PublishTariffInformation and PublishPriceMatrix to its price client (the IHD) and the
PublishPrice at the tariff's effective instant.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from firmware.rig import load_rig
from hal.control_socket import request_sync
from tests.integration.test_han_capture import tshark
from tests.programs import require_program
from tests.rig_files import demo_rig_copy
from tests.waiting import wait_until
from tools.launcher import RigLauncher

pytestmark = [pytest.mark.integration, pytest.mark.timeout(240)]
ROOT = Path(__file__).resolve().parents[2]
SMARTMETER = [sys.executable, "-m", "tools.cli"]
CAPTURE_S = 40.0
PRICE = 0x0700
#: The tariff the head-end sends: (register, label, price), and the price fields on the air
#: (millionths of a pound per kWh, PriceTrailingDigit 6).
RATES = ((1, "Peak", "0.3344"), (2, "Offpeak", "0.1122"))
ON_AIR = {1: 334400, 2: 112200}


def run(*args: str, timeout: float = 60) -> str:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [*SMARTMETER, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.req("16.20", "16.7", "17.2.1")
def test_a_tariff_change_decodes_in_tshark_with_the_prices_and_tiers_sent(
    tmp_path: Path,
) -> None:
    require_program("tshark")
    rig = load_rig(demo_rig_copy(tmp_path, broker_kind="mosquitto"))
    document = json.loads((ROOT / "rigs" / "tariffs" / "demo-electricity.json").read_text())
    document["name"] = "Capture ToU"
    document["tou"]["registers"] = [
        {"register": n, "label": label, "import_price": price} for n, label, price in RATES
    ]
    tariff = tmp_path / "tou.json"
    tariff.write_text(json.dumps(document))
    pcap = tmp_path / "tariff.pcap"
    rig_option = ("--rig", str(rig.path))
    launcher = RigLauncher(rig)
    launcher.start()
    capturing: subprocess.Popen[str] | None = None
    try:
        # The capture starts with the HAN, so it holds the Transport-Key commands that give
        # the ESME and the IHD their application link key (tshark learns it from them).
        air_log = rig.run_dir / "logs" / "air.log"
        wait_until(lambda: air_log.exists(), 30, "the air")
        capturing = subprocess.Popen(
            [*SMARTMETER, "han", "capture", str(pcap), "--duration", str(CAPTURE_S), *rig_option],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        wait_until(
            lambda: "monitor attached to the air" in air_log.read_text(),
            30,
            "the capture attaching to the air",
        )
        launcher.wait_joined(90)
        wait_until(  # the IHD has asked the meter for its price: it is a price client now
            lambda: request_sync(rig.control_path("ihd"), "prices", 5.0)["prices"].get(
                "electricity"
            ),
            60,
            "the IHD's first price",
        )
        now = datetime.fromisoformat(request_sync(rig.control_path("esme"), "status", 5.0)["now"])
        effective = (now + timedelta(seconds=6)).replace(microsecond=0)
        run(
            "headend",
            "tariff",
            "set",
            "esme",
            str(tariff),
            "--from",
            effective.isoformat(),
            *rig_option,
        )
        _, stderr = capturing.communicate(timeout=CAPTURE_S + 30)
        assert capturing.returncode == 0, stderr
        key = json.loads(run("han", "keys", *rig_option))["network_key"]
    finally:
        if capturing is not None and capturing.poll() is None:
            capturing.kill()
            capturing.wait(5)
        launcher.stop()
    link_keys = tuple(device.link_key.hex() for device in rig.devices.values())
    matrix = tshark(
        tmp_path,
        pcap,
        key,
        "-Y",
        "zbee_aps.cluster == 0x0700 && zbee_zcl_se.price.cmd.srv_tx.id == 0x05",
        "-e",
        "zbee_zcl_se.price.price_matrix.tier",  # TOU-based entries: the TierBlockID is the tier
        "-e",
        "zbee_zcl_se.price.price_matrix.price",
        link_keys=link_keys,
    )
    assert matrix, "no PublishPriceMatrix decoded"
    tiers = [int(t, 0) for t in matrix[0][0].split(",")]
    prices = [int(p, 0) for p in matrix[0][1].split(",")]
    assert dict(zip(tiers, prices, strict=True)) == ON_AIR
    information = tshark(
        tmp_path,
        pcap,
        key,
        "-Y",
        "zbee_zcl_se.price.cmd.srv_tx.id == 0x04",
        "-e",
        "zbee_zcl_se.price.tariff_information.number_of_price_tiers_in_use",
        "-e",
        "zbee_zcl_se.price.tariff_information.standing_charge",
        link_keys=link_keys,
    )
    assert information and [int(v, 0) for v in information[0]] == [2, 538900]
    published = tshark(
        tmp_path,
        pcap,
        key,
        "-Y",
        "zbee_zcl_se.price.cmd.srv_tx.id == 0x00",
        "-e",
        "zbee_zcl_se.price.price",
        "-e",
        "zbee_zcl_se.price.tier",
        "-e",
        "zbee_zcl_se.price.trailing_digit",
        link_keys=link_keys,
    )
    # At the effective instant (06:00 GMT: off-peak) the meter publishes the new price.
    assert [int(published[-1][0], 0), int(published[-1][1], 0)] == [ON_AIR[2], 2], published
    assert int(published[-1][2], 0) == 6

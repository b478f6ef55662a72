"""The meter's optical port read and programmed by a client no one here wrote: `iec62056-21-dzg`.

The third-party client (PyPI `iec62056-21-dzg`, pyserial underneath) signs on at 300 baud 7E1,
switches to the rate the meter proposes by reopening its port, and reads the readout; in
programming mode it reads and writes single values (R1, W1) and breaks off (B0). Its own
password routine is DZG's manufacturer-specific scramble, so the P2 proof is computed with our
`protocol.local_auth` and sent through the client's own message classes and transport: the
meter never sees a password in clear (17.2.20). The client is blocking; it runs in a thread
while the meter's firmware runs in the event loop.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from iec62056_21_dzg import client as dzg_client
from iec62056_21_dzg import messages as dzg_messages

from protocol.local_auth import Challenge, proof
from tests.devices.optical_fixtures import ENGINEER, PASSWORD, OpticalMeter, optical_meter

__all__ = ["optical_meter"]


def readout(path: str) -> dict[str, Any]:
    client = dzg_client.Iec6205621Client.with_serial_transport(port=path)
    client.connect()
    try:
        answer = client.standard_readout()
    finally:
        client.disconnect()
    sets = {d.address: (d.value, d.unit) for d in answer.data if d.address}
    return {
        "identification": client.identification,
        "manufacturer": client.manufacturer_id,
        "sets": sets,
    }


def program(path: str) -> dict[str, Any]:
    client = dzg_client.Iec6205621Client.with_serial_transport(port=path)
    client.connect()
    try:
        challenge_message = client.access_programming_mode()
        challenge = Challenge.parse(challenge_message.data_set.value)
        answer = proof(PASSWORD, challenge, ENGINEER)
        data_set = dzg_messages.DataSet(value=answer, address=ENGINEER)
        login = dzg_messages.CommandMessage(command="P", command_type="2", data_set=data_set)
        client.transport.send(login.to_bytes())
        accepted = client._recv_ack()
        serial = client.read_single_value("0-0:96.1.0")
        client.write_single_value("0-0:128.0.1", "Supplier B")
        supplier = client.read_single_value("0-0:128.0.1")
        client.send_break()
    finally:
        client.disconnect()
    return {"ack": accepted, "serial": serial.value, "supplier": supplier.value}


@pytest.mark.timeout(60)
async def test_dzg_client_reads_the_readout(optical_meter: OpticalMeter) -> None:
    result = await asyncio.to_thread(readout, optical_meter.line.path)
    assert result["manufacturer"] == "EMU"
    # The client takes the optional "\\W" capability field for granted (DZG meters send
    # "\\2") and drops the first character of an identification that has none, as ours:
    assert result["identification"] == "EM00001001"[1:]
    assert result["sets"]["0-0:96.1.0"] == ("EM00001001", None)
    value, unit = result["sets"]["1-0:1.8.0"]
    assert unit == "kWh" and float(value) >= 0
    assert [s.baud for s in optical_meter.line.history][-2:] == [9600, 300]


@pytest.mark.timeout(60)
async def test_dzg_client_programs_the_meter(optical_meter: OpticalMeter) -> None:
    result = await asyncio.to_thread(program, optical_meter.line.path)
    assert result == {"ack": "\x06", "serial": "EM00001001", "supplier": "Supplier B"}
    changes = optical_meter.meter.optical.access.changes()
    assert [(c.engineer, c.item, c.new) for c in changes][-1] == (
        ENGINEER,
        "supplier",
        "Supplier B",
    )

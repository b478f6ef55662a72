"""ESME, GSME and IHD firmware on one HAN, in process: join, discovery, polling, raw ZCL.

Each test starts real firmware on emulated NCPs (see conftest); the meters are read over the air
by the IHD firmware or by a bare joining radio, never through the coordinator.
"""

from __future__ import annotations

import asyncio
import functools
import re
from typing import Any

import pytest
from zigpy.zcl import foundation
from zigpy.zcl.clusters.smartenergy import Metering

from devices.core.firmware import DeviceIdentity
from devices.esme.firmware import EsmeFirmware
from devices.gsme.firmware import GsmeFirmware
from devices.ihd.firmware import REPORTED, IhdFirmware
from devices.ihd.meter_view import Fuel
from devices.meter.integrator import EnergyIntegrator
from devices.meter.meter_firmware import DELIVERED
from devices.meter.register_store import RegisterStore
from firmware.boards import DeviceBoard
from hal.emulated.metrology import ConstantFlow, ConstantLoad
from hal.radio import EndpointDescriptor, IncomingMessage
from protocol.event_codes import EventCode
from tests.boards import as_electricity_meter, as_gas_meter
from tests.waiting import eventually

from .conftest import Premises, zigpy_parse

pytestmark = [pytest.mark.asyncio(loop_scope="module"), pytest.mark.timeout(90)]


def esme(watts: float, preset_mwh: int = 0) -> Any:
    def build(identity: DeviceIdentity, board: DeviceBoard) -> EsmeFirmware:
        _preset(board, preset_mwh)
        return EsmeFirmware(identity, as_electricity_meter(board, ConstantLoad(watts)))

    return build


def gsme(m3_per_h: float, preset_ml: int = 0) -> Any:
    def build(identity: DeviceIdentity, board: DeviceBoard) -> GsmeFirmware:
        _preset(board, preset_ml)
        return GsmeFirmware(identity, as_gas_meter(board, ConstantFlow(m3_per_h)))

    return build


def _preset(board: DeviceBoard, units: int) -> None:
    """A meter that already has a reading, as one taken off the shelf never does."""
    registers = RegisterStore(board.store)
    with board.store.transaction() as tx:
        registers.save(DELIVERED, EnergyIntegrator(units), board.clock.now(), tx)


def shows(firmware: Any, pattern: str) -> bool:
    return any(re.search(pattern, line) for line in firmware.display.lines())


async def load(meter: EsmeFirmware, watts: float) -> dict[str, Any]:
    return await meter.control_handlers()["load"]({"cmd": "load", "watts": watts})


@pytest.mark.req("12.5", "6.1.8", "6.1.12", "19.1.1.b")
async def test_ihd_finds_both_meters_and_follows_the_electricity_load(
    premises: Premises,
) -> None:
    # 1234.567 kWh and 56.789 m3 on the registers; the gas total moves one litre per 30 s.
    meter = await premises.start("esme", esme(0, preset_mwh=1_234_567_000))
    gas = await premises.start("gsme", gsme(0.12, preset_ml=56_789_000))
    await eventually(lambda: meter.joined and gas.joined, 20, "meters joined")
    ihd = await premises.start("ihd", IhdFirmware)

    await eventually(lambda: shows(ihd, r"^Gas total 56\.789 m3$"), 20, "IHD shows gas")
    await eventually(lambda: shows(ihd, r"^Elec total 1234\.567 kWh$"), 5, "IHD shows elec")
    assert shows(ihd, r"^Gas 0\.120 m3/h$") and shows(ihd, r"^Electricity 0\.000 kW$")
    assert shows(ihd, r"^Updated \d\d:\d\d:\d\d$")
    gas_registers = (await gas.control_handlers()["registers"]({}))["registers"]
    assert gas_registers["CurrentSummationDelivered"]["value"] == "56.789"

    for watts, shown in ((512, "0.512"), (2750, "2.750")):
        await load(meter, watts)
        # clause 12.5: electricity refreshed at least every 5 s
        await eventually(
            functools.partial(shows, ihd, rf"^Electricity {re.escape(shown)} kW$"),
            5.0,
            f"IHD shows {shown} kW",
        )
    assert meter.display.lines()[1] == "Demand 2.750 kW"
    assert ihd.status()["joined"] and not gas.router and meter.router


@pytest.mark.req("18.9.h", "18.1")
async def test_ihd_marks_a_silent_meter_no_signal_and_logs_it(premises: Premises) -> None:
    meter = await premises.start("esme", esme(1000))
    await eventually(lambda: meter.joined, 20, "ESME joined")
    ihd = await premises.start("ihd", IhdFirmware)
    await eventually(lambda: shows(ihd, r"^Electricity 1\.000 kW$"), 20, "IHD shows elec")

    await premises.stop(meter)
    await eventually(
        lambda: shows(ihd, r"^Electricity 1\.000 kW \(no signal\)$"), 30, "IHD says no signal"
    )
    assert shows(ihd, r"^Elec total 0\.\d{3} kWh \(no signal\)$")  # the last value stays
    codes = [record.code for record in ihd.events.recent(10)]
    assert EventCode.COMMUNICATION_ERROR in codes


@pytest.mark.req("12.5")
async def test_the_ihd_subscribes_and_hears_a_load_change_from_the_meters_report(
    premises: Premises,
) -> None:
    meter = await premises.start("esme", esme(1000))
    await eventually(lambda: meter.joined, 20, "ESME joined")
    ihd = await premises.start("ihd", IhdFirmware)
    await eventually(lambda: Fuel.ELECTRICITY in ihd.links, 20, "IHD found the ESME")
    link = ihd.links[Fuel.ELECTRICITY]
    await eventually(lambda: link.subscribed and link.reports > 0, 10, "ESME reports to the IHD")
    polls = link.polls
    await load(meter, 2500)
    # Clause 12.5: electricity within 5 s (the wait fails past its deadline).
    await eventually(lambda: shows(ihd, r"^Electricity 2\.500 kW$"), 5, "IHD shows it in 5 s")
    assert link.polls == polls  # it came by report: the IHD did not ask
    assert len(meter.zcl_server.reporting) == len(REPORTED)  # the ESME keeps one per attribute


@pytest.mark.req("18.11.j", "9.2", "6.1.9")
async def test_a_meter_answers_raw_zcl_over_the_air(premises: Premises) -> None:
    meter = await premises.start("esme", esme(512, preset_mwh=1_234_567_000))
    await eventually(lambda: meter.joined, 20, "ESME joined")
    received: asyncio.Queue[IncomingMessage] = asyncio.Queue()

    class Probe(IhdFirmware):
        """A bare client on the HAN: the IHD's radio set-up, without its own loops."""

        endpoint = EndpointDescriptor(1, 0x0502, (), (Metering.cluster_id,))

        async def on_start(self) -> None:
            pass

        def handle_message(self, message: IncomingMessage) -> None:
            if message.profile_id == 0x0109:  # not the network's ZDO and Green Power chatter
                received.put_nowait(message)

    probe = await premises.start("probe", Probe)
    await eventually(lambda: probe.joined, 20, "probe joined")
    assert meter.nwk is not None

    async def ask(payload: bytes, cluster: int = Metering.cluster_id) -> IncomingMessage:
        await probe.send(meter.nwk or 0, cluster, 1, payload)
        return await asyncio.wait_for(received.get(), 5)

    request = foundation.ZCLHeader.general(7, foundation.GeneralCommand.Read_Attributes)
    ids = b"".join(i.to_bytes(2, "little") for i in (0x0000, 0x0400, 0x0306, 0x0999))
    reply = await ask(request.serialize() + ids)
    assert (reply.profile_id, reply.cluster_id, reply.src_endpoint) == (0x0109, 0x0702, 1)
    header, response = zigpy_parse(reply.payload)  # zigpy's own parser
    assert header.tsn == 7 and header.direction == foundation.Direction.Server_to_Client
    records = {r.attrid: r for r in response.status_records}
    assert records[0x0000].value.value == 1_234_567  # Wh
    assert records[0x0400].value.value == 512  # W
    assert records[0x0306].value.value == 0  # electric metering
    assert records[0x0999].status == foundation.Status.UNSUPPORTED_ATTRIBUTE

    before = meter.events.count(EventCode.MALFORMED_MESSAGE)
    await probe.send(meter.nwk, Metering.cluster_id, 1, b"\x00\x08\x00\x00")  # half an id
    await eventually(
        lambda: meter.events.count(EventCode.MALFORMED_MESSAGE) == before + 1, 5, "event logged"
    )
    # Nothing came back for it: the next answer is the one to the next request.
    # Demand Response and Load Control (0x0701): a cluster the meter does not serve.
    drlc = foundation.ZCLHeader.general(9, foundation.GeneralCommand.Read_Attributes)
    reply = await ask(drlc.serialize() + b"\x00\x00", cluster=0x0701)
    header, response = zigpy_parse(reply.payload)
    assert header.tsn == 9 and header.command_id == foundation.GeneralCommand.Default_Response
    assert response.status == foundation.Status.UNSUPPORTED_CLUSTER

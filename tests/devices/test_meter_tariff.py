"""The meters' tariff in their firmware, on a manual clock: persistence across a kill, the load
profile, the Price server, the tunnelled head-end commands and the CPP answer.

No network: frames are handed to the firmware's `handle_message` as the radio would, and the
answers it sends are taken from its radio port.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from zigpy.zcl import foundation

from devices.core.firmware import Firmware
from devices.esme.firmware import EsmeFirmware
from devices.gsme.firmware import GsmeFirmware
from devices.meter.tariff_setup import TariffSetup
from devices.meter.tunnel_server import CHUNK_OCTETS
from firmware.zcl.frame import MAX_ZCL_PAYLOAD, ZclFrame, cluster_command_header
from hal.emulated.clock import ManualClock
from hal.emulated.metrology import ConstantFlow, ConstantLoad
from hal.radio import IncomingMessage
from hal.real.sqlite_store import SqliteStore
from protocol.event_codes import EventCode
from protocol.meter_tunnel import Reassembly, chunks
from protocol.se import Metering, Price, Tunneling
from protocol.se.price_types import CppAuth
from protocol.se.tunneling import TunnelProtocolId
from protocol.tariff import tariff_from_json
from protocol.tariff.model import Tariff
from tests.boards import electricity_meter_board, gas_meter_board, identity

ROOT = Path(__file__).resolve().parents[2]
START = datetime(2026, 1, 15, 6, 0, tzinfo=UTC)  # 06:00 GMT: the night rate until 07:30
IHD = (0x4321, 1)


def demo(fuel: str = "electricity") -> Tariff:
    return tariff_from_json((ROOT / "rigs" / "tariffs" / f"demo-{fuel}.json").read_bytes())


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


def esme_on(
    clock: ManualClock, store: SqliteStore, watts: float, minutes: int = 30
) -> EsmeFirmware:
    board = electricity_meter_board(clock, store, ConstantLoad(watts))
    return EsmeFirmware(identity("esme"), board, TariffSetup(demo(), minutes))


class Sent:
    """What a firmware sends on its radio, captured: (destination, cluster, payload)."""

    def __init__(self, firmware: Firmware) -> None:
        self.frames: list[tuple[int, int, bytes]] = []

        async def send(destination: int, cluster_id: int, endpoint: int, payload: bytes) -> None:
            self.frames.append((destination, cluster_id, payload))

        firmware.send = send  # type: ignore[method-assign]

    def commands(self, cluster: Any) -> list[tuple[str, Any]]:
        found = []
        for _dst, cluster_id, payload in self.frames:
            frame = ZclFrame.parse(payload)
            if cluster_id != cluster.cluster_id or frame.is_general:
                continue
            definition = cluster.client_commands[frame.command_id]
            found.append((definition.name, definition.schema.deserialize(frame.body)[0]))
        return found


def request(firmware: Firmware, cluster: Any, name: str, tsn: int = 1, **fields: Any) -> None:
    """A client-to-server cluster command from the IHD, handed up as the radio would."""
    definition = cluster.commands_by_name[name]
    header = cluster_command_header(
        tsn, definition.id, to_server=True, disable_default_response=False
    )
    payload = bytes(header.serialize() + definition.schema(**fields).serialize())
    firmware.handle_message(
        IncomingMessage(
            IHD[0], 0x0109, int(cluster.cluster_id), IHD[1], 1, payload, 255, -40, False
        )
    )


async def settle(clock: ManualClock) -> None:
    await clock.run_for(0)  # let the reply and push tasks run


# -- persistence --------------------------------------------------------------------------------


@pytest.mark.req("18.2")
async def test_a_kill_mid_billing_restarts_with_the_same_tariff_registers(
    tmp_path: Path, started: Any
) -> None:
    """Two meters see the same 1.8 kW from 07:10 to 07:40 (across the 07:30 switch): one runs
    through, the other is killed at 07:20 without a clean stop and powered up again on its
    store. Both end with the same registers and costs: nothing lost, nothing counted twice."""
    results = []
    for kill in (False, True):
        clock = ManualClock(START + timedelta(minutes=70))
        with SqliteStore(tmp_path / f"meter-{kill}.sqlite") as store:
            meter = await started(esme_on(clock, store, 1800))
            await clock.run_for(10 * 60)
            if kill:
                meter._running = False  # a kill: no on_stop, no last save
                for task in list(meter._tasks):
                    task.cancel()
                saved_raw = meter._saved_raw
                meter = await started(esme_on(clock, store, 1800))
                # The restarted meter resumes from what was saved with the register.
                assert meter.commodity.raw_summation(meter.register.units) == saved_raw
            await clock.run_for(20 * 60)
            await meter.stop()
            regs = meter.tariff.tariff.registers()
            results.append((meter.register.units // 1000, regs))
    (wh_a, a), (wh_b, b) = results
    assert a.import_wh == wh_a and b.import_wh == wh_b
    # The killed meter lost at most the sub-Wh remainder of its last sample.
    assert 0 <= wh_a - wh_b <= 1
    assert sum(a.tou_import_wh) == a.import_wh and sum(b.tou_import_wh) == b.import_wh
    assert a.tou_import_wh[0] == b.tou_import_wh[0]  # the day rate, all after the restart
    assert a.standing_charge == b.standing_charge
    assert a.tou_import_wh[1] - b.tou_import_wh[1] == wh_a - wh_b
    assert a.total_cost.value - b.total_cost.value == (wh_a - wh_b) * 142130


@pytest.mark.req("16.17")
async def test_the_initial_tariff_is_active_and_priced_per_register(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    meter = await started(esme_on(clock, store, 18_000))
    await clock.run_for(20 * 60)  # 06:00-06:20, night: 6 kWh at 0.14213
    regs = meter.tariff.tariff.registers()
    assert regs.tou_import_wh[:2] == (0, 6000)
    assert regs.tou_import_cost[0].value == 0 and str(regs.tou_import_cost[1]) == "0.85278"
    activated = [r for r in meter.events.recent(20) if r.code == EventCode.TOU_ACTIVATED]
    assert len(activated) == 1
    assert "Night" in meter.display.lines()[2] and "£0.14213/kWh" in meter.display.lines()[2]


# -- profile ------------------------------------------------------------------------------------


@pytest.mark.req("16.15")
async def test_profile_intervals_are_kept_and_read_by_time_range(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    meter = await started(esme_on(clock, store, 1200, minutes=15))
    await clock.run_for(2 * 60 * 60 + 1)
    data = meter.tariff.commands.dispatch(
        "read_profile",
        {
            "from": (START + timedelta(minutes=30)).isoformat(),
            "to": (START + timedelta(hours=1, minutes=30)).isoformat(),
        },
    )
    starts = [i["start"] for i in data["intervals"]]
    assert starts == [(START + timedelta(minutes=m)).isoformat() for m in (30, 45, 60, 75)]
    assert data["minutes"] == 15 and data["unit"] == "Wh"
    # 1.2 kW for 15 min: 300 Wh an interval (a Wh may land in its neighbour at a boundary)
    assert all(299 <= i["quantity"] <= 301 for i in data["intervals"])
    assert sum(i["quantity"] for i in data["intervals"]) in range(1199, 1202)
    night = [
        i for i in data["intervals"] if i["start"] < (START + timedelta(minutes=90)).isoformat()
    ]
    assert all(i["cost_nano"] > 0 for i in night)
    # A restart keeps them: the profile is in the store.
    again = esme_on(clock, store, 0, minutes=15)
    assert again.tariff.tariff.profile.count() == meter.tariff.tariff.profile.count() >= 8


@pytest.mark.req("16.15")
async def test_get_profile_answers_in_one_frame(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    meter = await started(esme_on(clock, store, 2400, minutes=5))
    await clock.run_for(30 * 60 + 1)
    sent = Sent(meter)
    request(meter, Metering, "get_profile", interval_channel=0, end_time=0, number_of_periods=24)
    await settle(clock)
    ((_, _, payload),) = sent.frames
    assert len(payload) <= MAX_ZCL_PAYLOAD
    frame = ZclFrame.parse(payload)
    response: Any = Metering.client_commands[frame.command_id].schema.deserialize(frame.body)[0]
    assert response.profile_interval_period == 6  # 5 minutes
    assert len(response.intervals) == 6 and all(199 <= v <= 201 for v in response.intervals)


# -- the Price server -------------------------------------------------------------------------


@pytest.mark.req("16.20")
async def test_price_clients_hear_every_price_change_at_once(
    store: SqliteStore, started: Any
) -> None:
    clock = ManualClock(START + timedelta(minutes=85))  # 07:25
    meter = await started(esme_on(clock, store, 500))
    await clock.run_for(1)
    sent = Sent(meter)
    request(meter, Price, "get_current_price", command_options=0)
    await settle(clock)
    ((name, first),) = sent.commands(Price)
    assert name == "publish_price" and first.price == 142130  # £0.14213 at 6 digits
    assert first.price_trailing_digit_and_price_tier.price_tier == 2
    assert first.price_trailing_digit_and_price_tier.trailing_digit == 6
    assert bytes(first.rate_label) == b"Night" and first.currency == 826
    sent.frames.clear()
    await clock.run_for(5 * 60)  # 07:30: the day rate
    pushed = [fields for name, fields in sent.commands(Price) if name == "publish_price"]
    assert [p.price for p in pushed] == [305670]
    assert pushed[0].price_trailing_digit_and_price_tier.price_tier == 1


@pytest.mark.req("12.1.b")
async def test_tariff_information_and_matrix_fit_the_frame(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    meter = await started(esme_on(clock, store, 500))
    await clock.run_for(1)
    sent = Sent(meter)
    request(
        meter,
        Price,
        "get_tariff_information",
        earliest_start_time=0,
        min_issuer_event_id=0,
        number_of_commands=1,
        tariff_type=0,
    )
    request(meter, Price, "get_price_matrix", tsn=2, issuer_tariff_id=0xFFFFFFFF)
    await settle(clock)
    commands = dict(sent.commands(Price))
    info, matrix = commands["publish_tariff_information"], commands["publish_price_matrix"]
    assert info.standing_charge == 538900 and info.number_of_price_tiers_in_use == 2
    assert [(e.tier_block_id, e.price) for e in matrix.price_matrix] == [(1, 305670), (2, 142130)]
    assert all(len(p) <= MAX_ZCL_PAYLOAD for _, _, p in sent.frames)


# -- the head-end's commands through the tunnel -------------------------------------------------


async def exchange(meter: Firmware, clock: ManualClock, message: dict[str, Any]) -> dict[str, Any]:
    sent = Sent(meter)
    request(
        meter,
        Tunneling,
        "request_tunnel",
        tsn=10,
        protocol_id=TunnelProtocolId.Test,
        manufacturer_code=0,
        flow_control_support=False,
        maximum_incoming_transfer_size=CHUNK_OCTETS,
    )
    await settle(clock)
    ((_, opened),) = sent.commands(Tunneling)
    tunnel_id = int(opened.tunnel_id)
    for tsn, part in enumerate(chunks(message, CHUNK_OCTETS), 11):
        sent.frames.clear()
        request(meter, Tunneling, "transfer_data", tsn=tsn % 256, tunnel_id=tunnel_id, data=part)
        await settle(clock)
    answer = Reassembly()
    while True:
        ((name, reply),) = sent.commands(Tunneling)
        assert name == "transfer_data_from_server"
        assert all(len(p) <= MAX_ZCL_PAYLOAD for _, _, p in sent.frames)
        done = answer.take(bytes(reply.data))
        if done is not None:
            return done
        sent.frames.clear()
        request(
            meter,
            Tunneling,
            "ready_data",
            tsn=99,
            tunnel_id=tunnel_id,
            number_of_octets_left=CHUNK_OCTETS,
        )
        await settle(clock)


@pytest.mark.req("16.7")
async def test_a_passive_tariff_from_the_head_end_takes_effect_at_its_instant(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    meter = await started(esme_on(clock, store, 1000))
    await clock.run_for(1)
    document = json.loads((ROOT / "rigs" / "tariffs" / "demo-electricity.json").read_text())
    document.pop("tou")
    document["name"] = "Flat"
    document["single"] = {"import_price": "0.25"}
    effective = START + timedelta(minutes=10)
    answer = await exchange(
        meter,
        clock,
        {
            "command": "set_tariff",
            "args": {"tariff": document, "effective_from": effective.isoformat()},
        },
    )
    assert answer["ok"], answer
    assert answer["data"]["effective_from"] == effective.isoformat()
    logged = [r for r in meter.events.recent(10) if r.code == EventCode.PASSIVE_TARIFF_UPDATED]
    assert logged and logged[0].detail["name"] == "Flat"
    await clock.run_for(9 * 60 + 58)
    before = meter.tariff.tariff.price(clock.now())
    assert before is not None and str(before.import_price) == "0.14213"  # still Economy 7
    await clock.run_for(2)
    price = meter.tariff.tariff.price(clock.now())
    assert price is not None and str(price.import_price) == "0.25"
    codes = [r.code for r in meter.events.recent(10)]
    assert EventCode.SINGLE_RATE_TARIFF_ACTIVATED in codes
    refused = await exchange(
        meter, clock, {"command": "set_tariff", "args": {"tariff": {"tariff": 1}}}
    )
    assert not refused["ok"] and "tariff" in refused["error"]


@pytest.mark.req("13.2", "12.1.aa")
async def test_the_gas_meter_takes_cv_and_ptz_from_the_head_end(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    board = gas_meter_board(clock, store, ConstantFlow(1.0))
    gsme = await started(GsmeFirmware(identity("gsme"), board, TariffSetup(demo("gas"))))
    await clock.run_for(3600)  # 1 m3
    answer = await exchange(
        gsme, clock, {"command": "set_gas_conversion", "args": {"cv": "40.0", "ptz": "1.0"}}
    )
    assert answer == {"ok": True, "data": {"cv": "40", "ptz": "1"}}
    before = gsme.tariff.tariff.registers().import_wh
    await clock.run_for(3600)  # 1 m3 more at CV 40, PTZ 1: 40/3.6 = 11.111 kWh
    assert gsme.tariff.tariff.registers().import_wh - before in range(11_110, 11_113)
    changed = [r for r in gsme.events.recent(10) if r.code == EventCode.TARIFF_ITEM_CHANGED]
    assert changed and changed[0].detail["item"] == "conversion"


@pytest.mark.req("12.1.a", "12.1.b", "12.1.d")
async def test_tariff_items_are_read_updated_and_suppressed_with_events(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    meter = await started(esme_on(clock, store, 0))
    await clock.run_for(1)
    items = meter.tariff.commands.dispatch("tariff_items", {"action": "read"})["items"]
    assert items["pricing"]["value"]["standing_charge"]["amount"] == "0.5389"
    assert set(items) == {
        "structure",
        "rates",
        "tiers",
        "pricing",
        "block_period",
        "currency",
        "conversion",
    }
    meter.tariff.commands.dispatch("tariff_items", {"action": "suppress", "item": "rates"})
    await clock.run_for(1)
    assert not any("/kWh" in line for line in meter.display.lines())
    updated = meter.tariff.commands.dispatch(
        "tariff_items",
        {
            "action": "update",
            "item": "pricing",
            "value": {"standing_charge": {"amount": "0.60", "period_days": 1}},
        },
    )
    assert updated["item"] == "pricing"
    logged = [
        r.detail["item"] for r in meter.events.recent(10) if r.code == EventCode.TARIFF_ITEM_CHANGED
    ]
    assert logged[:2] == ["pricing", "rates"]


# -- critical peak pricing ----------------------------------------------------------------------


def cpp(event_id: int, refusable: bool, start: datetime) -> dict[str, Any]:
    return {
        "cpp": 1,
        "id": event_id,
        "start": start.isoformat(),
        "end": (start + timedelta(hours=1)).isoformat(),
        "threshold_wh": 500,
        "prices": ["0.90", "1.50"],
        "refusable": refusable,
    }


@pytest.mark.req("16.11.8", "16.11.9")
async def test_cpp_notice_accept_and_reject_from_the_ihd(
    store: SqliteStore, clock: ManualClock, started: Any
) -> None:
    meter = await started(esme_on(clock, store, 2000))
    await clock.run_for(1)
    sent = Sent(meter)
    request(meter, Price, "get_current_price", command_options=0)  # the IHD subscribes
    await settle(clock)
    sent.frames.clear()
    soon = START + timedelta(minutes=10)
    meter.tariff.commands.dispatch("schedule_cpp", {"cpp": cpp(7, True, soon)})
    meter.tariff.commands.dispatch(
        "schedule_cpp", {"cpp": cpp(8, False, soon + timedelta(hours=2))}
    )
    await clock.run_for(1)  # pushed with the next sample
    notices = {
        int(f.issuer_event_id): f.cpp_auth
        for n, f in sent.commands(Price)
        if n == "publish_cpp_event"
    }
    assert notices[7] == CppAuth.Pending and notices[8] == CppAuth.Forced
    sent.frames.clear()
    request(meter, Price, "cpp_event_response", tsn=5, issuer_event_id=7, cpp_auth=CppAuth.Rejected)
    request(meter, Price, "cpp_event_response", tsn=6, issuer_event_id=8, cpp_auth=CppAuth.Rejected)
    await settle(clock)
    statuses = [ZclFrame.parse(p) for _, c, p in sent.frames if c == Price.cluster_id]
    defaults = [
        foundation.DefaultResponse.deserialize(f.body)[0].status for f in statuses if f.is_general
    ]
    assert defaults == [foundation.Status.SUCCESS, foundation.Status.NOT_FOUND]  # 8 is mandatory
    await clock.run_for(20 * 60)  # inside event 7's window: rejected, so the ToU price holds
    price = meter.tariff.tariff.price(clock.now())
    assert price is not None and price.cpp is None and str(price.import_price) == "0.14213"
    codes = [r.code for r in meter.events.recent(20)]
    assert EventCode.CPP_EVENT_REJECTED in codes and EventCode.CPP_EVENT_SCHEDULED in codes
    status = meter.tariff.commands.dispatch("read_tariff", {})["cpp_events"]
    assert [(e["id"], e["status"]) for e in status] == [(7, "Rejected"), (8, "Forced")]

"""The tariff items (12.1.a-e, q, aa) and the tariff registers on the meter's optical port.

Every byte crosses a real pseudo-terminal between the running meter firmware (ESME or GSME,
simulated clock at real speed, SQLite store) and the HHT's client (`tools.hht.tariff_items`
over `OpticalClient`, pyserial on the probe's side); one test uses the third-party client
`iec62056-21-dzg` as an oracle. A change goes through the head-end's own tariff commands, so
these tests check what the port adds: the objects, the access rules (proof, seal), the event
naming the optical port, one transaction, and refusals that change nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from iec62056_21_dzg import client as dzg_client
from iec62056_21_dzg import messages as dzg_messages

from devices.gsme.firmware import GsmeFirmware
from devices.meter.meter_firmware import MeterFirmware
from devices.meter.optical_objects import ERR_BAD_VALUE, WriteRefused
from devices.meter.tariff_commands import ITEMS as TARIFF_ITEMS
from devices.meter.tariff_han import MeterTariffLink
from devices.meter.tariff_setup import TariffSetup
from firmware.boards import Panel
from hal.control_socket import ControlServer
from hal.emulated.clock import SimulatedClock
from hal.emulated.metrology import ConstantFlow
from hal.emulated.pty_serial import PtySerialLine
from hal.peripherals import TamperInput
from hal.real.sqlite_store import SqliteStore
from hal.serial_line import LineSettings
from protocol.event_codes import EventCode
from protocol.iec62056_21.frames import (
    VALUE_MAX,
    Command,
    DataSet,
    ModeChar,
    OptionSelect,
    build_message,
)
from protocol.iec62056_21.json_value import MORE, WRITE_MAX, encode_json_value
from protocol.iec62056_21.tariff_items import ITEM_OBIS, SUPPRESS_OBIS
from protocol.iec62056_21.tariff_items import TARIFF_ITEMS as WIRE_ITEMS
from protocol.local_auth import Challenge, make_verifier, proof
from protocol.tariff import encode_tariff, tariff_from_json
from protocol.tariff.fixed import UnitPrice
from protocol.tariff.model import Fuel
from tests.boards import as_gas_meter, device_board, identity
from tests.devices.optical_fixtures import ENGINEER, PASSWORD, OpticalMeter, optical_esme
from tests.waiting import eventually
from tools.hht.optical_client import MeterRefused
from tools.hht.tariff_items import ITEMS, items_of_readout, read_items, set_item, suppress_item

ITEMS_CLAUSE = {item: clause for item, (clause, _keys) in TARIFF_ITEMS.items()}

ROOT = Path(__file__).resolve().parents[2]
TARIFFS = ROOT / "rigs" / "tariffs"


def setup(name: str) -> TariffSetup:
    return TariffSetup(tariff_from_json((TARIFFS / name).read_bytes()))


@contextlib.asynccontextmanager
async def running(meter: OpticalMeter) -> AsyncIterator[OpticalMeter]:
    await meter.line.open()
    await meter.meter.start()
    try:
        firmware = meter.meter
        await eventually(lambda: firmware.tariff.tariff.active_tariff(), 15, "the tariff active")
        yield meter
    finally:
        await meter.meter.stop()
        await meter.line.close()
        meter.store.close()


def optical_gsme(directory: Path, tariff: TariffSetup) -> OpticalMeter:
    """A gas meter with its optical port on a pty (the GSME twin of `optical_esme`)."""
    store = SqliteStore(directory / "gsme.sqlite")
    clock = SimulatedClock(datetime(2026, 1, 15, 6, 0, tzinfo=UTC), time.time(), 1.0)
    line = PtySerialLine(directory / "gsme.optical")
    device = device_board(clock, store, panel=Panel(tamper=frozenset({TamperInput.SEAL})))
    board = dataclasses.replace(
        as_gas_meter(device, ConstantFlow(1.0)),
        optical=line,
        factory_verifier=make_verifier(PASSWORD, bytes(range(16)), 1000),
    )
    meter = GsmeFirmware(identity("gsme", 0x000D6F0000002001), board, tariff)
    return OpticalMeter(meter, line, store)  # type: ignore[arg-type]


def optical_meter_for(directory: Path, name: str) -> OpticalMeter:
    """The ESME or the GSME, by the fuel of the tariff file it starts with."""
    tariff = setup(name)
    assert tariff.initial is not None
    if tariff.initial.fuel is Fuel.GAS:
        return optical_gsme(directory, tariff)
    return optical_esme(directory, tariff=tariff)


async def bench(meter: OpticalMeter, cmd: str, **fields: Any) -> dict[str, Any]:
    server = ControlServer(Path("unused.sock"), meter.meter.control_handlers())
    return await server.dispatch(json.dumps({"cmd": cmd, **fields}).encode())


def remote_items(firmware: MeterFirmware) -> dict[str, Any]:
    """What the head-end reads (the same command, over the WAN)."""
    found = firmware.tariff.commands.dispatch("tariff_items", {"action": "read"})
    items: dict[str, Any] = found["items"]
    return items


def saved_state(meter: OpticalMeter) -> dict[str, Any]:
    """Everything a tariff change would touch, as the SQLite store holds it."""
    engine = meter.store.get("meter_tariff", "engine") or {}
    with meter.store.transaction() as tx:
        tariff_events = tx.execute(
            "SELECT count(*) FROM event_log WHERE code IN (?, ?)",
            (int(EventCode.PASSIVE_TARIFF_UPDATED), int(EventCode.TARIFF_ITEM_CHANGED)),
        ).fetchone()[0]
    return {
        "active": engine.get("active"),
        "passive": engine.get("passive"),
        "suppressed": meter.store.get("meter_tariff", "suppressed", []),
        "events": tariff_events,
        "items": remote_items(meter.meter),
        "local_changes": len(meter.meter.optical.access.changes(10**6)),
    }


def optical_events(firmware: MeterFirmware, code: EventCode) -> list[dict[str, Any]]:
    return [
        dict(e.detail)
        for e in firmware.events.recent(50)
        if e.code == code and e.detail.get("source") == "optical"
    ]


@pytest.mark.req("19.2.1")
async def suppress_then_read(meter: OpticalMeter, item: str, on: bool) -> dict[str, str]:
    """An engineer suppresses (or shows) `item`; the readout a later session gets."""
    async with meter.probe() as hht:
        await hht.login(PASSWORD, ENGINEER)
        assert (await suppress_item(hht, item, on))["suppressed"] is on
    async with meter.probe() as hht:
        return {d.address: d.value for d in await hht.readout()}


def test_the_port_names_every_item_of_the_meter_in_its_order() -> None:
    assert tuple(TARIFF_ITEMS) == WIRE_ITEMS == ITEMS  # what the head-end and the HHT name


# -- reading -------------------------------------------------------------------------------------


@pytest.mark.timeout(90)
@pytest.mark.req("19.2.1", "16.17")
async def test_the_readout_shows_the_tariff_registers_and_the_active_price(
    tmp_path: Path,
) -> None:
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        tariff = meter.meter.tariff.tariff
        await eventually(lambda: tariff.registers().tou_import_wh[1] > 0, 15, "night energy")
        async with meter.probe() as hht:
            shown = {d.address: (d.value, d.unit) for d in await hht.readout()}
        night_wh = tariff.registers().tou_import_wh[1]
        displayed = meter.meter.display.lines()
    # 06:00 GMT on the Economy 7 demo tariff: the night register, at its price, in money on
    # the display too (16.17).
    assert shown["0-0:128.5.0"] == ("0.14213", "GBPkWh")
    assert any(line.endswith(" £0.14213/kWh") for line in displayed), displayed
    assert shown["0-0:128.5.1"][0] == "2"
    assert shown["1-0:1.8.1"] == ("0.000", "kWh")  # the day register: nothing yet
    night = Decimal(shown["1-0:1.8.2"][0]) * 1000
    assert shown["1-0:1.8.2"][1] == "kWh" and 0 < night <= night_wh
    assert {shown[SUPPRESS_OBIS[item]][0] for item in ITEMS} == {"0"}
    assert all(ITEM_OBIS[item] in shown for item in ITEMS)  # a read-only engineer's items
    assert "E" not in shown["0-0:128.5.3"][0]  # money in plain notation


@pytest.mark.timeout(120)
@pytest.mark.req("12.1.a", "12.1.b", "12.1.c", "12.1.d", "12.1.e", "12.1.q", "19.2.1")
@pytest.mark.parametrize(
    ("tariff", "item", "key"),
    [
        ("demo-electricity.json", "structure", "tou"),
        ("demo-electricity.json", "rates", "tou"),
        ("matrix-8x8.json", "tiers", "matrix"),
        ("demo-electricity.json", "pricing", "standing_charge"),
        ("block.json", "block_period", "block"),
        ("currency-switch.json", "currency", "currency_switch"),
    ],
)
async def test_every_tariff_item_reads_over_the_port_as_the_head_end_reads_it(
    tmp_path: Path, tariff: str, item: str, key: str
) -> None:
    document = encode_tariff(tariff_from_json((TARIFFS / tariff).read_bytes()))
    async with running(optical_meter_for(tmp_path, tariff)) as meter:
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            items = await read_items(hht, list(ITEMS))
        remote = remote_items(meter.meter)
    assert {name: found["value"] for name, found in items.items()} == {
        name: found["value"] for name, found in remote.items()
    }
    assert items[item]["value"][key] == json.loads(json.dumps(remote[item]["value"][key]))
    assert items[item]["value"][key] == document[key]  # the file's tariff, as the meter holds it
    assert not any(found["suppressed"] for found in items.values())


@pytest.mark.timeout(90)
@pytest.mark.req("12.1.a", "12.1.b", "12.1.d", "19.2.1")
async def test_the_readout_carries_every_tariff_item_as_a_programming_read_does(
    tmp_path: Path,
) -> None:
    """An engineer who may only read (D.2.2) opens no programming session: the items are in
    the readout, a long one over several data sets of its address."""
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        async with meter.probe() as hht:
            data = await hht.readout()
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            programmed = await read_items(hht, list(ITEMS))
        remote = remote_items(meter.meter)
    from_readout = items_of_readout(data, list(ITEMS))
    assert from_readout == programmed
    assert {i: f["value"] for i, f in from_readout.items()} == {
        i: f["value"] for i, f in remote.items()
    }
    assert sum(d.address == ITEM_OBIS["rates"] for d in data) > 1  # longer than one data set


# -- updating --------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.req("12.1.b", "12.1.a", "17.2.21.a", "17.2.21.e", "19.2.1")
async def test_an_engineer_updates_the_rates_and_the_meter_bills_by_them(tmp_path: Path) -> None:
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        firmware, tariff = meter.meter, meter.meter.tariff.tariff
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            rates = (await read_items(hht, ["rates"]))["rates"]["value"]
            rates["tou"]["registers"][1].update(import_price="0.2", label="Night (E7)/cheap")
            assert len(encode_json_value(rates)) > VALUE_MAX  # travels as several writes
            with pytest.raises(MeterRefused, match="ERR05"):  # the seal intact (17.2.21.a)
                await set_item(hht, "rates", rates)
        untouched = saved_state(meter)
        assert (await bench(meter, "seal", broken=True))["seal_broken"] is True
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            written = await set_item(hht, "rates", rates)
        assert written["value"] == rates

        def night_price() -> str | None:
            price = tariff.price(firmware.clock.now())
            return None if price is None else str(price.import_price)

        await eventually(lambda: night_price() == "0.2", 15, "the new night price in force")
        before = tariff.registers()
        await eventually(
            lambda: tariff.registers().tou_import_wh[1] >= before.tou_import_wh[1] + 3,
            20,
            "3 Wh more on the night register",
        )
        after = tariff.registers()
        wh = after.tou_import_wh[1] - before.tou_import_wh[1]
        cost = after.tou_import_cost[1].value - before.tou_import_cost[1].value
        assert cost == UnitPrice.parse("0.2").cost_of(wh).value  # billed at the engineer's price
        assert after.tou_labels[1] == "Night (E7)/cheap"
        updated = optical_events(firmware, EventCode.PASSIVE_TARIFF_UPDATED)
        changed = optical_events(firmware, EventCode.TARIFF_ITEM_CHANGED)
        saved = saved_state(meter)
        local = [c for c in firmware.optical.access.changes() if c.item.startswith("tariff")]
        clock_then = firmware.clock.now()
    assert untouched["items"]["rates"]["value"] != rates  # the refused write changed nothing
    assert saved["local_changes"] == untouched["local_changes"] + 1
    # The change log (17.2.21.e): one entry, stamped, with who changed what from what to what.
    assert [(c.engineer, c.channel, c.item) for c in local] == [
        (ENGINEER, "optical", "tariff rates")
    ]
    assert json.loads(local[0].new) == rates and json.loads(local[0].old) != rates
    assert abs((clock_then - local[0].utc).total_seconds()) < 60
    assert updated and updated[0]["by"] == ENGINEER
    assert changed and changed[0]["item"] == "rates" and changed[0]["clause"] == "12.1.b"
    assert '"0.2"' in changed[0]["new"] and '"0.14213"' in changed[0]["old"]
    assert saved["items"]["rates"]["value"] == rates  # saved, as the head-end now reads it


@pytest.mark.timeout(120)
@pytest.mark.req("12.1.a", "12.1.c", "12.1.d", "12.1.e", "12.1.q", "17.2.21.e", "19.2.1")
@pytest.mark.parametrize(
    ("tariff", "item", "path", "new"),
    [
        ("demo-electricity.json", "structure", ("tou", "switches", 1, "start"), "08:00"),
        ("matrix-8x8.json", "tiers", ("matrix", "rates", 0, "tiers", 0, "up_to_wh"), 150000),
        ("demo-electricity.json", "pricing", ("standing_charge", "amount"), "0.6"),
        ("block.json", "block_period", ("block", "period_days"), 14),
        ("currency-switch.json", "currency", ("currency_switch", "rate"), "1.2"),
    ],
)
async def test_every_tariff_item_is_updated_over_the_port_and_logged(
    tmp_path: Path, tariff: str, item: str, path: tuple[str | int, ...], new: object
) -> None:
    async with running(optical_meter_for(tmp_path, tariff)) as meter:
        await bench(meter, "seal", broken=True)
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            value = (await read_items(hht, [item]))[item]["value"]
            leaf = value
            for step in path[:-1]:
                leaf = leaf[step]
            assert leaf[path[-1]] != new
            leaf[path[-1]] = new
            written = await set_item(hht, item, value)
        remote = remote_items(meter.meter)[item]["value"]
        changed = optical_events(meter.meter, EventCode.TARIFF_ITEM_CHANGED)
        local = meter.meter.optical.access.changes()[-1]
    assert written["value"] == value == remote  # the head-end reads what the engineer set
    assert (changed[0]["item"], changed[0]["clause"], changed[0]["by"]) == (
        item,
        ITEMS_CLAUSE[item],
        ENGINEER,
    )
    assert (local.engineer, local.channel, local.item) == (ENGINEER, "optical", f"tariff {item}")
    assert json.loads(local.new) == value  # the change log (17.2.21.e): old and new values


@pytest.mark.timeout(120)
@pytest.mark.req("12.1.aa", "13.2", "19.2.1")
async def test_an_engineer_sets_the_gas_conversion_factors_and_the_meter_uses_them(
    tmp_path: Path,
) -> None:
    async with running(optical_gsme(tmp_path, setup("demo-gas.json"))) as meter:
        firmware, tariff = meter.meter, meter.meter.tariff.tariff
        await bench(meter, "seal", broken=True)
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            old = (await read_items(hht, ["conversion"]))["conversion"]["value"]
            new = {"gas": {"calorific_value": "40", "volume_factor": "1"}}
            written = await set_item(hht, "conversion", new)
        assert written["value"] == new and old != new
        assert tariff.gas is not None and (str(tariff.gas.cv), str(tariff.gas.ptz)) == ("40", "1")
        async with meter.probe() as hht:
            shown = {d.address: (d.value, d.unit) for d in await hht.readout()}
        changed = optical_events(firmware, EventCode.TARIFF_ITEM_CHANGED)
    assert changed[0]["item"] == "conversion" and changed[0]["by"] == ENGINEER
    assert "7-0:1.8.1" in shown and shown["0-0:128.5.0"][1] == "GBPkWh"  # gas registers, price


# -- suppressing --------------------------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.req("12.1.b", "12.1.d", "19.2.1")
async def test_a_suppressed_item_leaves_the_readout_and_the_display_and_is_logged(
    tmp_path: Path,
) -> None:
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        firmware = meter.meter
        await bench(meter, "seal", broken=True)
        await eventually(
            lambda: any("/kWh" in line for line in firmware.display.lines()), 10, "the price shown"
        )
        hidden = await suppress_then_read(meter, "rates", True)
        await eventually(
            lambda: not any("/kWh" in line for line in firmware.display.lines()),
            10,
            "the price gone from the display",
        )
        saved = saved_state(meter)
        shown = await suppress_then_read(meter, "rates", False)
        no_pricing = await suppress_then_read(meter, "pricing", True)  # pricing too (12.1.d)
        await eventually(
            lambda: not any("/kWh" in line for line in firmware.display.lines()),
            10,
            "the price gone from the display with pricing suppressed",
        )
        pricing_saved = saved_state(meter)
        changed = optical_events(firmware, EventCode.TARIFF_ITEM_CHANGED)
    assert "0-0:128.5.0" not in no_pricing and no_pricing[SUPPRESS_OBIS["pricing"]] == "1"
    assert pricing_saved["suppressed"] == ["pricing"]
    assert (changed[0]["item"], changed[0]["clause"], changed[0]["new"]) == (
        "pricing",
        "12.1.d",
        "suppressed True",
    )
    changed = changed[1:]
    assert "0-0:128.5.0" not in hidden and hidden[SUPPRESS_OBIS["rates"]] == "1"
    assert saved["suppressed"] == ["rates"] and saved["items"]["rates"]["suppressed"] is True
    assert shown["0-0:128.5.0"] == "0.14213" and shown[SUPPRESS_OBIS["rates"]] == "0"
    assert [(c["item"], c["new"], c["by"]) for c in changed[:2]] == [
        ("rates", "suppressed False", ENGINEER),
        ("rates", "suppressed True", ENGINEER),
    ]


# -- refusals ---------------------------------------------------------------------------------


@pytest.mark.timeout(120)
@pytest.mark.req("17.2.21.a", "17.2.21.b", "12.1.d", "12.1.b", "19.2.1")
async def test_bad_tariff_writes_are_refused_and_change_nothing(tmp_path: Path) -> None:
    pricing, rates = ITEM_OBIS["pricing"], ITEM_OBIS["rates"]
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        before = saved_state(meter)
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            with pytest.raises(MeterRefused, match="ERR05"):  # the seal is intact
                await hht.write(pricing, encode_json_value({"currency": "GBP"}))
            with pytest.raises(MeterRefused, match="ERR05"):
                await hht.write(SUPPRESS_OBIS["rates"], "1")
        await bench(meter, "seal", broken=True)
        async with meter.probe() as hht:
            with pytest.raises(MeterRefused, match="ERR06"):
                await hht.login("Wr0ngPassw9rd", ENGINEER)
        too_much = {"standing_charge": {"amount": "99999999", "period_days": 1}}
        refusals = [
            (pricing, "{not json", "ERR04"),
            (pricing, encode_json_value(too_much), "ERR04"),  # out of range
            (pricing, encode_json_value({"tou": {}}), "ERR04"),  # another item's key
            (pricing, encode_json_value({"currency": "EUR"}), "ERR04"),  # registers are GBP
            (rates, encode_json_value({"tou": {"registers": [], "switches": []}}), "ERR04"),
            (SUPPRESS_OBIS["rates"], "2", "ERR04"),
            ("0-0:128.3.9", "{}", "ERR01"),
        ]
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            for obis, value, code in refusals:
                with pytest.raises(MeterRefused, match=code):
                    await hht.write(obis, value)
            await hht.write(rates, '+{"tou":')  # a long write the session never finishes
        async with meter.probe() as hht:  # its part is gone with its session
            await hht.login(PASSWORD, ENGINEER)
            with pytest.raises(MeterRefused, match="ERR04"):
                await hht.write(rates, "}")
        after = saved_state(meter)
    assert after == before


@pytest.mark.timeout(90)
@pytest.mark.req("12.1.b")
async def test_the_parts_a_session_makes_the_meter_keep_are_bounded(tmp_path: Path) -> None:
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        before = saved_state(meter)
        rates = meter.meter.optical.table.find(ITEM_OBIS["rates"])
        assert rates.write is not None
        half = MORE + "1" * (WRITE_MAX // 2)  # as the port hands over a W1's value
        rates.write(half, ENGINEER)
        with pytest.raises(WriteRefused) as refused:
            rates.write(half, ENGINEER)  # more than WRITE_MAX kept: refused, the parts dropped
        with pytest.raises(WriteRefused, match=r"not an integer|JSON") as last:
            rates.write(".5", ENGINEER)  # the last part alone: no kept part in front of it
        after = saved_state(meter)
    assert refused.value.code == last.value.code == ERR_BAD_VALUE
    assert str(WRITE_MAX) in str(refused.value)
    assert after == before


@pytest.mark.timeout(90)
@pytest.mark.req("17.2.21.b", "12.1.d")
async def test_a_write_without_the_engineers_proof_ends_the_session_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        await bench(meter, "seal", broken=True)
        before = saved_state(meter)
        value = encode_json_value({"currency": "GBP"})
        async with meter.probe() as hht:
            identification = await hht.sign_on()
            await hht.line.write(
                hht.connection.send(OptionSelect(identification.baud, ModeChar.PROGRAMMING))
            )
            hht.line.configure(LineSettings(hht.connection.baud))
            challenge = await hht._receive()  # the meter asks for the engineer's proof ...
            assert isinstance(challenge, Command) and challenge.name == "P0"
            # ... and is sent a write instead, as a probe that skips the password would.
            write = Command("W", "1", DataSet(ITEM_OBIS["pricing"], value))
            await hht.line.write(build_message(write))
            with pytest.raises(MeterRefused, match="broke the session off"):  # B0
                await hht._receive()
        after = saved_state(meter)
    assert after == before


def fail_the_save_of(link: MeterTariffLink, monkeypatch: pytest.MonkeyPatch) -> None:
    """The store fails when a tariff item change is saved: after the change and its event are
    written, before the commit (as a failed COMMIT would)."""
    save = link.save

    def failing(tx: Any, events: Any) -> None:
        fail = any(code is EventCode.TARIFF_ITEM_CHANGED for code, _ in link.pending)
        save(tx, events)
        if fail:
            raise OSError("the store failed mid-transaction")

    monkeypatch.setattr(link, "save", failing)


@pytest.mark.timeout(90)
@pytest.mark.req("12.1.d")
async def test_a_change_that_failed_to_save_is_refused_and_never_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        firmware, link = meter.meter, meter.meter.tariff
        fail_the_save_of(link, monkeypatch)
        before = saved_state(meter)
        await bench(meter, "seal", broken=True)
        async with meter.probe() as hht:
            await hht.login(PASSWORD, ENGINEER)
            with pytest.raises(MeterRefused, match="ERR09"):
                await hht.write(SUPPRESS_OBIS["pricing"], "1")
            flag = (await hht.read(SUPPRESS_OBIS["pricing"])).value
        monkeypatch.undo()
        firmware.persist()  # the next save (the metrology loop's) finds nothing of the change
        after = saved_state(meter)
        shown = firmware.display_lines()
    assert flag == "0" and "pricing" not in link.commands.suppressed
    assert not link.pending and not link.pending_writes
    assert after == before  # no suppression, no event, no change log entry
    assert any("/kWh" in line for line in shown)  # the price still shown (12.1.d)


@pytest.mark.timeout(90)
@pytest.mark.req("12.1.b")
async def test_a_head_end_change_that_failed_to_save_never_applies(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        firmware, link = meter.meter, meter.meter.tariff
        fail_the_save_of(link, monkeypatch)
        before = saved_state(meter)
        rates = json.loads(json.dumps(before["items"]["rates"]["value"]))
        rates["tou"]["registers"][1]["import_price"] = "0.3"
        update = {"action": "update", "item": "rates", "value": rates}
        # As the tunnel runs the head-end's command (the WAN path): a refusal, the fault named.
        answer = link.tunnel._run({"command": "tariff_items", "args": update})
        monkeypatch.undo()
        firmware.persist()
        after = saved_state(meter)
        price = link.tariff.price(firmware.clock.now())
    assert answer["ok"] is False and "mid-transaction" in answer["error"]
    assert after == before  # no passive tariff, no 2102/2110 event
    assert price is not None and str(price.import_price) == "0.14213"


# -- a client no one here wrote ------------------------------------------------------------------


def dzg_pricing(path: str, value: str) -> dict[str, str]:
    """Log in with our proof through the client's own messages, then R1/W1/R1 with its calls."""
    client = dzg_client.Iec6205621Client.with_serial_transport(port=path)
    client.connect()
    try:
        challenge = Challenge.parse(client.access_programming_mode().data_set.value)
        data_set = dzg_messages.DataSet(
            value=proof(PASSWORD, challenge, ENGINEER), address=ENGINEER
        )
        login = dzg_messages.CommandMessage(command="P", command_type="2", data_set=data_set)
        client.transport.send(login.to_bytes())
        client._recv_ack()
        before = client.read_single_value(ITEM_OBIS["pricing"]).value
        client.write_single_value(ITEM_OBIS["pricing"], value)
        after = client.read_single_value(ITEM_OBIS["pricing"]).value
        flag = client.read_single_value(SUPPRESS_OBIS["pricing"]).value
        client.send_break()
    finally:
        client.disconnect()
    return {"before": before, "after": after, "flag": flag}


@pytest.mark.timeout(90)
@pytest.mark.req("12.1.d", "19.2.1")
async def test_the_dzg_client_reads_and_writes_a_tariff_item(tmp_path: Path) -> None:
    async with running(optical_esme(tmp_path, tariff=setup("demo-electricity.json"))) as meter:
        await bench(meter, "seal", broken=True)
        new = {"standing_charge": {"amount": "0.6", "period_days": 1}, "currency": "GBP"}
        result = await asyncio.to_thread(dzg_pricing, meter.line.path, encode_json_value(new))
        held = remote_items(meter.meter)["pricing"]["value"]
    assert json.loads(result["before"])["standing_charge"]["amount"] == "0.5389"
    assert json.loads(result["after"]) == new and result["flag"] == "0"
    assert held == new  # what the head-end now reads

"""Tariff clauses proven on running components: one demo premises, its clock ten times real
time, PV behind the electricity meter (`pv_peak_kw`), driven only through real interfaces:

- the head-end's WAN commands (`smartmeter headend tariff ...`, `smartmeter headend read`), which
  travel head-end -> MQTT -> hub -> the meter's tunnel over the HAN;
- the bench-control ports: the meters' load and generation, what the IHD knows and shows, what
  the meters display.

The rig is shared (it takes a while to start), but no test relies on another: each begins with
`start_from`, which puts the premises in the state it needs (the tariffs in force, the load and
generation, a bill above zero), so any one runs alone (`-k`). Money is compared as Decimal, and
exact: the meters bill in fixed point.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from firmware.rig import Rig
from hal.ports import uk_local
from tests.integration.tariff_rig import (
    ROOT,
    bench,
    ihd_price,
    premises_of,
    run_smartmeter,
    smartmeter,
)
from tests.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]
#: The rig's clock runs this many times real time: a rig hour is six real minutes.
SCALE = 10.0
#: Real seconds to wait for something the rig does within a few of its minutes.
WAIT_S = 90.0


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Rig]:
    with premises_of(
        tmp_path_factory.mktemp("tariff-clauses"), scale=SCALE, esme="pv_peak_kw = 3.5"
    ) as started:
        yield started


def registers(rig: Rig, device: str) -> dict[str, Any]:
    """The meter's tariff registers, billing and price, read by the head-end (16.15)."""
    found: dict[str, Any] = smartmeter(rig, "headend", "tariff", "registers", device)["data"]
    return found


def meter_now(rig: Rig, device: str = "esme") -> datetime:
    return datetime.fromisoformat(bench(rig, device, "status")["now"])


def set_tariff(rig: Rig, device: str, document: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Send `document` from the head-end, effective two rig minutes from now (16.7)."""
    path = folder / f"{device}-tariff.json"
    path.write_text(json.dumps(document))
    effective = (meter_now(rig, device) + timedelta(minutes=2)).replace(microsecond=0)
    reply: dict[str, Any] = smartmeter(
        rig, "headend", "tariff", "set", device, str(path), "--from", effective.isoformat()
    )["data"]
    return reply


def demo(fuel: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(
        (ROOT / "rigs" / "tariffs" / f"demo-{fuel}.json").read_text()
    )
    return document


def set_power(rig: Rig, load_w: float, generation_w: float) -> None:
    bench(rig, "esme", "load", watts=load_w)
    bench(rig, "esme", "generation", watts=generation_w)


def dec(value: Any) -> Decimal:
    return Decimal(str(value))


def ihd_value(rig: Rig, fuel: str, key: str) -> Decimal | None:
    value = (ihd_price(rig, fuel) or {}).get(key)
    return None if value is None else dec(value)


def grown(rig: Rig, device: str, key: str, by: int) -> dict[str, Any]:
    """The head-end's registers once `key` (Wh) grew by `by` from now."""
    start = registers(rig, device)["registers"][key]
    found: dict[str, Any] = wait_until(
        lambda: r if (r := registers(rig, device))["registers"][key] >= start + by else None,
        WAIT_S,
        f"{device} {key} to grow by {by} Wh",
    )
    return found


def bill_above(rig: Rig, fuel: str, floor: Decimal) -> Decimal | None:
    value = ihd_value(rig, fuel, "bill")
    return value if value is not None and value > floor else None


def tariff_in_force(rig: Rig, device: str, document: dict[str, Any], folder: Path) -> None:
    """`document` set from the head-end (`set_tariff`) and waited for until it is active."""
    tariff_id = set_tariff(rig, device, document, folder)["tariff_id"]

    def active() -> bool:
        found = registers(rig, device)
        return found["passive"] is None and found["active"]["tariff_id"] == tariff_id

    wait_until(active, WAIT_S, f"{document['name']} in force on {device}")


FUELS = {"esme": "electricity", "gsme": "gas"}


def start_from(
    rig: Rig,
    folder: Path,
    *,
    demo_tariffs: tuple[str, ...] = (),
    power: tuple[float, float] = (0, 0),
    gas_w: float = 0,
    bill_on: tuple[str, ...] = (),
) -> None:
    """A test's starting state on the shared rig: the demo tariff set afresh on each meter of
    `demo_tariffs` (whatever an earlier test changed in it is gone), the electricity meter's
    load and generation (W) and the gas meter's load, and the bill of each meter of `bill_on`
    above zero on the IHD (a credit shows as zero: BillToDateDelivered holds no sign)."""
    for device in demo_tariffs:
        tariff_in_force(rig, device, demo(FUELS[device]), folder)
    if bill_on:
        set_power(rig, 3000, 0)
        bench(rig, "gsme", "load", watts=10_000)
        for device in bill_on:
            wait_until(
                partial(bill_above, rig, FUELS[device], Decimal(0)),
                WAIT_S * 2,
                f"a {FUELS[device]} bill above zero",
            )
    set_power(rig, *power)
    bench(rig, "gsme", "load", watts=gas_w)


# -- 14.4: the cost since the last bill ---------------------------------------------------------


@pytest.mark.req("14.4")
def test_the_cost_since_the_last_bill_is_on_both_meters_and_the_ihd(
    rig: Rig, tmp_path: Path
) -> None:
    """Both meters show the estimated cost since the last bill; the IHD shows each as money,
    it grows with consumption, and never more than the meter has billed."""
    start_from(
        rig,
        tmp_path,
        demo_tariffs=("esme", "gsme"),
        power=(3000, 0),
        gas_w=10_000,
        bill_on=("esme", "gsme"),
    )
    for fuel, device in (("electricity", "esme"), ("gas", "gsme")):
        first = wait_until(partial(ihd_value, rig, fuel, "bill"), WAIT_S, f"{fuel} bill")
        later = wait_until(
            partial(bill_above, rig, fuel, first), WAIT_S, f"the {fuel} bill on the IHD to grow"
        )
        billed = dec(registers(rig, device)["billing"]["cost_since_bill"])
        assert Decimal(0) < later <= billed
        assert any(line.startswith("Bill £") for line in bench(rig, device, "display")["lines"])
    shown = bench(rig, "ihd", "display")["lines"]
    assert any(line.startswith("Elec ") and " bill £" in line for line in shown)
    assert any(line.startswith("Gas ") and " bill £" in line for line in shown)


# -- 16.22.3: the generation discount on the IHD ------------------------------------------------


@pytest.mark.req("16.22.3")
def test_the_generation_discount_lowers_the_bill_the_ihd_shows(rig: Rig, tmp_path: Path) -> None:
    """The head-end adds a generation discount; with the PV exactly covering the load (no
    import, no export) the only money moving is the discount over gross generation, and the
    IHD's bill (credit mode) goes down with it."""
    start_from(rig, tmp_path, demo_tariffs=("esme",), bill_on=("esme",))
    reply = smartmeter(
        rig,
        *("headend", "tariff", "items", "esme", "pricing"),
        *("--set", json.dumps({"generation_discount": "-0.0521"})),
    )
    assert reply["data"]["item"] == "pricing"

    def discount_in_force() -> bool:
        items = smartmeter(rig, "headend", "tariff", "items", "esme", "pricing")["data"]["items"]
        discount = items["pricing"]["value"].get("generation_discount")
        in_force = discount is not None and dec(discount) == Decimal("-0.0521")
        return in_force and registers(rig, "esme")["passive"] is None

    wait_until(discount_in_force, WAIT_S, "the discount in force")
    shown = wait_until(partial(bill_above, rig, "electricity", Decimal(0)), WAIT_S, "a bill")
    set_power(rig, 1500, 1500)
    before = registers(rig, "esme")["registers"]
    after = grown(rig, "esme", "gross_generation_wh", 20)["registers"]
    generated = after["gross_generation_wh"] - before["gross_generation_wh"]
    discount = dec(after["generation_discount"]) - dec(before["generation_discount"])
    assert discount == Decimal("-0.0521") * generated / 1000 < 0
    assert after["import_wh"] == before["import_wh"] and after["export_wh"] == before["export_wh"]
    wait_until(
        lambda: (v := ihd_value(rig, "electricity", "bill")) is not None and v < shown,
        WAIT_S,
        "the discounted bill on the IHD",
    )


# -- 16.22, 16.12.1.b: export metered, read and priced -------------------------------------------


@pytest.mark.req("16.22.1", "16.12.1.b")
def test_export_is_metered_read_from_the_head_end_and_credited_per_tou_register(
    rig: Rig, tmp_path: Path
) -> None:
    """3 kW of PV over a 500 W load: the meter exports 2.5 kW. The head-end reads the export
    register over the HAN (CurrentSummationReceived) and the tariff's 48 export registers; the
    demo's -£0.15/kWh export rate credits the bill."""
    start_from(rig, tmp_path, demo_tariffs=("esme",), power=(500, 3000))
    assert bench(rig, "esme", "registers")["attributes"]["instantaneous_demand"] == -2500
    before = registers(rig, "esme")
    after = grown(rig, "esme", "export_wh", 20)["registers"]

    def han_export() -> dict[str, Any] | None:
        read: dict[str, Any] = smartmeter(rig, "headend", "read", "esme")["data"]
        received = read["registers"].get("CurrentSummationReceived", {})
        return read if received.get("raw", 0) >= after["export_wh"] else None

    read = wait_until(han_export, WAIT_S, "the export register over the HAN")
    assert read["registers"]["InstantaneousDemand"]["value"].startswith("-")
    assert sum(after["tou_export_wh"]) == after["export_wh"]
    assert after["gross_generation_wh"] > after["export_wh"]
    # Every Wh exported is credited at the export rate of the register it fell in (16.12.1.b).
    gained = after["export_wh"] - before["registers"]["export_wh"]
    credit = dec(after["export_cost"]) - dec(before["registers"]["export_cost"])
    assert credit == Decimal("-0.15") * gained / 1000 < 0
    assert sum(dec(c) for c in after["tou_export_cost"]) == dec(after["export_cost"])
    # Nothing was imported meanwhile, and the demo tariff has no generation discount: the
    # cost since the last bill went down by exactly the credit (and up by any standing charge
    # that fell due at a midnight meanwhile).
    assert after["import_wh"] == before["registers"]["import_wh"]
    assert after["generation_discount"] == before["registers"]["generation_discount"]

    def moved(key: str) -> Decimal:
        return dec(after[key]) - dec(before["registers"][key])

    assert moved("cost_since_bill") - moved("standing_charge") == credit
    exported = bench(rig, "esme", "export")
    assert exported["export_wh"] >= after["export_wh"]
    lines = bench(rig, "esme", "display")["lines"]
    assert any(line.startswith("Export ") for line in lines)
    assert any(line.startswith("Gen ") and line.endswith(" kWh") for line in lines)


# -- 16.11.1, 16.4: CPP over time of use, export still priced ------------------------------------


@pytest.mark.req("16.11.1", "16.4")
def test_a_cpp_command_from_the_head_end_takes_the_meter_into_peak_pricing(
    rig: Rig, tmp_path: Path
) -> None:
    """The head-end commands a CPP period (mandatory); at its start the meter prices import at
    the event's price over its time-of-use tariff, records the event's consumption, and still
    credits export at the export rate: CPP and export pricing beside 48x1 (16.4)."""
    start_from(rig, tmp_path, demo_tariffs=("esme",), power=(2000, 0))
    start = (meter_now(rig) + timedelta(minutes=2)).replace(second=0, microsecond=0)
    start += timedelta(minutes=1)
    reply = smartmeter(
        rig,
        *("headend", "tariff", "cpp", "esme", "--id", "71", "--start", start.isoformat()),
        *("--minutes", "4", "--price1", "0.91", "--price2", "1.37"),
        *("--threshold-wh", "100000", "--forced"),
    )
    assert reply["data"]["id"] == 71
    wait_until(lambda: ihd_value(rig, "electricity", "price") == Decimal("0.91"), WAIT_S, "CPP")
    during = registers(rig, "esme")
    assert during["price"]["cpp"] == 71 and during["price"]["unit_price"] == "0.91"
    assert during["active"]["structure"] == "tou"
    set_power(rig, 0, 2000)
    before = registers(rig, "esme")["registers"]
    after = grown(rig, "esme", "export_wh", 10)["registers"]
    gained = after["export_wh"] - before["export_wh"]
    assert (
        dec(after["export_cost"]) - dec(before["export_cost"]) == Decimal("-0.15") * gained / 1000
    )
    recorded = [c for c in after["cpp"] if c["id"] == 71]
    assert recorded and recorded[0]["tier_wh"][0] > 0  # the import during the event, tier 1
    # At its end the time-of-use price is back.
    wait_until(
        lambda: (v := ihd_value(rig, "electricity", "price")) is not None and v != Decimal("0.91"),
        WAIT_S * 3,
        "the end of the CPP period",
    )


# -- 16.6.a: single rate, import and export -----------------------------------------------------


@pytest.mark.req("16.6.a")
def test_a_single_rate_tariff_prices_import_and_export(rig: Rig, tmp_path: Path) -> None:
    """A single £/kWh tariff for import and export, set from the head-end: import billed at its
    import rate, export credited at its export rate, each Wh exactly."""
    document = demo("electricity")
    del document["tou"]
    document.update(
        name="Single import/export",
        single={"label": "Single", "import_price": "0.2468", "export_price": "-0.0555"},
    )
    start_from(rig, tmp_path)
    assert set_tariff(rig, "esme", document, tmp_path)["structure"] == "single"
    wait_until(lambda: ihd_value(rig, "electricity", "price") == Decimal("0.2468"), WAIT_S, "1R")
    set_power(rig, 3000, 0)
    before = registers(rig, "esme")["registers"]
    after = grown(rig, "esme", "import_wh", 30)["registers"]
    gained = after["import_wh"] - before["import_wh"]
    assert (
        dec(after["import_cost"]) - dec(before["import_cost"]) == Decimal("0.2468") * gained / 1000
    )
    set_power(rig, 0, 3000)
    before = registers(rig, "esme")["registers"]
    after = grown(rig, "esme", "export_wh", 30)["registers"]
    gained = after["export_wh"] - before["export_wh"]
    credit = dec(after["export_cost"]) - dec(before["export_cost"])
    assert credit == Decimal("-0.0555") * gained / 1000
    assert after["import_wh"] == before["import_wh"]


# -- 16.5.b, 16.12.1.c, 16.14: the gas meter on 48 remotely set rates ---------------------------


def half_hour_register(at: datetime) -> int:
    local = uk_local(at)
    return local.hour * 2 + local.minute // 30 + 1


def gas_48(prices: dict[int, str]) -> dict[str, Any]:
    document = demo("gas")
    del document["single"]
    document.update(
        name="Gas 48 rates",
        tou={
            "registers": [
                {"register": n, "label": f"R{n:02d}", "import_price": prices[n]}
                for n in range(1, 49)
            ],
            "switches": [
                {"start": f"{(n - 1) // 2:02d}:{(n - 1) % 2 * 30:02d}", "register": n}
                for n in range(1, 49)
            ],
        },
    )
    return document


@pytest.mark.req("16.5.b", "16.12.1.c", "16.14")
def test_the_gas_meter_runs_48_rates_each_set_remotely(rig: Rig, tmp_path: Path) -> None:
    """A 48x1 gas tariff with a rate of its own for each half hour, from the head-end; the IHD
    shows the rate of the register in force; the head-end reads the 48 rates back, changes the
    one in force, and the IHD shows the new rate at once; gas is counted in that register."""
    prices = {n: f"0.{1000 + n * 7:04d}" for n in range(1, 49)}
    start_from(rig, tmp_path, demo_tariffs=("gsme",), gas_w=20_000)
    assert set_tariff(rig, "gsme", gas_48(prices), tmp_path)["structure"] == "tou"

    def shown_rate() -> tuple[int, Decimal] | None:
        info = ihd_price(rig, "gas") or {}
        label = str(info.get("label", ""))
        if not label.startswith("R") or info.get("price") is None:
            return None
        return int(label[1:]), dec(info["price"])

    register, price = wait_until(shown_rate, WAIT_S, "a 48x1 gas rate on the IHD")
    assert price == Decimal(prices[register])
    assert abs(register - half_hour_register(meter_now(rig, "gsme"))) <= 1
    items = smartmeter(rig, "headend", "tariff", "items", "gsme", "rates")["data"]["items"]
    tou = items["rates"]["value"]["tou"]
    read_back = {r["register"]: r["import_price"] for r in tou["registers"]}
    assert {n: dec(p) for n, p in read_back.items()} == {n: dec(p) for n, p in prices.items()}
    # Change the rate of the register in force (and its neighbour, in case it is 30 min away).
    now_register = half_hour_register(meter_now(rig, "gsme"))
    changed = dict(prices)
    for n in (now_register, now_register % 48 + 1):
        changed[n] = "0.7777"
    value = {"tou": gas_48(changed)["tou"]}
    smartmeter(rig, "headend", "tariff", "items", "gsme", "rates", "--set", json.dumps(value))
    wait_until(lambda: ihd_value(rig, "gas", "price") == Decimal("0.7777"), WAIT_S, "new rate")
    in_force = registers(rig, "gsme")
    assert in_force["price"]["unit_price"] == "0.7777"
    counted = in_force["registers"]["tou_import_wh"]
    wait_until(
        lambda: (
            registers(rig, "gsme")["registers"]["tou_import_wh"][in_force["price"]["register"] - 1]
            > counted[in_force["price"]["register"] - 1]
        ),
        WAIT_S,
        "gas counted in the register in force",
    )


# -- 16.5.c, 16.13.1.c, 16.14: the gas meter on 8x8 with 50 switches ----------------------------


def gas_matrix(switches: list[dict[str, Any]], tier_one_wh: int) -> dict[str, Any]:
    """8 rates of two tiers each; every price tells its rate and tier (0.0r t)."""
    document = demo("gas")
    del document["single"]
    rates = [
        {
            "rate": r,
            "label": f"Rate {r}",
            "threshold_rates": list(range(1, 9)),
            "tiers": [
                {"label": f"R{r} low", "import_price": f"0.0{r}1", "up_to_wh": tier_one_wh},
                {"label": f"R{r} high", "import_price": f"0.0{r}2"},
            ],
        }
        for r in range(1, 9)
    ]
    document.update(
        name="Gas 8x8",
        matrix={"threshold_period": "daily", "rates": rates, "switches": switches},
    )
    return document


def fifty_switches() -> list[dict[str, Any]]:
    """Each half hour of January days to rate (n mod 8) + 1 by month, two summer entries by
    DD/MM season and weekday: 50 entries with every kind of condition (16.13.1.c)."""
    switches: list[dict[str, Any]] = [
        {"start": f"{(n - 1) // 2:02d}:{(n - 1) % 2 * 30:02d}", "rate": n % 8 + 1, "months": [1]}
        for n in range(1, 49)
    ]
    switches.append({"start": "00:00", "rate": 8, "season": {"from": "01/06", "to": "31/08"}})
    switches.append({"start": "12:00", "rate": 7, "days": ["sat", "sun"], "months": [7]})
    return switches


@pytest.mark.req("16.5.c", "16.13.1.c", "16.14", "16.20")
def test_the_gas_meter_runs_an_8x8_of_50_switches_and_remote_tier_rules(
    rig: Rig, tmp_path: Path
) -> None:
    """An 8x8 gas tariff of 50 switch entries (months, DD/MM season, weekdays) from the
    head-end: the rate in force is the one the switches map the half hour to; a 51st entry is
    refused; the head-end then lowers the tier threshold (a tier rule, 16.14) and the IHD is
    told the new thresholds and the tier 2 price at once (16.20)."""
    too_many = gas_matrix([*fifty_switches(), {"start": "23:59", "rate": 1}], 2_000_000)
    path = tmp_path / "too-many.json"
    path.write_text(json.dumps(too_many))
    refused = run_smartmeter(rig, "headend", "tariff", "set", "gsme", str(path))
    assert refused.returncode != 0 and "switches" in refused.stderr

    start_from(rig, tmp_path, gas_w=30_000)
    assert (
        set_tariff(rig, "gsme", gas_matrix(fifty_switches(), 2_000_000), tmp_path)["structure"]
        == "matrix"
    )
    low_prices = {Decimal(f"0.0{r}1"): r for r in range(1, 9)}
    rate = wait_until(
        lambda: low_prices.get(ihd_value(rig, "gas", "price") or Decimal(-1)),
        WAIT_S,
        "an 8x8 tier 1 gas price on the IHD",
    )
    expected = half_hour_register(meter_now(rig, "gsme")) % 8 + 1
    assert rate in (expected, (expected - 2) % 8 + 1)  # the half hour may just have moved on
    # The eight tiers' thresholds come in more than one PublishBlockThresholds: wait for all.
    thresholds = wait_until(
        lambda: (
            t
            if len(t := (ihd_price(rig, "gas") or {}).get("block_thresholds") or {}) == 8
            else None
        ),
        WAIT_S,
        "the thresholds of the eight rates",
    )
    assert thresholds == {str(r): [2_000_000] for r in range(1, 9)}

    # A tier rule changed remotely: one Wh a day in tier 1, then tier 2.
    value = {"matrix": gas_matrix(fifty_switches(), 1)["matrix"]}
    smartmeter(rig, "headend", "tariff", "items", "gsme", "tiers", "--set", json.dumps(value))
    wait_until(
        lambda: (
            (ihd_price(rig, "gas") or {}).get("block_thresholds")
            == {str(r): [1] for r in range(1, 9)}
        ),
        WAIT_S,
        "the new thresholds pushed to the IHD",
    )
    high_prices = {Decimal(f"0.0{r}2") for r in range(1, 9)}
    wait_until(lambda: ihd_value(rig, "gas", "price") in high_prices, WAIT_S, "tier 2 on the IHD")
    matrix = registers(rig, "gsme")["registers"]["matrix_wh"]
    assert sum(row[1] for row in matrix) > 0  # consumption in tier 2 of some rate

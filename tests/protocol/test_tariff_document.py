"""The tariff document (protocol/tariff): round trips, example files, and strict refusals."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.errors import DecodeError, LocalProtocolError
from protocol.tariff import (
    CalorificValue,
    ConversionRate,
    Money,
    StructureKind,
    UnitPrice,
    VolumeFactor,
    cpp_event_from_json,
    decode_cpp_event,
    decode_tariff,
    encode_cpp_event,
    encode_tariff,
    tariff_from_json,
    tariff_to_json,
    volume_to_energy,
)
from tests.devices.tariff.strategies import cpp_events, tariffs

TARIFFS = Path(__file__).resolve().parents[2] / "rigs" / "tariffs"
EXAMPLES = sorted(p for p in TARIFFS.glob("*.json") if p.name != "cpp-event.json")
RECEIVED = datetime(2026, 1, 15, 16, tzinfo=UTC)

TOU: dict[str, Any] = {
    "tariff": 1,
    "name": "Economy 7",
    "fuel": "electricity",
    "effective_from": "2026-01-01T00:00:00+00:00",
    "tou": {
        "registers": [
            {"register": 1, "label": "Day", "import_price": "0.30"},
            {"register": 2, "label": "Night", "import_price": "0.10"},
        ],
        "switches": [{"start": "00:30", "register": 2}, {"start": "07:30", "register": 1}],
    },
}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_every_example_tariff_file_decodes_and_round_trips(path: Path) -> None:
    tariff = tariff_from_json(path.read_bytes(), path.name)
    assert decode_tariff(encode_tariff(tariff)) == tariff
    assert tariff_from_json(tariff_to_json(tariff)) == tariff


def test_the_examples_cover_every_structure() -> None:
    kinds = {tariff_from_json(p.read_bytes()).kind for p in EXAMPLES}
    assert kinds == set(StructureKind)


def test_cpp_event_document_round_trips_and_immediate_starts_on_receipt() -> None:
    event = cpp_event_from_json((TARIFFS / "cpp-event.json").read_bytes(), RECEIVED)
    assert event.recurrence is not None and event.recurrence.count == 5
    assert decode_cpp_event(encode_cpp_event(event), RECEIVED) == event
    doc = encode_cpp_event(event)
    del doc["start"], doc["recurrence"]
    immediate = decode_cpp_event(doc, RECEIVED)
    assert immediate.start == RECEIVED


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for key in parents:
            target = target[int(key)] if isinstance(target, list) else target[key]
        if value is _DELETE:
            del target[last]
        elif isinstance(target, list):
            target[int(last)] = value
        else:
            target[last] = value

    return apply


_DELETE = object()
REFUSALS = [
    ("tariff", 2, "tariff.tariff: expected the format version 1"),
    ("fuel", "water", "one of electricity, gas"),
    ("effective_from", "2026-01-01T00:00:00", "ISO 8601 time with a UTC offset"),
    ("tou.registers.0.import_price", 0.3, 'a decimal string such as "0.245"'),
    ("tou.registers.0.import_price", "0.1234567", "at most 6 decimal places"),
    ("tou.registers.0.import_price", "1e3", "no exponent"),
    ("tou.registers.0.export_price", "0.05", "a negative or zero value"),
    ("tou.registers.0.register", 49, "an integer from 1 to 48"),
    ("tou.registers.1.register", 1, "each register defined once"),
    ("tou.switches.0.register", 3, "one of the registers defined: [1, 2]"),
    ("tou.switches.0.start", "24:00", "a local time HH:MM"),
    ("tou.switches.0.start", "7:30", "a local time HH:MM"),
    ("tou.switches.0.days", ["monday"], "a non-empty list of distinct days"),
    ("tou.switches.0.months", [0], "distinct integers from 1 to 12"),
    ("tou.switches.0.season", {"from": "31/02", "to": "01/03"}, 'a date DD/MM such as "01/04"'),
    ("tou.switches.1.colour", "red", "only keys"),
    ("tou.switches", [], "a list of 1 to 200 objects"),
    ("tou.switches", [{"start": "00:00", "register": 1}] * 201, "a list of 1 to 200 objects"),
    ("standing_charge", {"amount": "10000000"}, "a value from -9999999.999 to 9999999.999"),
    ("standing_charge", {"amount": "1", "period_days": 0}, "an integer from 1 to 366"),
    ("billing", {"period": "monthly", "day": 29}, "an integer from 1 to 28"),
    ("billing", {"period": "weekly"}, "one of monthly, quarterly"),
    ("currency", "USD", "one of GBP, EUR"),
    (
        "currency_switch",
        {"at": "2026-06-01T00:00:00Z", "currency": "GBP", "rate": "1.1"},
        "a currency other than the tariff's GBP",
    ),
    (
        "currency_switch",
        {"at": "2026-06-01T00:00:00Z", "currency": "EUR", "rate": "0"},
        "a value from 0.000001 to 1000",
    ),
    (
        "gas",
        {"calorific_value": "39.5", "volume_factor": "1.02264"},
        "no gas factors on an electricity tariff",
    ),
    ("single", {"import_price": "0.2"}, "exactly one structure"),
    ("name", "", "a non-empty string of at most 64"),
]


@pytest.mark.parametrize(
    ("path", "value", "message"), REFUSALS, ids=[r[0] + ":" + str(r[1])[:20] for r in REFUSALS]
)
def test_bad_documents_are_refused_with_a_clear_message(
    path: str, value: Any, message: str
) -> None:
    doc = copy.deepcopy(TOU)
    _set(path, value)(doc)
    with pytest.raises(DecodeError) as refused:
        decode_tariff(doc)
    assert message in str(refused.value)


MATRIX: dict[str, Any] = {
    "tariff": 1,
    "name": "8x8",
    "fuel": "gas",
    "effective_from": "2026-01-01T00:00:00Z",
    "matrix": {
        "threshold_period": "daily",
        "rates": [
            {
                "rate": 1,
                "label": "A",
                "tiers": [
                    {"label": "T1", "import_price": "0.1", "up_to_wh": 5000},
                    {"label": "T2", "import_price": "0.2", "up_to_wh": 9000},
                    {"label": "T3", "import_price": "0.3"},
                ],
            },
        ],
        "switches": [{"start": "00:00", "rate": 1}],
    },
}
MATRIX_REFUSALS = [
    ("matrix.rates.0.tiers.1.up_to_wh", 5000, "matrix.rates[0].tiers[1].up_to_wh"),
    ("matrix.rates.0.tiers.2.up_to_wh", 10000, "only keys"),
    ("matrix.rates.0.threshold_rates", [1, 2], "rates among those defined: [1]"),
    ("matrix.threshold_period", "hourly", "one of daily, weekly, monthly, billing"),
    ("matrix.rates.0.export_price", "-0.1", "no export prices or generation discount on gas"),
    ("matrix.switches", [{"start": "00:00", "rate": 1}] * 51, "a list of 1 to 50 objects"),
    ("matrix.switches.0.rate", 9, "an integer from 1 to 8"),
]


@pytest.mark.req("16.12.1.d", "16.13.1.c")
def test_a_gas_tariff_with_an_auxiliary_load_switch_is_refused() -> None:
    doc = copy.deepcopy(MATRIX)
    doc["matrix"]["switches"][0]["aux_load"] = True
    with pytest.raises(DecodeError, match="no auxiliary load switch"):
        decode_tariff(doc)
    doc["fuel"] = "electricity"
    assert decode_tariff(doc).structure.switches[0].aux_load  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("path", "value", "message"), MATRIX_REFUSALS, ids=[r[0] for r in MATRIX_REFUSALS]
)
def test_bad_matrix_documents_are_refused(path: str, value: Any, message: str) -> None:
    doc = copy.deepcopy(MATRIX)
    _set(path, value)(doc)
    with pytest.raises(DecodeError) as refused:
        decode_tariff(doc)
    assert message in str(refused.value)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"end": "2026-01-15T16:00:00+00:00"}, "a time after the start"),
        ({"prices": ["0.5"]}, "two unit prices"),
        ({"prices": ["0.5", 1]}, "cpp event.prices.2"),
        ({"refusable": "yes"}, "true or false"),
        ({"recurrence": {"every_days": 0, "count": 2}}, "an integer from 1 to 366"),
        ({"threshold_wh": -1}, "an integer from 0"),
    ],
)
def test_bad_cpp_events_are_refused(change: dict[str, Any], message: str) -> None:
    doc = json.loads((TARIFFS / "cpp-event.json").read_text())
    doc.update(change)
    with pytest.raises(DecodeError) as refused:
        decode_cpp_event(doc, RECEIVED)
    assert message in str(refused.value)


def test_malformed_json_is_a_decode_error() -> None:
    with pytest.raises(DecodeError, match="JSON"):
        tariff_from_json(b"{not json")
    with pytest.raises(DecodeError, match="a JSON object"):
        decode_tariff([1, 2])


# -- fixed point -------------------------------------------------------------------------------

money_text = st.decimals(
    min_value=Decimal("-9999999.999"), max_value=Decimal("9999999.999"), places=9
).map(lambda d: format(d, "f"))


@given(money_text)
def test_money_parses_and_prints_exactly_over_the_whole_range(text: str) -> None:
    money = Money.parse(text)
    assert money.decimal() == Decimal(text)
    assert Money.parse(money.text()) == money


def test_money_bounds_and_unit_price_cost() -> None:
    assert Money.parse("9999999.999").text(3) == "9999999.999"
    with pytest.raises(ValueError, match="a value from"):
        Money.parse("10000000")
    with pytest.raises(LocalProtocolError):
        Money(True)
    # 24.567 p/kWh for 1 kWh is 0.24567.
    assert UnitPrice.parse("0.24567").cost_of(1_000) == Money.of("0.24567")
    assert ConversionRate.parse("1.15").convert_money(Money.of("2")) == Money.of("2.3")


def test_gas_volume_to_energy_exactly() -> None:
    cv, factor = CalorificValue.parse("39.5"), VolumeFactor.parse("1.02264")
    # 1 m3 x 1.02264 x 39.5 / 3.6 = 11.22063... kWh
    assert volume_to_energy(1_000, cv, factor) == 11_221
    # 100 m3 = 1122.063333 kWh: exact to the Wh, no float on the way.
    assert volume_to_energy(100_000, cv, factor) == 1_122_063
    assert volume_to_energy(0, cv, factor) == 0
    with pytest.raises(LocalProtocolError):
        volume_to_energy(-1, cv, factor)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 1439), st.integers(1, 4), st.sets(st.integers(1, 7), min_size=1)),
        min_size=1,
        max_size=20,
    ),
    st.lists(st.integers(-(10**9), 10**9), min_size=4, max_size=4),
)
def test_tou_documents_round_trip(
    switches: list[tuple[int, int, set[int]]], prices: list[int]
) -> None:
    doc = copy.deepcopy(TOU)
    doc["tou"]["registers"] = [
        {"register": r, "label": f"R{r}", "import_price": UnitPrice(prices[r - 1]).text()}
        for r in range(1, 5)
    ]
    days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
    doc["tou"]["switches"] = [
        {
            "start": f"{m // 60:02d}:{m % 60:02d}",
            "register": r,
            "days": [days[d - 1] for d in sorted(ds)],
        }
        for m, r, ds in switches
    ]
    tariff = decode_tariff(doc)
    assert decode_tariff(json.loads(json.dumps(encode_tariff(tariff)))) == tariff


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_every_structure_round_trips_through_its_json(data: st.DataObject) -> None:
    tariff = data.draw(tariffs(RECEIVED))
    again = tariff_from_json(tariff_to_json(tariff))
    assert again == tariff
    assert encode_tariff(again) == encode_tariff(tariff)
    for event in data.draw(cpp_events(RECEIVED)):
        assert decode_cpp_event(json.loads(json.dumps(encode_cpp_event(event))), RECEIVED) == event


json_leaves = (
    st.none()
    | st.booleans()
    | st.integers(-(2**40), 2**40)
    | st.floats(allow_nan=False)
    | st.text(max_size=12)
    | st.sampled_from(
        ["0.1", "-0.1", "00:30", "01/04", "mon", "daily", "GBP", "2026-01-01T00:00:00Z"]
    )
)
json_values = st.recursive(
    json_leaves,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


def _damage(doc: dict[str, Any], data: st.DataObject) -> None:
    """Replace or delete one to three values anywhere in `doc`."""
    for _ in range(data.draw(st.integers(1, 3))):
        where = data.draw(st.sampled_from(_paths(doc)))
        target = doc
        for key in where[:-1]:
            target = target[key]
        if data.draw(st.booleans()) and isinstance(target, dict):
            del target[where[-1]]
        else:
            target[where[-1]] = data.draw(json_values)


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(EXAMPLES), st.data())
def test_a_damaged_document_is_a_tariff_or_a_decode_error(path: Path, data: st.DataObject) -> None:
    doc = json.loads(path.read_text())
    _damage(doc, data)
    try:
        tariff = decode_tariff(doc)
    except DecodeError:
        return
    assert decode_tariff(encode_tariff(tariff)) == tariff


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_damaged_cpp_event_is_an_event_or_a_decode_error(data: st.DataObject) -> None:
    doc = json.loads((TARIFFS / "cpp-event.json").read_text())
    _damage(doc, data)
    try:
        event = decode_cpp_event(doc, RECEIVED)
    except DecodeError:
        return
    assert decode_cpp_event(encode_cpp_event(event), RECEIVED) == event

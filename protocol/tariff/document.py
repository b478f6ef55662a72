"""The tariff document: one JSON shape for the tariff file a person writes, the WAN message the
head-end sends and the copy a meter saves (16.2, 16.7, 16.14).

    {"tariff": 1, "name": "Economy 7", "fuel": "electricity",
     "effective_from": "2026-01-01T00:00:00+00:00", "currency": "GBP",
     "billing": {"period": "monthly", "day": 1},
     "standing_charge": {"amount": "0.6012", "period_days": 1},
     "tou": {"registers": [{"register": 1, "label": "Day", "import_price": "0.30567"}, ...],
             "switches": [{"start": "07:30", "register": 1, "days": ["mon", ...]}, ...]}}

Exactly one of "single", "tou", "matrix", "block" gives the structure; README "Tariffs" lists
every key. Money and prices are decimal strings in currency units (a JSON number would pass
through float); counts of energy are integers in Wh. Anything else is a `DecodeError` naming the
place in the document ("tariff.tou.switches[3].start") and what was expected.

A CPP event has its own document, `protocol.tariff.cpp_document` (re-exported here).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from datetime import date

from protocol.errors import DecodeError
from protocol.json_fields import JsonObject, parse_object, require_enum, shown
from protocol.tariff.cpp_document import (
    CPP_FORMAT,
    cpp_event_from_json,
    decode_cpp_event,
    encode_cpp_event,
)
from protocol.tariff.fixed import CalorificValue, ConversionRate, Money, UnitPrice, VolumeFactor
from protocol.tariff.model import (
    MAX_BLOCKS,
    MAX_MATRIX_SWITCHES,
    MAX_RATES,
    MAX_TIERS,
    MAX_TOU_REGISTERS,
    MAX_TOU_SWITCHES,
    Billing,
    BillingPeriod,
    Block,
    BlockTariff,
    Currency,
    CurrencySwitch,
    DayOfYear,
    Fuel,
    GasFactors,
    Matrix,
    MatrixRate,
    Season,
    SingleRate,
    StandingCharge,
    Structure,
    Switch,
    Tariff,
    ThresholdPeriod,
    TimeOfUse,
    TouRegister,
)
from protocol.tariff.reader import (
    MAX_ENERGY_WH,
    MAX_PERIOD_DAYS,
    Reader,
    export_price,
    iso_utc,
)

__all__ = [
    "CPP_FORMAT",
    "TARIFF_FORMAT",
    "cpp_event_from_json",
    "decode_cpp_event",
    "decode_tariff",
    "encode_cpp_event",
    "encode_tariff",
    "tariff_from_json",
    "tariff_to_json",
]

TARIFF_FORMAT = 1
MAX_NAME = 64
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
STRUCTURES = ("single", "tou", "matrix", "block")
_HHMM = re.compile(r"([01][0-9]|2[0-3]):([0-5][0-9])")
_DDMM = re.compile(r"([0-3][0-9])/([01][0-9])")


def _day_of_year(reader: Reader, key: str) -> DayOfYear:
    text = reader.obj[key]
    match = _DDMM.fullmatch(text) if isinstance(text, str) else None
    if match is not None:
        day, month = int(match[1]), int(match[2])
        try:
            date(2024, month, day)  # a leap year, so 29/02 is a date
        except ValueError:
            match = None
        else:
            return DayOfYear(day, month)
    raise reader.fail(key, 'a date DD/MM such as "01/04"')


def _switch(reader: Reader, registers: set[int], what: str) -> Switch:
    reader.keys({"start", _id_key(what)}, {"days", "months", "season", "aux_load"})
    text = reader.obj["start"]
    match = _HHMM.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise reader.fail("start", "a local time HH:MM from 00:00 to 23:59")
    register = reader.integer(_id_key(what), 1, MAX_RATES if what == "rate" else MAX_TOU_REGISTERS)
    if register not in registers:
        raise reader.fail(_id_key(what), f"one of the {what}s defined: {sorted(registers)}")
    days = frozenset(range(1, 8))
    if reader.has("days"):
        names = reader.obj["days"]
        if (
            not isinstance(names, list)
            or not names
            or not all(isinstance(n, str) and n in WEEKDAYS for n in names)
            or len(set(names)) != len(names)
        ):
            raise reader.fail("days", f"a non-empty list of distinct days from {WEEKDAYS}")
        days = frozenset(WEEKDAYS.index(n) + 1 for n in names)
    if reader.has("months") and reader.has("season"):
        raise reader.fail("season", 'either "months" or "season", not both')
    months = frozenset(reader.int_list("months", 1, 12)) if reader.has("months") else None
    season = None
    if reader.has("season"):
        span = reader.child("season")
        span.keys({"from", "to"})
        season = Season(_day_of_year(span, "from"), _day_of_year(span, "to"))
    return Switch(
        start_minute=int(match[1]) * 60 + int(match[2]),
        register=register,
        days=days,
        months=months,
        season=season,
        aux_load=reader.optional("aux_load", reader.boolean, False),
    )


def _id_key(what: str) -> str:
    return "rate" if what == "rate" else "register"


def _switches(reader: Reader, registers: set[int], what: str, limit: int) -> tuple[Switch, ...]:
    return tuple(_switch(item, registers, what) for item in reader.items("switches", 1, limit))


def _distinct(reader: Reader, key: str, numbers: Sequence[int], what: str) -> None:
    if len(set(numbers)) != len(numbers):
        raise reader.fail(key, f"each {what} defined once")


def _single(reader: Reader) -> SingleRate:
    reader.keys({"import_price"}, {"export_price", "label"})
    return SingleRate(
        import_price=reader.fixed("import_price", UnitPrice),
        export_price=reader.optional("export_price", export_price(reader), UnitPrice(0)),
        label=reader.optional("label", reader.text, "Standard"),
    )


def _tou(reader: Reader) -> TimeOfUse:
    reader.keys({"registers", "switches"})
    registers = []
    for item in reader.items("registers", 1, MAX_TOU_REGISTERS):
        item.keys({"register", "label", "import_price"}, {"export_price"})
        registers.append(
            TouRegister(
                register=item.integer("register", 1, MAX_TOU_REGISTERS),
                label=item.text("label"),
                import_price=item.fixed("import_price", UnitPrice),
                export_price=item.optional("export_price", export_price(item), UnitPrice(0)),
            )
        )
    numbers = [r.register for r in registers]
    _distinct(reader, "registers", numbers, "register")
    switches = _switches(reader, set(numbers), "register", MAX_TOU_SWITCHES)
    return TimeOfUse(tuple(sorted(registers, key=lambda r: r.register)), switches)


def _matrix_rate(item: Reader, rate_numbers: set[int]) -> MatrixRate:
    item.keys({"rate", "label", "tiers"}, {"export_price", "threshold_rates"})
    rate = item.integer("rate", 1, MAX_RATES)
    tiers = item.items("tiers", 1, MAX_TIERS)
    labels: list[str] = []
    prices: list[UnitPrice] = []
    thresholds: list[int] = []
    for index, tier in enumerate(tiers):
        last = index == len(tiers) - 1
        tier.keys({"label", "import_price"} | (set() if last else {"up_to_wh"}))
        labels.append(tier.text("label"))
        prices.append(tier.fixed("import_price", UnitPrice))
        if not last:
            low = thresholds[-1] + 1 if thresholds else 1
            thresholds.append(tier.integer("up_to_wh", low, MAX_ENERGY_WH))
    over = (
        frozenset(item.int_list("threshold_rates", 1, MAX_RATES))
        if item.has("threshold_rates")
        else frozenset({rate})
    )
    if not over <= rate_numbers:
        raise item.fail("threshold_rates", f"rates among those defined: {sorted(rate_numbers)}")
    return MatrixRate(
        rate=rate,
        label=item.text("label"),
        tier_labels=tuple(labels),
        import_prices=tuple(prices),
        thresholds_wh=tuple(thresholds),
        threshold_rates=over,
        export_price=item.optional("export_price", export_price(item), UnitPrice(0)),
    )


def _matrix(reader: Reader) -> Matrix:
    reader.keys({"rates", "switches", "threshold_period"})
    items = reader.items("rates", 1, MAX_RATES)
    numbers = [item.integer("rate", 1, MAX_RATES) for item in items]
    _distinct(reader, "rates", numbers, "rate")
    rates = tuple(sorted((_matrix_rate(i, set(numbers)) for i in items), key=lambda r: r.rate))
    return Matrix(
        rates=rates,
        switches=_switches(reader, set(numbers), "rate", MAX_MATRIX_SWITCHES),
        threshold_period=require_enum(reader.path, reader.obj, "threshold_period", ThresholdPeriod),
    )


def _block(reader: Reader) -> BlockTariff:
    reader.keys({"period_days", "blocks"}, {"export_price"})
    items = reader.items("blocks", 1, MAX_BLOCKS)
    blocks, low = [], 1
    for index, item in enumerate(items):
        last = index == len(items) - 1
        item.keys({"label", "import_price"} | (set() if last else {"up_to_wh"}))
        limit = None if last else item.integer("up_to_wh", low, MAX_ENERGY_WH)
        blocks.append(Block(item.text("label"), item.fixed("import_price", UnitPrice), limit))
        low = (limit or 0) + 1
    return BlockTariff(
        period_days=reader.integer("period_days", 1, MAX_PERIOD_DAYS),  # 16.19: at least a day
        blocks=tuple(blocks),
        export_price=reader.optional("export_price", export_price(reader), UnitPrice(0)),
    )


_STRUCTURE_READERS: dict[str, Callable[[Reader], Structure]] = {
    "single": _single,
    "tou": _tou,
    "matrix": _matrix,
    "block": _block,
}
_TOP_REQUIRED = {"tariff", "name", "fuel", "effective_from"}
_TOP_OPTIONAL = {
    "currency",
    "billing",
    "standing_charge",
    "generation_discount",
    "currency_switch",
    "gas",
    *STRUCTURES,
}


def decode_tariff(document: object, what: str = "tariff") -> Tariff:
    """The tariff a document (a parsed JSON object) describes, validated; DecodeError if not."""
    top = Reader(what, document)
    top.keys(_TOP_REQUIRED, _TOP_OPTIONAL)
    if top.obj["tariff"] != TARIFF_FORMAT or isinstance(top.obj["tariff"], bool):
        raise top.fail("tariff", f"the format version {TARIFF_FORMAT}")
    given = [key for key in STRUCTURES if top.has(key)]
    if len(given) != 1:
        raise DecodeError(what, f"exactly one structure of {STRUCTURES}", shown(given))
    fuel = require_enum(what, top.obj, "fuel", Fuel)
    currency = require_enum(what, top.obj, "currency", Currency) if top.has("currency") else None
    structure = _STRUCTURE_READERS[given[0]](top.child(given[0]))
    tariff = Tariff(
        name=top.text("name", MAX_NAME),
        fuel=fuel,
        effective_from=top.time("effective_from"),
        structure=structure,
        currency=currency or Currency.GBP,
        billing=_billing(top.child("billing")) if top.has("billing") else Billing(),
        standing_charge=_standing(top.child("standing_charge"))
        if top.has("standing_charge")
        else None,
        generation_discount=top.optional("generation_discount", export_price(top), UnitPrice(0)),
        currency_switch=_currency_switch(top.child("currency_switch"), currency or Currency.GBP)
        if top.has("currency_switch")
        else None,
        gas=_gas(top.child("gas")) if top.has("gas") else None,
    )
    _check_fuel(top, tariff)
    return tariff


def _billing(reader: Reader) -> Billing:
    reader.keys({"period"}, {"day"})
    return Billing(
        period=require_enum(reader.path, reader.obj, "period", BillingPeriod),
        # Day 28 at most: every month has it, so a period never starts on a day that is missing.
        day=reader.optional("day", lambda key: reader.integer(key, 1, 28), 1),
    )


def _standing(reader: Reader) -> StandingCharge:
    reader.keys({"amount"}, {"period_days"})
    return StandingCharge(
        amount=reader.fixed("amount", Money),
        period_days=reader.optional(
            "period_days", lambda key: reader.integer(key, 1, MAX_PERIOD_DAYS), 1
        ),
    )


def _currency_switch(reader: Reader, currency: Currency) -> CurrencySwitch:
    reader.keys({"at", "currency", "rate"})
    target = require_enum(reader.path, reader.obj, "currency", Currency)
    if target is currency:
        raise reader.fail("currency", f"a currency other than the tariff's {currency}")
    return CurrencySwitch(reader.time("at"), target, reader.fixed("rate", ConversionRate))


def _gas(reader: Reader) -> GasFactors:
    reader.keys({"calorific_value", "volume_factor"})
    return GasFactors(
        calorific_value=reader.fixed("calorific_value", CalorificValue),
        volume_factor=reader.fixed("volume_factor", VolumeFactor),
    )


def _check_fuel(top: Reader, tariff: Tariff) -> None:
    if tariff.fuel is Fuel.ELECTRICITY:
        if tariff.gas is not None:
            raise top.fail("gas", "no gas factors on an electricity tariff")
        return
    # 16.22 export tariffs are the electricity meter's: a gas tariff has no export price.
    if tariff.generation_discount.value or _export_prices(tariff.structure):
        raise DecodeError(top.path, "no export prices or generation discount on gas", "some")
    # 16.12.1.d, 16.13.1.c: the auxiliary load switch output is the electricity meter's only.
    switches = getattr(tariff.structure, "switches", ())
    if any(switch.aux_load for switch in switches):
        raise DecodeError(top.path, "no auxiliary load switch (aux_load) on gas", "aux_load")


def _export_prices(structure: Structure) -> bool:
    if isinstance(structure, TimeOfUse):
        return any(r.export_price.value for r in structure.registers)
    if isinstance(structure, Matrix):
        return any(r.export_price.value for r in structure.rates)
    return bool(structure.export_price.value)


# ---------------------------------------------------------------------------- encoding


def _switch_doc(switch: Switch, key: str) -> JsonObject:
    doc: JsonObject = {
        "start": f"{switch.start_minute // 60:02d}:{switch.start_minute % 60:02d}",
        key: switch.register,
    }
    if switch.days != frozenset(range(1, 8)):
        doc["days"] = [WEEKDAYS[d - 1] for d in sorted(switch.days)]
    if switch.months is not None:
        doc["months"] = sorted(switch.months)
    if switch.season is not None:
        s, e = switch.season.start, switch.season.end
        doc["season"] = {"from": f"{s.day:02d}/{s.month:02d}", "to": f"{e.day:02d}/{e.month:02d}"}
    if switch.aux_load:
        doc["aux_load"] = True
    return doc


def _structure_doc(structure: Structure) -> tuple[str, JsonObject]:
    if isinstance(structure, SingleRate):
        return "single", {
            "label": structure.label,
            "import_price": str(structure.import_price),
            "export_price": str(structure.export_price),
        }
    if isinstance(structure, TimeOfUse):
        return "tou", {
            "registers": [
                {
                    "register": r.register,
                    "label": r.label,
                    "import_price": str(r.import_price),
                    "export_price": str(r.export_price),
                }
                for r in structure.registers
            ],
            "switches": [_switch_doc(s, "register") for s in structure.switches],
        }
    if isinstance(structure, Matrix):
        return "matrix", {
            "threshold_period": structure.threshold_period.value,
            "rates": [_rate_doc(r) for r in structure.rates],
            "switches": [_switch_doc(s, "rate") for s in structure.switches],
        }
    blocks: list[JsonObject] = []
    for block in structure.blocks:
        doc: JsonObject = {"label": block.label, "import_price": str(block.import_price)}
        if block.up_to_wh is not None:
            doc["up_to_wh"] = block.up_to_wh
        blocks.append(doc)
    return "block", {
        "period_days": structure.period_days,
        "export_price": str(structure.export_price),
        "blocks": blocks,
    }


def _rate_doc(rate: MatrixRate) -> JsonObject:
    tiers: list[JsonObject] = []
    for index, (label, price) in enumerate(zip(rate.tier_labels, rate.import_prices, strict=True)):
        tier: JsonObject = {"label": label, "import_price": str(price)}
        if index < len(rate.thresholds_wh):
            tier["up_to_wh"] = rate.thresholds_wh[index]
        tiers.append(tier)
    return {
        "rate": rate.rate,
        "label": rate.label,
        "export_price": str(rate.export_price),
        "threshold_rates": sorted(rate.threshold_rates),
        "tiers": tiers,
    }


def encode_tariff(tariff: Tariff) -> JsonObject:
    """The document of a tariff: `decode_tariff(encode_tariff(t)) == t`."""
    key, body = _structure_doc(tariff.structure)
    doc: JsonObject = {
        "tariff": TARIFF_FORMAT,
        "name": tariff.name,
        "fuel": tariff.fuel.value,
        "effective_from": iso_utc(tariff.effective_from),
        "currency": tariff.currency.value,
        "billing": {"period": tariff.billing.period.value, "day": tariff.billing.day},
        key: body,
    }
    if tariff.standing_charge is not None:
        doc["standing_charge"] = {
            "amount": str(tariff.standing_charge.amount),
            "period_days": tariff.standing_charge.period_days,
        }
    if tariff.generation_discount.value:
        doc["generation_discount"] = str(tariff.generation_discount)
    if tariff.currency_switch is not None:
        doc["currency_switch"] = {
            "at": iso_utc(tariff.currency_switch.at),
            "currency": tariff.currency_switch.currency.value,
            "rate": str(tariff.currency_switch.rate),
        }
    if tariff.gas is not None:
        doc["gas"] = {
            "calorific_value": str(tariff.gas.calorific_value),
            "volume_factor": str(tariff.gas.volume_factor),
        }
    return doc


def tariff_from_json(data: bytes, what: str = "tariff") -> Tariff:
    """A tariff from the bytes of a JSON document (a file, a WAN payload)."""
    return decode_tariff(parse_object(what, data), what)


def tariff_to_json(tariff: Tariff) -> bytes:
    return json.dumps(encode_tariff(tariff), indent=2).encode()

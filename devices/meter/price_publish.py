"""The Price cluster's commands (0x0700, SE 1.4 annex D.4) made from the meter's tariff.

Pure functions: a `Tariff` (`protocol.tariff.model`) and what is in force now (`PriceNow`) in,
the fields of PublishPrice, PublishTariffInformation, PublishPriceMatrix, PublishBlockThresholds,
PublishBlockPeriod, PublishBillingPeriod, PublishCPPEvent, PublishConversionFactor,
PublishCalorificValue and CancelTariff out, as `ClusterResponse`s. Every one fits one frame
(`MAX_ZCL_PAYLOAD`, 57 octets): a matrix or threshold list longer than that is split into
several commands (CommandIndex of TotalNumberOfCommands), as the specification provides.

Money on the wire: a price is a whole number of millionths of the currency unit per kWh, i.e.
the engine's `UnitPrice.value` with PriceTrailingDigit 6 (0.2845 GBP/kWh is 284500); a standing
charge is in the same step. Currencies are ISO 4217 numbers (GBP 826, EUR 978). Times are
UTCTime, seconds since 2000-01-01 UTC. A negative price (an export rate) has no place in these
unsigned fields and is sent as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from devices.meter.tariff.results import PriceNow
from firmware.zcl.cluster_server import ClusterResponse
from firmware.zcl.frame import MAX_ZCL_PAYLOAD
from protocol.se import Price
from protocol.se.price_types import (
    BlockThresholdEntry,
    CalorificValueUnit,
    ChargingScheme,
    CppAuth,
    CppPriceTier,
    PriceMatrixEntry,
    PriceMatrixSubPayloadControl,
    TariffResolutionPeriod,
    TierAndThresholdCount,
    TierBlockMode,
)
from protocol.se.types import DurationControl, DurationTimebase, TariffType
from protocol.tariff.model import (
    BlockTariff,
    CppEvent,
    Currency,
    Matrix,
    SingleRate,
    Tariff,
    TimeOfUse,
)

__all__ = [
    "CURRENCY_CODES",
    "PRICE_TRAILING_DIGIT",
    "PROVIDER_ID",
    "HanPrice",
    "billing_period",
    "block_period",
    "block_thresholds",
    "cancel_tariff",
    "cpp_event",
    "gas_factors",
    "price_matrix",
    "publish_price",
    "tariff_information",
    "tier_prices",
    "utc_time",
]

ZIGBEE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UK = ZoneInfo("Europe/London")
CURRENCY_CODES = {Currency.GBP: 826, Currency.EUR: 978}
#: Digits right of the point in every price and standing charge we send (UnitPrice's step).
PRICE_TRAILING_DIGIT = 6
#: The supplier, as the meter names it (one supplier per meter on this rig).
PROVIDER_ID = 1
_UINT32_MAX = (1 << 32) - 1
_KWH = 0  # UnitOfMeasure 0: kWh (prices are per kWh for gas too, after conversion, 13.2)
_ZCL_HEADER = 3
#: Octets of PublishPriceMatrix before its list: ProviderID .. SubPayloadControl.
_MATRIX_HEAD = 4 + 4 + 4 + 4 + 1 + 1 + 1
_MATRIX_ENTRY = 5
_DAYS = DurationTimebase.Days


@dataclass(frozen=True, slots=True)
class HanPrice:
    """The price in force as the Price cluster tells it: the tier (the 48x1 register, the 8x8
    cell 8 (rate - 1) + tier, or the block; 1-based), its label and its unit price in
    millionths per kWh (the CPP price while an event is in force)."""

    tier: int
    label: str
    price: int

    @classmethod
    def of(cls, now: PriceNow) -> HanPrice:
        if now.tier is not None:
            tier = 8 * (now.register - 1) + now.tier
            label = f"{now.register_label} {now.tier_label or ''}".strip()
        else:
            tier, label = now.block or now.register, now.register_label
        if now.cpp is not None:
            label = now.cpp.label
        return cls(tier, label[:12], now.import_price.value)


def utc_time(when: datetime) -> int:
    """UTCTime: whole seconds since 2000-01-01 00:00 UTC."""
    return max(0, int((when - ZIGBEE_EPOCH).total_seconds()))


def _money(value: int) -> int:
    """A price or charge in millionths for an unsigned 32-bit field (0 if negative)."""
    return min(max(value, 0), _UINT32_MAX)


def tier_prices(tariff: Tariff) -> list[tuple[int, str, int]]:
    """(tier, label, import price in millionths per kWh) of every tier the tariff prices."""
    structure = tariff.structure
    if isinstance(structure, SingleRate):
        return [(1, structure.label, structure.import_price.value)]
    if isinstance(structure, TimeOfUse):
        return [(r.register, r.label, r.import_price.value) for r in structure.registers]
    if isinstance(structure, BlockTariff):
        return [(n, b.label, b.import_price.value) for n, b in enumerate(structure.blocks, 1)]
    assert isinstance(structure, Matrix)
    # Rate r's tier t is matrix tier 8 (r - 1) + t: the 8x8 laid out in one list of 64.
    return [
        (8 * (rate.rate - 1) + n, f"{rate.label} {label}"[:12], price.value)
        for rate in structure.rates
        for n, (label, price) in enumerate(
            zip(rate.tier_labels, rate.import_prices, strict=False), 1
        )
    ]


def _tier_fields(tier: int, tiers: int) -> dict[str, Any]:
    """PriceTier / NumberOfPriceTiers, with the extended fields past 15 (SE 1.2)."""
    low_tier, extended_tier = (tier, 0) if tier <= 15 else (15, tier - 15)
    low_count, extended_count = (tiers, 0) if tiers <= 15 else (15, tiers - 15)
    return {
        "price_trailing_digit_and_price_tier": {
            "price_tier": low_tier,
            "trailing_digit": PRICE_TRAILING_DIGIT,
        },
        "number_of_price_tiers_and_register_tier": {
            "register_tier": low_tier,
            "number_of_price_tiers": low_count,
        },
        "extended_number_of_price_tiers": extended_count,
        "extended_price_tier": extended_tier,
        "extended_register_tier": extended_tier,
    }


def _nested(definition: Any, fields: dict[str, Any]) -> dict[str, Any]:
    """Turn the dicts of bit-field members into the schema's IntStruct values."""
    schema = definition.schema
    built: dict[str, Any] = {}
    for name, value in fields.items():
        kind = next(f.type for f in schema.fields if f.name == name)
        built[name] = kind(**value) if isinstance(value, dict) else value
    return built


def publish_price(tariff: Tariff, now: HanPrice, at: datetime, event_id: int) -> ClusterResponse:
    """PublishPrice of the price in force at `at` (start now, until changed)."""
    tiers = len(tier_prices(tariff))
    fields = {
        "provider_id": PROVIDER_ID,
        "rate_label": now.label[:12].encode(),
        "issuer_event_id": event_id,
        "current_time": utc_time(at),
        "unit_of_measure": _KWH,
        "currency": CURRENCY_CODES[tariff.currency],
        **_tier_fields(now.tier, tiers),
        "start_time": 0,
        "duration_in_minutes": 0xFFFF,
        "price": _money(now.price),
        "price_ratio": 0xFF,
        "generation_price": 0xFFFFFFFF,
        "generation_price_ratio": 0xFF,
        "alternate_cost_delivered": 0xFFFFFFFF,
        "alternate_cost_unit": 0x02,
        "alternate_cost_trailing_digit": {"reserved": 0, "digits": 0},
        "number_of_block_thresholds": 0,
        "price_control": 0,
        "number_of_generation_tiers": 0,
        "generation_tier": 0,
    }
    definition = Price.ClientCommandDefs.publish_price
    # The label takes what the frame leaves: a CPP event's or a long register label would
    # otherwise make PublishPrice too long for the HAN and it would never arrive.
    bare = len(definition.schema(**_nested(definition, {**fields, "rate_label": b""})).serialize())
    fields["rate_label"] = _cut_utf8(fields["rate_label"], MAX_ZCL_PAYLOAD - _ZCL_HEADER - bare)
    return ClusterResponse("publish_price", _nested(definition, fields))


def _cut_utf8(text: bytes, room: int) -> bytes:
    """At most `room` octets of UTF-8 `text`, never half a character."""
    return text[: max(0, room)].decode("utf-8", "ignore").encode()


def _scheme(tariff: Tariff) -> ChargingScheme:
    if isinstance(tariff.structure, BlockTariff):
        return ChargingScheme.BlockTariff
    if isinstance(tariff.structure, Matrix):
        return ChargingScheme.BlockTouTariffIndividualThresholds
    return ChargingScheme.TouTariff


def tariff_information(tariff: Tariff, tariff_id: int, event_id: int) -> ClusterResponse:
    """PublishTariffInformation: the tariff's shape, standing charge and currency (16.16)."""
    standing = tariff.standing_charge
    per_day = 0 if standing is None else standing.amount.value // 1000 // standing.period_days
    structure = tariff.structure
    thresholds = (
        len(structure.blocks) - 1
        if isinstance(structure, BlockTariff)
        else max((len(r.thresholds_wh) for r in structure.rates), default=0)
        if isinstance(structure, Matrix)
        else 0
    )
    fields = {
        "provider_id": PROVIDER_ID,
        "issuer_event_id": event_id,
        "issuer_tariff_id": tariff_id,
        "start_time": utc_time(tariff.effective_from),
        "tariff_type_charging_scheme": {
            "tariff_type": TariffType.Delivered,
            "charging_scheme": _scheme(tariff),
        },
        "tariff_label": tariff.name[:24].encode(),
        "number_of_price_tiers_in_use": min(len(tier_prices(tariff)), 0xFF),
        "number_of_block_thresholds_in_use": thresholds,
        "unit_of_measure": _KWH,
        "currency": CURRENCY_CODES[tariff.currency],
        "price_trailing_digit": {"reserved": 0, "digits": PRICE_TRAILING_DIGIT},
        "standing_charge": _money(per_day),
        "tier_block_mode": TierBlockMode.NotUsed
        if thresholds == 0
        else TierBlockMode.ActiveBlockPriceTierThreshold,
        "block_threshold_multiplier": 1,
        "block_threshold_divisor": 1000,
    }
    definition = Price.ClientCommandDefs.publish_tariff_information
    return ClusterResponse("publish_tariff_information", _nested(definition, fields))


def price_matrix(tariff: Tariff, tariff_id: int, event_id: int) -> list[ClusterResponse]:
    """PublishPriceMatrix, split over as many commands as the tiers need (each <= 57 octets)."""
    entries = [
        {"tier_block_id": tier, "price": _money(price)} for tier, _, price in tier_prices(tariff)
    ]
    per_command = (MAX_ZCL_PAYLOAD - _ZCL_HEADER - _MATRIX_HEAD) // _MATRIX_ENTRY
    parts = _split(entries, per_command)
    return [
        ClusterResponse(
            "publish_price_matrix",
            {
                "provider_id": PROVIDER_ID,
                "issuer_event_id": event_id,
                "start_time": utc_time(tariff.effective_from),
                "issuer_tariff_id": tariff_id,
                "command_index": index,
                "total_number_of_commands": len(parts),
                "sub_payload_control": PriceMatrixSubPayloadControl.TouBasedInformation,
                "price_matrix": [PriceMatrixEntry(**entry) for entry in part],
            },
        )
        for index, part in enumerate(parts)
    ]


#: Octets of PublishBlockThresholds before its list, like the matrix's.
_THRESHOLDS_HEAD = _MATRIX_HEAD
_THRESHOLD_OCTETS = 6  # uint48


def _threshold_entries(tariff: Tariff) -> list[tuple[int, list[int]]]:
    """(tier, thresholds in Wh) of a block tariff (tier 0: no tier) or each 8x8 rate."""
    structure = tariff.structure
    if isinstance(structure, BlockTariff):
        limits = [b.up_to_wh for b in structure.blocks if b.up_to_wh is not None]
        return [(0, limits)] if limits else []
    if isinstance(structure, Matrix):
        return [(r.rate, list(r.thresholds_wh)) for r in structure.rates if r.thresholds_wh]
    return []


def block_thresholds(tariff: Tariff, tariff_id: int, event_id: int) -> list[ClusterResponse]:
    """PublishBlockThresholds (16.13.1.d, 16.19): each tier's thresholds in Wh (the tariff
    information's BlockThresholdMultiplier 1 and Divisor 1000 make them kWh), one entry per
    command when they would not fit together."""
    room = MAX_ZCL_PAYLOAD - _ZCL_HEADER - _THRESHOLDS_HEAD
    entries: list[list[BlockThresholdEntry]] = []
    for tier, limits in _threshold_entries(tariff):
        for part in _split(limits, (room - 1) // _THRESHOLD_OCTETS):
            entry = BlockThresholdEntry(
                tier_and_count=TierAndThresholdCount(
                    number_of_block_thresholds=len(part), tier=tier
                ),
                block_thresholds=list(part),
            )
            size = len(entry.serialize())
            if entries and sum(len(e.serialize()) for e in entries[-1]) + size <= room:
                entries[-1].append(entry)
            else:
                entries.append([entry])
    return [
        ClusterResponse(
            "publish_block_thresholds",
            {
                "provider_id": PROVIDER_ID,
                "issuer_event_id": event_id,
                "start_time": utc_time(tariff.effective_from),
                "issuer_tariff_id": tariff_id,
                "command_index": index,
                "total_number_of_commands": len(entries),
                "sub_payload_control": 0,
                "block_thresholds": part,
            },
        )
        for index, part in enumerate(entries)
    ]


def threshold_table(tariff: Tariff) -> list[tuple[int, list[int]]]:
    """Every (tier, thresholds in Wh) PublishBlockThresholds carries for `tariff`."""
    return _threshold_entries(tariff)


def block_period_start(tariff: Tariff, now: datetime) -> datetime | None:
    """The start of the block period of `period_days` local days in force at `now`, counted
    from the tariff's first local day (16.19); None for a tariff without blocks."""
    if not isinstance(tariff.structure, BlockTariff):
        return None
    first = tariff.effective_from.astimezone(UK).date()
    days = tariff.structure.period_days
    today = now.astimezone(UK).date()
    start_day = first + timedelta(days=(today - first).days // days * days)
    return datetime.combine(start_day, datetime.min.time(), UK)


def block_period(tariff: Tariff, now: datetime, event_id: int) -> ClusterResponse | None:
    """PublishBlockPeriod of a block tariff: the period in force at `now` (16.19)."""
    start = block_period_start(tariff, now)
    if start is None or not isinstance(tariff.structure, BlockTariff):
        return None
    return ClusterResponse(
        "publish_block_period",
        _nested(
            Price.ClientCommandDefs.publish_block_period,
            {
                "provider_id": PROVIDER_ID,
                "issuer_event_id": event_id,
                "block_period_start_time": utc_time(start),
                "block_period_duration": tariff.structure.period_days,
                "block_period_control": 0,
                "block_period_duration_type": {
                    "timebase": _DAYS,
                    "control": DurationControl.StartOfTimebase,
                },
                "tariff_type": {"tariff_type": TariffType.Delivered, "reserved": 0},
                "tariff_resolution_period": TariffResolutionPeriod.BlockPeriod,
            },
        ),
    )


def _split(items: Sequence[Any], size: int) -> list[list[Any]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)] or [[]]


def billing_period(tariff: Tariff, start: datetime, days: int, event_id: int) -> ClusterResponse:
    """PublishBillingPeriod: the current billing period (16.15, 14.4)."""
    return ClusterResponse(
        "publish_billing_period",
        _nested(
            Price.ClientCommandDefs.publish_billing_period,
            {
                "provider_id": PROVIDER_ID,
                "issuer_event_id": event_id,
                "billing_period_start_time": utc_time(start),
                "billing_period_duration": days,
                "billing_period_duration_type": {
                    "timebase": _DAYS,
                    "control": DurationControl.StartOfTimebase,
                },
                "tariff_type": {"tariff_type": TariffType.Delivered, "reserved": 0},
            },
        ),
    )


def cpp_event(event: CppEvent, auth: CppAuth) -> ClusterResponse:
    """PublishCPPEvent: a critical peak event, its tier (CPP1) and its status (16.11)."""
    minutes = int((event.end - event.start).total_seconds() // 60)
    return ClusterResponse(
        "publish_cpp_event",
        _nested(
            Price.ClientCommandDefs.publish_cpp_event,
            {
                "provider_id": PROVIDER_ID,
                "issuer_event_id": event.event_id,
                "start_time": utc_time(event.start),
                "duration_in_minutes": min(minutes, 0xFFFF),
                "tariff_type": {"tariff_type": TariffType.Delivered, "reserved": 0},
                "cpp_price_tier": CppPriceTier.Cpp1,
                "cpp_auth": auth,
            },
        ),
    )


def gas_factors(tariff: Tariff, event_id: int, at: datetime) -> list[ClusterResponse]:
    """PublishConversionFactor (PTZ) and PublishCalorificValue (MJ/m3) of a gas tariff (13.2)."""
    if tariff.gas is None:
        return []
    return [
        ClusterResponse(
            "publish_conversion_factor",
            _nested(
                Price.ClientCommandDefs.publish_conversion_factor,
                {
                    "issuer_event_id": event_id,
                    "start_time": utc_time(at),
                    "conversion_factor": tariff.gas.volume_factor.value,
                    "conversion_factor_trailing_digit": {"reserved": 0, "digits": 6},
                },
            ),
        ),
        ClusterResponse(
            "publish_calorific_value",
            _nested(
                Price.ClientCommandDefs.publish_calorific_value,
                {
                    "issuer_event_id": event_id,
                    "start_time": utc_time(at),
                    "calorific_value": tariff.gas.calorific_value.value,
                    "calorific_value_unit": CalorificValueUnit.MegajoulePerCubicMetre,
                    "calorific_value_trailing_digit": {"reserved": 0, "digits": 6},
                },
            ),
        ),
    ]


def cancel_tariff(tariff_id: int) -> ClusterResponse:
    """CancelTariff: the passive tariff `tariff_id` is withdrawn."""
    return ClusterResponse(
        "cancel_tariff",
        _nested(
            Price.ClientCommandDefs.cancel_tariff,
            {
                "provider_id": PROVIDER_ID,
                "issuer_tariff_id": tariff_id,
                "tariff_type": {"tariff_type": TariffType.Delivered, "reserved": 0},
            },
        ),
    )

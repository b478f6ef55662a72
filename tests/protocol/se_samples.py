"""Values for the Smart Energy command schemas, driven by the schemas' own field types.

`COMMANDS` lists every command of every cluster in `protocol.se` with its direction.
`sample(schema)` builds one deterministic instance whose leaf fields all differ (so a swapped or
shifted field shows up in a comparison), short enough to fit one unsecured 802.15.4 frame;
`instances(schema)` is the hypothesis strategy over the whole value range of each field.

Both fill a list whose item count an earlier field carries (`counted_by`) and set that field to
match, fill a field only when its `present_if` condition holds, and leave trailing optional
fields out together, the only way an optional field can round-trip.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import zigpy.types as t
from hypothesis import strategies as st
from zigpy.zcl import Cluster, foundation
from zigpy.zcl.clusters.smartenergy import BitFieldAllocation, GetProfileResponseSchema
from zigpy.zcl.clusters.smartenergy import GetSampledDataResponseSchema as SampledData

from protocol.se import SE_CLUSTERS, messaging, prepayment_types, price_types
from protocol.se import device_management as dm
from protocol.se import key_establishment as ke
from protocol.se.events import PublishEventLog
from protocol.se.price_types import BlockThresholdEntry
from protocol.se.types import FixedOctets, OctetString, RemainingOctets, Utf8String

UTC_2024 = 757_382_400  # 2024-01-01T00:00:00Z in UTCTime (seconds since 2000)


@dataclass(frozen=True)
class Command:
    """One command: its cluster, whether the server generates it, and its definition."""

    cluster: type[Cluster]
    server_to_client: bool
    definition: foundation.ZCLCommandDef

    @property
    def schema(self) -> type[foundation.CommandSchema]:
        return self.definition.schema

    @property
    def name(self) -> str:
        return f"{self.cluster.__name__}.{self.definition.name}"


def all_commands() -> list[Command]:
    commands = []
    for cluster in SE_CLUSTERS.values():
        for server_to_client, defs in (
            (False, cluster.server_commands),
            (True, cluster.client_commands),
        ):
            commands += [Command(cluster, server_to_client, d) for d in defs.values()]
    return commands


COMMANDS = all_commands()

# Where a list's item count lives, for the structs whose count is not a plain field before it:
# struct -> (list field, function that stores the count in the other field values).
_COUNT_SETTERS: dict[type, tuple[str, Callable[[dict[str, Any], int], None]]] = {
    BlockThresholdEntry: (
        "block_thresholds",
        lambda v, n: v.update(
            tier_and_count=v["tier_and_count"].replace(number_of_block_thresholds=n)
        ),
    ),
    PublishEventLog: (
        "events",
        lambda v, n: v.update(
            number_of_events_log_payload_control=v["number_of_events_log_payload_control"].replace(
                number_of_events=n
            )
        ),
    ),
    GetProfileResponseSchema: ("intervals", lambda v, n: v.update(number_of_periods_delivered=n)),
    SampledData: ("samples", lambda v, n: v.update(number_of_samples=n)),
    BitFieldAllocation: ("command_ids", lambda v, n: v.update(number_of_commands=n)),
}


class _Partial:
    """The values chosen so far, for a field's `requires` condition."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        return None


def _fields(struct: type[t.Struct]) -> Iterator[Any]:
    return iter(struct.fields)


# --- deterministic samples ---------------------------------------------------------------------


class _Counter:
    def __init__(self) -> None:
        self.k = 0

    def next(self) -> int:
        self.k += 1
        return self.k


def _sample_value(kind: type, counter: _Counter, name: str) -> Any:
    k = counter.next()
    if issubclass(kind, t.Struct):
        return sample(kind, counter)
    if issubclass(kind, t.LVList | t.List):
        assert kind._item_type is not None, f"{kind} declares no item type"
        return [_sample_value(kind._item_type, counter, name) for _ in range(2)]
    if issubclass(kind, FixedOctets):
        return kind(bytes((k * 16 + i) & 0xFF for i in range(kind.length)))
    if issubclass(kind, RemainingOctets | t.Bytes):
        return kind(bytes((k * 16 + i) & 0xFF for i in range(5)))
    if issubclass(kind, Utf8String):
        return kind(f"£{k} due")
    if issubclass(kind, t.CharacterString):
        return kind(f"text {k}")
    if issubclass(kind, OctetString | t.LVBytes):
        return kind(f"L{k}:{name}"[: min(getattr(kind, "max_octets", 12), 12)].encode())
    if issubclass(kind, t.UTCTime):
        return kind(UTC_2024 + k * 3600 + k)
    if issubclass(kind, enum.Enum) and not issubclass(kind, enum.Flag):
        assert issubclass(kind, t.FixedIntType), f"{kind}: zigpy enums are sized integers"
        members = [m for m in kind if int(m) != 0] or list(kind)
        return members[k % len(members)]
    if issubclass(kind, t.FixedIntType):
        raw = bytes((k * 16 + i + 1) & 0xFF for i in range(max(kind._bits // 8, 1)))
        value = int.from_bytes(raw, "little") & ((1 << kind._bits) - 1)
        if kind._signed and value >= 1 << (kind._bits - 1):
            value -= 1 << kind._bits
        return kind(value)
    raise TypeError(f"no sample for {kind} ({name})")


def sample(struct: type[t.Struct], counter: _Counter | None = None) -> Any:
    """One instance of `struct` with distinct values in every leaf field."""
    counter = counter or _Counter()
    values: dict[str, Any] = {}
    for field in _fields(struct):
        if field.requires is not None and not field.requires(_Partial(values)):
            continue
        values[field.name] = _sample_value(field.type, counter, field.name)
    if struct in _COUNT_SETTERS:
        list_field, store = _COUNT_SETTERS[struct]
        store(values, len(values[list_field]))
    return struct(**values)


# --- hypothesis strategies ---------------------------------------------------------------------

_SURROGATES: tuple[Literal["Cs"]] = ("Cs",)  # (hypothesis's decorators hide the Literal context)
_TEXT = st.text(
    st.characters(exclude_characters="\x00", exclude_categories=_SURROGATES), max_size=30
)


def _strategy(kind: type) -> st.SearchStrategy[Any]:
    if issubclass(kind, t.Struct):
        return instances(kind)
    if issubclass(kind, t.LVList | t.List):
        assert kind._item_type is not None, f"{kind} declares no item type"
        return st.lists(_strategy(kind._item_type), max_size=4).map(kind)
    if issubclass(kind, FixedOctets):
        return st.binary(min_size=kind.length, max_size=kind.length).map(kind)
    if issubclass(kind, RemainingOctets | t.Bytes):
        return st.binary(max_size=40).map(kind)
    if issubclass(kind, Utf8String):
        return _TEXT.filter(lambda s: len(s.encode()) <= kind.max_octets).map(kind)
    if issubclass(kind, OctetString | t.LVBytes):
        return st.binary(max_size=min(getattr(kind, "max_octets", 254), 40)).map(kind)
    if issubclass(kind, enum.Enum) and not issubclass(kind, enum.Flag):
        assert issubclass(kind, t.FixedIntType), f"{kind}: zigpy enums are sized integers"
        # zigpy keeps values the enum does not name, so those must round-trip too
        undefined = st.integers(0, (1 << kind._bits) - 1).map(kind)
        return st.one_of(st.sampled_from(list(kind)), undefined)
    if issubclass(kind, t.FixedIntType):
        if kind._signed:
            bound = 1 << (kind._bits - 1)
            return st.integers(-bound, bound - 1).map(kind)
        return st.integers(0, (1 << kind._bits) - 1).map(kind)
    raise TypeError(f"no strategy for {kind}")


@st.composite
def _instances(draw: st.DrawFn, struct: type[t.Struct]) -> Any:
    values: dict[str, Any] = {}
    fields = list(_fields(struct))
    optional = [f.name for f in fields if f.optional]
    present = draw(st.integers(0, len(optional)))
    for field in fields:
        if field.requires is not None and not field.requires(_Partial(values)):
            continue
        if field.optional and optional.index(field.name) >= present:
            continue
        if field.length is not None:
            values[field.name] = draw(st.lists(_strategy(field.type._item_type), max_size=6))
            continue
        values[field.name] = draw(_strategy(field.type))
    if struct in _COUNT_SETTERS:
        list_field, store = _COUNT_SETTERS[struct]
        if struct is BlockThresholdEntry or struct is PublishEventLog:
            values[list_field] = values[list_field][:15]  # the count is 4 bits wide
        store(values, len(values[list_field]))
    return struct(**values)


def instances(struct: type[t.Struct]) -> st.SearchStrategy[Any]:
    """Any valid instance of `struct`, over the full range of its field types."""
    return _instances(struct)


# --- representative values where the generic sample says too little -------------------------


def _certificate() -> bytes:
    return ke.ImplicitCertificate163k1(
        public_key_reconstruction_data=ke.PublicKeyReconstructionData(
            bytes([0x03]) + bytes(range(1, 22))
        ),
        subject=t.EUI64.convert("00:0d:6f:00:00:00:a2:01"),
        issuer=ke.CertificateIssuer(bytes.fromhex("5445535453454341")),
        profile_attribute_data=ke.ProfileAttributeData(bytes(range(0x40, 0x4A))),
    ).serialize()


def representative(command: Command) -> list[Any]:
    """Instances of `command` for the codec and tshark tests: the generic sample, or values a
    GB system would send where those exercise more (a "£" in a message, a suite-1 certificate,
    every SetEventConfiguration selector)."""
    generic = sample(command.schema)
    name = command.name
    if name.startswith("KeyEstablishment.initiate_key_establishment"):
        return [
            generic.replace(
                **{
                    command.schema.fields[0].name: ke.KeyEstablishmentSuite.Crypto163k1,
                    "identity": _certificate(),
                }
            )
        ]
    if name == "DeviceManagement.set_event_configuration":
        base = {
            "issuer_event_id": 0x1001,
            "start_date_time": UTC_2024,
            "event_configuration": dm.EventConfiguration(0x0B),
        }
        return [
            dm.SetEventConfiguration(
                **base,
                configuration_control=dm.ConfigurationControl.ApplyByList,
                event_ids=[0x1234, 0x5678],
            ),
            dm.SetEventConfiguration(
                **base,
                configuration_control=dm.ConfigurationControl.ApplyByEventGroup,
                event_group_id=0x0102,
            ),
            dm.SetEventConfiguration(
                **base, configuration_control=dm.ConfigurationControl.ApplyByLogType, log_id=3
            ),
            dm.SetEventConfiguration(
                **base,
                configuration_control=dm.ConfigurationControl.ApplyByConfigurationMatch,
                configuration_value_match=dm.EventConfiguration(0x09),
            ),
        ]
    if name == "Messaging.display_message":
        control = messaging.MessageControl(
            transmission=0,
            importance=messaging.MessageImportance.High,
            reserved=0,
            enhanced_confirmation_required=0,
            reserved2=0,
            confirmation_required=1,
        )
        return [
            generic,
            messaging.DisplayMessage(
                message_id=7,
                message_control=control,
                start_time=0,
                duration_in_minutes=60,
                message="Credit low: top up £5",
                extended_message_control=0,
            ),
        ]
    if name == "Price.publish_price":
        # A GB unit rate: 24.50p/kWh as 2450 with trailing digit 2, in GBP (826), tier 1 of 2.
        return [
            generic,
            generic.replace(
                currency=826,
                price=2450,
                unit_of_measure=0,
                price_trailing_digit_and_price_tier=price_types.PriceTrailingDigitAndTier(
                    price_tier=1, trailing_digit=2
                ),
                number_of_price_tiers_and_register_tier=price_types.PriceTiersAndRegisterTier(
                    register_tier=1, number_of_price_tiers=2
                ),
            ),
        ]
    if name == "Prepayment.publish_prepay_snapshot":
        payload = prepayment_types.DebtCreditStatus(
            accumulated_debt=-1500,
            type1_debt_remaining=1000,
            type2_debt_remaining=0,
            type3_debt_remaining=500,
            emergency_credit_remaining=500,
            credit_remaining=-250,
        )
        return [
            generic.replace(
                snapshot_payload_type=prepayment_types.PrepaySnapshotPayloadType.DebtCreditStatus,
                snapshot_payload=payload.serialize(),
            )
        ]
    # tshark 4.0, like the spec-generated zsmartsystems library, reads one snapshot schedule
    # (ScheduleSnapshot) and one bit-field allocation (ConfigureNotificationFlags) per command;
    # zigpy declares lists, which encode a single item the same way.
    if name == "Metering.schedule_snapshot":
        return [generic.replace(snapshot_schedule_payloads=generic.snapshot_schedule_payloads[:1])]
    if name == "Metering.configure_notification_flag":
        return [generic.replace(bit_field_allocations=generic.bit_field_allocations[:1])]
    return [generic]

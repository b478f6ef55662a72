"""The Smart Energy cluster definitions (protocol/se): registration with zigpy, and every command
as a whole ZCL frame that zigpy builds and parses back, for chosen and for random values.

The wire layouts themselves are judged by tshark in test_se_tshark.py.
"""

from __future__ import annotations

from typing import Any
from unittest.mock import MagicMock

import pytest
import zigpy.types as t
import zigpy.zcl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from zigpy.zcl import foundation
from zigpy.zcl.clusters import smartenergy as zigpy_se

import protocol.se as se
from protocol.se.price_types import PriceTrailingDigitAndTier
from protocol.se.types import FixedOctets, OctetString, TrailingDigit, Utf8String
from tests.protocol.se_oracle import zcl_frame
from tests.protocol.se_samples import COMMANDS, Command, instances, representative

CASES = [(command, instance) for command in COMMANDS for instance in representative(command)]
CLUSTERS = sorted(se.SE_CLUSTERS.values(), key=lambda c: c.cluster_id)


def _cluster(kind: type[zigpy.zcl.Cluster]) -> zigpy.zcl.Cluster:
    """A cluster object as the hub's zigpy makes it, on a stand-in endpoint."""
    return zigpy.zcl.Cluster.from_id(MagicMock(), kind.cluster_id)


def _round_trip(command: Command, instance: Any) -> None:
    frame = zcl_frame(command.definition.id, command.server_to_client, instance.serialize(), tsn=7)
    header, parsed = _cluster(command.cluster).deserialize(frame)
    assert header.command_id == command.definition.id and header.tsn == 7
    assert header.direction == (
        foundation.Direction.Server_to_Client
        if command.server_to_client
        else foundation.Direction.Client_to_Server
    )
    assert type(parsed) is command.schema
    assert parsed == instance
    assert parsed.serialize() == instance.serialize()


# --- registration -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", CLUSTERS, ids=lambda c: c.__name__)
def test_importing_protocol_se_puts_our_clusters_in_zigpys_registry(
    kind: type[zigpy.zcl.Cluster],
) -> None:
    assert zigpy.zcl.Cluster._registry[kind.cluster_id] is kind
    assert type(_cluster(kind)) is kind


def test_zigpys_stubs_are_replaced_and_its_metering_extended() -> None:
    assert zigpy.zcl.Cluster._registry[0x0700] is not zigpy_se.Price
    assert se.Metering.__mro__[1] is zigpy_se.Metering
    # The firmware reads Metering by zigpy's attribute names; they are all still there.
    for attr in zigpy_se.Metering.AttributeDefs:
        assert se.Metering.attributes_by_name[attr.name].id == attr.id
    assert se.Time is zigpy.zcl.clusters.general.Time  # complete in zigpy: re-exported


@pytest.mark.parametrize("kind", CLUSTERS, ids=lambda c: c.__name__)
def test_command_names_are_unique_across_directions(kind: type[zigpy.zcl.Cluster]) -> None:
    # zigpy looks commands up by name in one table for both directions.
    names = [c.name for c in (*kind.ServerCommandDefs, *kind.ClientCommandDefs)]
    assert len(names) == len(set(names))


# --- attributes ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "name", "attr_id"),
    [
        (se.Price, "tier1_price_label", 0x0000),
        (se.Price, "tier48_price_label", 0x002F),
        (se.Price, "block15_threshold", 0x010E),
        (se.Price, "tier1_block1_threshold", 0x0110),
        (se.Price, "tier15_block15_threshold", 0x01FE),
        (se.Price, "tier15_block_threshold_count", 0x01FF),
        (se.Price, "no_tier_block16_price", 0x040F),
        (se.Price, "tier15_block16_price", 0x04FF),
        (se.Price, "price_tier16", 0x050F),
        (se.Price, "price_tier48", 0x052F),
        (se.Price, "credit_payment_ref_5", 0x0852),
        (se.Price, "received_tier48_price_label", 0x802F),
        (se.Metering, "current_tier16_summ_delivered", 0x011E),
        (se.Metering, "current_tier48_summ_received", 0x015F),
        (se.Metering, "current_no_tier_block1_summ_delivered", 0x0700),
        (se.Metering, "current_tier15_block16_summ_received", 0x09FF),
        (se.Metering, "previous_day8_consumption_received", 0x042D),
        (se.Metering, "previous_month13_consumption_received", 0x045B),
        (se.Prepayment, "top_up_code_5", 0x0143),
        (se.Prepayment, "debt_recovery_top_up_percentage_3", 0x0239),
        (se.Prepayment, "previous_month13_cost_consumption_received", 0x055B),
        (se.DeviceManagement, "received_proposed_provider_contact_details", 0x0134),
        (se.Tunneling, "close_tunnel_timeout", 0x0000),
        (se.KeyEstablishment, "key_establishment_suite", 0x0000),
    ],
)
def test_numbered_attribute_families_land_on_the_specification_ids(
    kind: type[zigpy.zcl.Cluster], name: str, attr_id: int
) -> None:
    assert kind.attributes_by_name[name].id == attr_id


@pytest.mark.parametrize("kind", CLUSTERS, ids=lambda c: c.__name__)
def test_attributes_are_well_formed_and_hold_no_float(kind: type[zigpy.zcl.Cluster]) -> None:
    ids = [a.id for a in kind.AttributeDefs]
    assert len(ids) == len(set(ids))
    for attr in kind.AttributeDefs:
        assert not issubclass(attr.type, float), attr  # money and energy are integers
        if issubclass(attr.type, TrailingDigit):
            assert attr.zcl_type == foundation.DataTypeId.map8, attr


def _value_for(kind: type[Any]) -> Any:
    if issubclass(kind, t.CharacterString):
        return kind("Economy 7")
    if issubclass(kind, bytes):
        return kind(b"E7")
    return kind(1)


@pytest.mark.parametrize("kind", CLUSTERS, ids=lambda c: c.__name__)
def test_every_attribute_round_trips_in_a_read_attributes_response(
    kind: type[zigpy.zcl.Cluster],
) -> None:
    values = [
        (attr.id, foundation.TypeValue(type=attr.zcl_type, value=_value_for(attr.type)))
        for attr in kind.AttributeDefs
    ]
    records = [
        foundation.ReadAttributeRecord(attrid=attrid, status=foundation.Status.SUCCESS, value=value)
        for attrid, value in values
    ]
    command = foundation.GENERAL_COMMANDS[foundation.GeneralCommand.Read_Attributes_rsp]
    payload = command.schema(status_records=records).serialize()
    parsed: Any  # zigpy makes each command's schema class (and its fields) at run time
    parsed, rest = command.schema.deserialize(payload)
    assert rest == b""
    assert [(r.attrid, r.value.type) for r in parsed.status_records] == [
        (attrid, value.type) for attrid, value in values
    ]


# --- commands ------------------------------------------------------------------------------------


def test_every_command_has_a_case() -> None:
    assert {c.name for c, _ in CASES} == {c.name for c in COMMANDS}


@pytest.mark.parametrize(("command", "instance"), CASES, ids=[c.name for c, _ in CASES])
def test_command_round_trips_as_a_zcl_frame(command: Command, instance: Any) -> None:
    _round_trip(command, instance)


@pytest.mark.parametrize("kind", CLUSTERS[1:], ids=lambda c: c.__name__)  # Time has no commands
def test_random_commands_round_trip(kind: type[zigpy.zcl.Cluster]) -> None:
    commands = [c for c in COMMANDS if c.cluster is kind]

    @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.sampled_from(commands).flatmap(lambda c: instances(c.schema).map(lambda x: (c, x))))
    def round_trip(case: tuple[Command, Any]) -> None:
        _round_trip(*case)

    round_trip()


# --- strings and fixed fields ----------------------------------------------------------------


def test_a_message_length_counts_utf8_octets() -> None:
    from protocol.se.messaging import Message

    assert Message("Top up £5").serialize() == b"\x0aTop up \xc2\xa35"
    assert Message.deserialize(b"\x0aTop up \xc2\xa35")[0] == "Top up £5"
    # zigpy 2.4's own CharacterString counts characters: one octet short for a "£".
    assert t.CharacterString("£5").serialize() == b"\x02\xc2\xa35"


def test_bounded_fields_refuse_to_serialise_too_much() -> None:
    from protocol.se.drlc import EventSignature
    from protocol.se.price_types import RateLabel

    assert issubclass(RateLabel, OctetString) and RateLabel(b"x" * 12).serialize()[0] == 12
    with pytest.raises(ValueError, match="at most 12"):
        RateLabel(b"x" * 13).serialize()
    with pytest.raises(ValueError, match="at most 254"):
        Utf8String("£" * 128).serialize()
    assert issubclass(EventSignature, FixedOctets)
    with pytest.raises(ValueError, match="42 octets"):
        EventSignature(b"\x00" * 41).serialize()
    with pytest.raises(ValueError, match="needs 42 octets"):
        EventSignature.deserialize(b"\x00" * 41)


def test_price_nibbles_put_the_trailing_digit_high() -> None:
    # PriceTrailingDigitAndPriceTier 0x21: trailing digit 2 (bits 4-7), tier 1 (bits 0-3).
    assert PriceTrailingDigitAndTier(price_tier=1, trailing_digit=2).serialize() == b"\x21"
    assert TrailingDigit(reserved=0, digits=3).serialize() == b"\x30"

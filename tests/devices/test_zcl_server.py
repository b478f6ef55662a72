"""ZCL server and client against zigpy's own ZCL codecs (the oracle we did not write)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
import zigpy.types as t
from hypothesis import given
from hypothesis import strategies as st
from zigpy.zcl import foundation

from devices.meter.metering_cluster import (
    ELECTRICITY,
    GAS,
    Commodity,
    attribute_names,
    metering_server,
)
from firmware.zcl.client import ZclClient, parse_read_attributes_response
from firmware.zcl.cluster_server import AttributeBinding, ClusterServer
from firmware.zcl.frame import MAX_ZCL_PAYLOAD, ZclFrame
from firmware.zcl.server import ZclServer
from hal.emulated.clock import ManualClock
from protocol.errors import DecodeError, TransientLinkError
from protocol.metering_units import metering_registers
from protocol.se import Metering

from .conftest import zigpy_parse

METERING = 0x0702
GC = foundation.GeneralCommand
S = foundation.Status


def server(summation: int = 1_234_567, demand: int = 512) -> ZclServer:
    return ZclServer([metering_server(ELECTRICITY, lambda: summation, lambda: demand)])


def read_request(tsn: int, *ids: int, manufacturer: int | None = None) -> bytes:
    header = foundation.ZCLHeader.general(tsn, GC.Read_Attributes, manufacturer=manufacturer)
    body = foundation.GENERAL_COMMANDS[GC.Read_Attributes].schema(
        attribute_ids=[t.uint16_t(i) for i in ids]  # type: ignore[no-untyped-call]  # zigpy int
    )
    return bytes(header.serialize() + body.serialize())


def answer(
    srv: ZclServer, payload: bytes, cluster: int = METERING, *, broadcast: bool = False
) -> bytes | None:
    return srv.handle(cluster, ZclFrame.parse(payload), broadcast=broadcast)


@pytest.mark.req("9.2")
def test_read_attributes_response_parses_with_zigpy() -> None:
    reply = answer(server(), read_request(42, 0x0000, 0x0400, 0x0306, 0x0302, 0x1234))
    assert reply is not None
    header, response = zigpy_parse(reply)
    assert header.tsn == 42 and header.command_id == GC.Read_Attributes_rsp
    assert header.frame_control.direction == foundation.Direction.Server_to_Client
    assert header.frame_control.disable_default_response
    got = [
        (r.attrid, r.status, r.value and (r.value.type, r.value.value))
        for r in response.status_records
    ]
    assert got == [
        (0x0000, S.SUCCESS, (0x25, 1_234_567)),  # uint48 CurrentSummationDelivered, Wh
        (0x0400, S.SUCCESS, (0x2A, 512)),  # int24 InstantaneousDemand, W
        (0x0306, S.SUCCESS, (0x18, 0)),  # map8 MeteringDeviceType: electric
        (0x0302, S.SUCCESS, (0x22, 1000)),  # uint24 Divisor
        (0x1234, S.UNSUPPORTED_ATTRIBUTE, None),
    ]


@pytest.mark.parametrize("commodity", [ELECTRICITY, GAS], ids=["electricity", "gas"])
def test_every_attribute_reads_back_into_registers_with_units(commodity: Commodity) -> None:
    srv = ZclServer([metering_server(commodity, lambda: 56_789, lambda: 120)])
    wanted = [0x0000, 0x0200, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0306, 0x0400]
    values: dict[int, Any] = {}
    while missing := [a for a in wanted if a not in values]:  # as a client reads: until all came
        reply = answer(srv, read_request(1, *missing))
        values.update(parse_read_attributes_response(ZclFrame.parse(reply or b"").body))
    registers = metering_registers(attribute_names(values))["registers"]
    unit = {ELECTRICITY: ("kWh", "kW"), GAS: ("m³", "m³/h")}[commodity]
    assert registers["CurrentSummationDelivered"]["display"] == "56.789"
    assert registers["CurrentSummationDelivered"]["unit"] == unit[0]
    assert registers["InstantaneousDemand"]["display"] == "0.120"
    assert registers["InstantaneousDemand"]["unit"] == unit[1]


@given(st.lists(st.integers(min_value=0, max_value=0xFFFF), min_size=1, max_size=40))
def test_any_read_is_answered_in_order_and_within_one_frame(ids: list[int]) -> None:
    srv = server()
    reply = answer(srv, read_request(3, *ids))
    assert reply is not None and len(reply) <= MAX_ZCL_PAYLOAD
    _, response = zigpy_parse(reply)
    records = response.status_records
    assert [r.attrid for r in records] == ids[: len(records)]  # a prefix: the rest asked again
    assert records, "at least one record always fits"
    cluster = srv.cluster(METERING)
    served = {attr_id: cluster.value(attr_id) for attr_id in cluster.bindings}
    for record in records:
        assert (record.status == S.SUCCESS) == (record.attrid in served)
        if record.status == S.SUCCESS:
            assert record.value.value == served[record.attrid]


@pytest.mark.parametrize(
    ("payload", "cluster", "status"),
    [
        (read_request(5, 0), 0x0700, S.UNSUPPORTED_CLUSTER),  # Price is not served
        (bytes([0x00, 5, GC.Discover_Commands_Received, 0, 8]), METERING, S.UNSUP_GENERAL_COMMAND),
        (bytes([0x01, 5, 0x00]), METERING, S.UNSUP_CLUSTER_COMMAND),  # GetProfile
        (read_request(5, 0, manufacturer=0x1002), METERING, S.UNSUP_MANUF_GENERAL_COMMAND),
        (bytes([0x05, 0x02, 0x10, 5, 0x00]), METERING, S.UNSUP_MANUF_CLUSTER_COMMAND),
        # Disable Default Response set: an error is still answered (ZCL 2.5.12.2 criterion 3).
        (bytes([0x11, 5, 0x00]), METERING, S.UNSUP_CLUSTER_COMMAND),
    ],
    ids=["cluster", "general", "cluster-command", "manuf-general", "manuf-cluster", "ddr-set"],
)
def test_unsupported_requests_get_a_default_response(
    payload: bytes, cluster: int, status: S
) -> None:
    reply = answer(server(), payload, cluster)
    assert reply is not None
    header, response = zigpy_parse(reply)
    assert header.tsn == 5 and header.command_id == GC.Default_Response
    assert response.command_id == ZclFrame.parse(payload).header.command_id
    assert response.status == status


def test_broadcasts_get_no_default_response_but_reads_are_answered() -> None:
    unsupported = bytes([0x01, 5, 0x00])
    assert answer(server(), unsupported, broadcast=True) is None  # ZCL 2.5.12.2 criterion 1
    assert answer(server(), read_request(6, 0), broadcast=True) is not None


def test_default_responses_and_client_frames_are_not_answered() -> None:
    default_rsp = bytes([0x18, 9, GC.Default_Response, 0x00, 0x00])
    assert answer(server(), default_rsp) is None  # server-to-client: a response, not a request
    assert answer(server(), bytes([0x08, 9, GC.Default_Response, 0x00, 0x00])) is None


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00", b"\x00\x01", b"\x04\x02", b"\x02\x01\x00", b"\x00\x01\x00", b"\x00\x01\x00\x00"],
    ids=[
        "empty",
        "fc-only",
        "no-command",
        "short-manufacturer",
        "frame-type-2",
        "no-ids",
        "half-id",
    ],
)
def test_malformed_frames_raise_decode_error(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        answer(server(), payload)


def test_the_server_reads_live_values() -> None:
    value = [1]
    binding = AttributeBinding(lambda: value[0])
    srv = ZclServer([ClusterServer(Metering, {"current_summ_delivered": binding})])
    value[0] = 99
    assert srv.cluster(METERING).values() == {"current_summ_delivered": 99}


async def test_client_reads_through_a_server_and_matches_by_tsn() -> None:
    srv = server()
    clock = ManualClock(datetime(2026, 1, 15, tzinfo=UTC))
    client: ZclClient

    async def send(destination: int, cluster: int, endpoint: int, payload: bytes) -> None:
        reply = srv.handle(cluster, ZclFrame.parse(payload))
        stray = bytes([0x18, (payload[1] + 1) & 0xFF, GC.Read_Attributes_rsp])  # wrong TSN
        assert client.handle(destination, 1, cluster, ZclFrame.parse(stray)) is None
        assert reply is not None
        asyncio.get_running_loop().call_soon(
            client.handle, destination, 1, cluster, ZclFrame.parse(reply)
        )

    client = ZclClient(clock, send)
    assert await client.read_attributes(0x1234, 1, METERING, [0x0000, 0x0400, 0x0999]) == {
        0x0000: 1_234_567,
        0x0400: 512,
    }


def client_of(srv: Callable[[int, ZclFrame], bytes | None], requests: list[bytes]) -> ZclClient:
    """A client whose requests `srv` answers on the next loop iteration; each one kept."""
    clock = ManualClock(datetime(2026, 1, 15, tzinfo=UTC))
    client: ZclClient

    async def send(destination: int, cluster: int, endpoint: int, payload: bytes) -> None:
        requests.append(payload)
        reply = srv(cluster, ZclFrame.parse(payload))
        assert reply is not None
        asyncio.get_running_loop().call_soon(
            client.handle, destination, 1, cluster, ZclFrame.parse(reply)
        )

    client = ZclClient(clock, send)
    return client


async def test_client_asks_again_for_what_did_not_fit_one_answer() -> None:
    srv = ZclServer([metering_server(ELECTRICITY, lambda: 56_789, lambda: 120)])
    wanted = [0x0000, 0x0200, 0x0300, 0x0301, 0x0302, 0x0303, 0x0304, 0x0306, 0x0400]
    requests: list[bytes] = []
    values = await client_of(srv.handle, requests).read_attributes(0x1234, 1, METERING, wanted)
    assert sorted(values) == wanted
    assert values[0x0000] == 56_789 and values[0x0400] == 120
    assert len(requests) == 2  # nine records are more than one APS-secured frame holds


async def test_client_refuses_an_answer_with_none_of_the_records_asked_for() -> None:
    srv = ZclServer([metering_server(ELECTRICITY, lambda: 1, lambda: 1)])

    def off_the_point(cluster: int, frame: ZclFrame) -> bytes | None:
        # Answers every read with the record of another attribute: a client that only asked
        # again for what was missing would ask for ever.
        return answer(srv, read_request(frame.header.tsn, 0x0306), cluster)

    requests: list[bytes] = []
    client = client_of(off_the_point, requests)
    with pytest.raises(DecodeError):
        await client.read_attributes(0x1234, 1, METERING, [0x0000])
    assert len(requests) == 1


async def test_client_gives_up_after_the_reply_timeout() -> None:
    clock = ManualClock(datetime(2026, 1, 15, tzinfo=UTC))

    async def send(destination: int, cluster: int, endpoint: int, payload: bytes) -> None:
        return None  # delivered, never answered

    client = ZclClient(clock, send)
    read = asyncio.create_task(client.read_attributes(0x1234, 1, METERING, [0]))
    await clock.run_for(10)
    with pytest.raises(TransientLinkError):
        await read

"""Fuzz ZCL: the platform's frame parser (firmware/zcl/frame.py), the server engine on real
clusters (the meter's Metering server, the hub's Time server) and on every Smart Energy cluster
with a handler for each of its commands (`protocol.se.SE_CLUSTERS`), the client engine taking
what servers send, and the client's response parsers.

Valid frames are every SE cluster command over the whole range of its fields (the schemas'
own strategies, `tests.protocol.se_samples.instances`) and the general commands a server
answers or a client takes; each is also fed mutated. Whatever a server answers must itself
be a ZCL frame, and reports configured by fuzzed frames must still be built.
"""

from __future__ import annotations

from typing import Any

import zigpy.types as t
from hypothesis import given
from hypothesis import strategies as st
from zigpy.zcl import foundation

from devices.meter.metering_cluster import ELECTRICITY, metering_server
from firmware.zcl.client import ZclClient, parse_default_response, parse_read_attributes_response
from firmware.zcl.cluster_server import AttributeBinding, ClusterServer, CommandRequest
from firmware.zcl.frame import ZclFrame, attribute_id, cluster_command_header, general_command
from firmware.zcl.server import ZclServer
from hal.emulated.clock import ManualClock
from hub.time_server import time_server
from protocol.se import SE_CLUSTERS
from tests.fuzz.mutations import decode, fuzz_settings, fuzzed
from tests.protocol.se_samples import COMMANDS, Command, instances

DECODER = "ZCL"
GC = foundation.GeneralCommand
CLOCK = ManualClock()
u8 = st.integers(0, 0xFF)
u16 = st.integers(0, 0xFFFF)


def _int_valued(definition: foundation.ZCLAttributeDef) -> bool:
    return issubclass(definition.type, int)


#: What clients wrote to the servers of `EVERY_CLUSTER`, emptied before each example so that
#: examples do not see each other's writes.
STORES: list[dict[str, Any]] = []


def _every_command(cluster: Any) -> ClusterServer:
    """A server of `cluster` with every integer attribute bound to a writable store and a
    handler for each command it receives."""
    store: dict[str, Any] = {}
    STORES.append(store)

    def binding(name: str) -> AttributeBinding:
        return AttributeBinding(
            lambda: store.get(name, 0), lambda value: store.update({name: value})
        )

    def handler(request: CommandRequest) -> None:
        return None

    attributes = {d.name: binding(d.name) for d in cluster.attributes.values() if _int_valued(d)}
    commands = {d.name: handler for d in cluster.server_commands.values()}
    return ClusterServer(cluster, attributes, commands)


REAL_CLUSTERS = [metering_server(ELECTRICITY, lambda: 1_234_567, lambda: -512), time_server(CLOCK)]
EVERY_CLUSTER = [_every_command(cluster) for cluster in SE_CLUSTERS.values()]


async def _send(destination: int, cluster_id: int, endpoint: int, payload: bytes) -> None:
    return None


def _client() -> ZclClient:
    client = ZclClient(CLOCK, _send)
    for cluster in SE_CLUSTERS.values():
        client.on_report(cluster.cluster_id, lambda sender, endpoint, values: None)
        client.on_command(cluster, lambda sender, endpoint, name, fields: None)
    return client


# -- valid frames -----------------------------------------------------------------------------


def _values(kind: type) -> st.SearchStrategy[Any]:
    if issubclass(kind, t.FixedIntType):
        low = -(1 << (kind._bits - 1)) if kind._signed else 0
        high = (1 << (kind._bits - 1)) - 1 if kind._signed else (1 << kind._bits) - 1
        return st.integers(low, high).map(kind)
    constructor: Any = kind  # zigpy's types are untyped classes
    return st.just(constructor(0))


@st.composite
def _attribute(draw: st.DrawFn) -> tuple[int, foundation.ZCLAttributeDef]:
    served = draw(st.sampled_from(EVERY_CLUSTER))
    attribute_id = draw(st.sampled_from(sorted(served.bindings)))
    return served.cluster_id, served.bindings[attribute_id][0]


@st.composite
def _typed(draw: st.DrawFn, definition: foundation.ZCLAttributeDef) -> foundation.TypeValue:
    return foundation.TypeValue(type=definition.zcl_type, value=draw(_values(definition.type)))


@st.composite
def _reporting(draw: st.DrawFn, definition: foundation.ZCLAttributeDef) -> Any:
    config = foundation.AttributeReportingConfig()
    config.direction = draw(st.sampled_from(foundation.ReportingDirection))
    config.attrid = attribute_id(int(definition.id))
    config.timeout = draw(u16)
    config.datatype = definition.zcl_type
    config.min_interval, config.max_interval = draw(u16), draw(u16)
    config.reportable_change = draw(_values(definition.type))
    return config


@st.composite
def general_requests(draw: st.DrawFn) -> tuple[int, bytes]:
    """A general command to a server of one of the SE clusters."""
    cluster_id, definition = draw(_attribute())
    tsn = draw(u8)
    attrid = attribute_id(int(definition.id))
    command = draw(
        st.sampled_from(
            [
                GC.Read_Attributes,
                GC.Write_Attributes,
                GC.Write_Attributes_Undivided,
                GC.Write_Attributes_No_Response,
                GC.Configure_Reporting,
                GC.Read_Reporting_Configuration,
                GC.Discover_Attributes,
            ]
        )
    )
    fields: dict[str, Any]
    if command == GC.Read_Attributes:
        fields = {"attribute_ids": [attrid, *draw(st.lists(u16.map(attribute_id), max_size=4))]}
    elif command == GC.Configure_Reporting:
        fields = {"config_records": [draw(_reporting(definition))]}
    elif command == GC.Read_Reporting_Configuration:
        direction = draw(st.sampled_from(foundation.ReportingDirection))
        record = foundation.ReadReportingConfigRecord(direction=direction, attrid=attrid)
        fields = {"attribute_records": [record]}
    elif command == GC.Discover_Attributes:
        fields = {"start_attribute_id": attrid, "max_attribute_ids": draw(u8)}
    else:
        fields = {"attributes": [foundation.Attribute(attrid, draw(_typed(definition)))]}
    return cluster_id, general_command(tsn, command, **fields)


@st.composite
def general_responses(draw: st.DrawFn) -> tuple[int, bytes]:
    """What a server sends a client: reports, read responses, default responses."""
    cluster_id, definition = draw(_attribute())
    attrid, tsn = attribute_id(int(definition.id)), draw(u8)
    value = draw(_typed(definition))
    command = draw(
        st.sampled_from([GC.Report_Attributes, GC.Read_Attributes_rsp, GC.Default_Response])
    )
    fields: dict[str, Any]
    if command == GC.Report_Attributes:
        fields = {"attribute_reports": [foundation.Attribute(attrid, value)]}
    elif command == GC.Read_Attributes_rsp:
        status = draw(st.sampled_from([foundation.Status.SUCCESS, foundation.Status.FAILURE]))
        record = foundation.ReadAttributeRecord(attrid, status, value)
        fields = {"status_records": [record]}
    else:
        fields = {"command_id": draw(u8), "status": draw(st.sampled_from(foundation.Status))}
    return cluster_id, general_command(tsn, command, to_server=False, **fields)


@st.composite
def cluster_commands(draw: st.DrawFn) -> tuple[int, bytes]:
    """Any command of any SE cluster, either direction, over the range of its fields."""
    command: Command = draw(st.sampled_from(COMMANDS))
    header = cluster_command_header(
        draw(u8),
        command.definition.id,
        to_server=not command.server_to_client,
        disable_default_response=draw(st.booleans()),
    )
    args = draw(instances(command.schema))
    return int(command.cluster.cluster_id), bytes(header.serialize() + args.serialize())


valid_frames = st.one_of(general_requests(), general_responses(), cluster_commands())


@st.composite
def fuzzed_frames(draw: st.DrawFn) -> tuple[int, bytes]:
    cluster_id, frame = draw(valid_frames)
    if draw(st.integers(0, 9)) == 0:
        cluster_id = draw(u16)  # a cluster nobody serves, or another one's
    return cluster_id, draw(fuzzed(st.just(frame), max_size=90))


# -- the tests ----------------------------------------------------------------------------------


@fuzz_settings(600)
@given(fuzzed_frames(), st.booleans(), st.floats(0, 1e6))
def test_zcl_servers(cluster_and_frame: tuple[int, bytes], broadcast: bool, now: float) -> None:
    cluster_id, payload = cluster_and_frame
    for store in STORES:
        store.clear()
    frame = decode(DECODER, ZclFrame.parse, payload)
    if frame is None:
        return
    for clusters in (REAL_CLUSTERS, EVERY_CLUSTER):
        server = ZclServer(clusters)
        reply = decode(
            DECODER, server.handle, cluster_id, frame, source=(0x1234, 1), broadcast=broadcast
        )
        if reply is not None:
            ZclFrame.parse(reply)  # what we send is a ZCL frame whatever came in
        for _destination, _cluster, report in server.due_reports(now):
            ZclFrame.parse(report)


@fuzz_settings(400)
@given(fuzzed_frames())
def test_zcl_client(cluster_and_frame: tuple[int, bytes]) -> None:
    cluster_id, payload = cluster_and_frame
    frame = decode(DECODER, ZclFrame.parse, payload)
    if frame is not None:
        reply = decode(DECODER, _client().handle, 0x1234, 1, cluster_id, frame)
        if reply is not None:
            ZclFrame.parse(reply)


@fuzz_settings(200)
@given(fuzzed(general_responses().map(lambda frame: frame[1][3:]), max_size=40))
def test_client_response_parsers(body: bytes) -> None:
    decode(DECODER, parse_read_attributes_response, body)
    decode(DECODER, parse_default_response, body)

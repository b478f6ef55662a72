"""The ZCL engines of the firmware platform: writes, reporting, discovery and cluster commands,
driven by the declarations of `protocol.se`, answered as ZCL 07-5123 says. zigpy's own codecs
parse what the server sends (the oracle we did not write)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from zigpy.zcl import foundation

from firmware.zcl.client import Reporting, ZclClient
from firmware.zcl.cluster_server import (
    AttributeBinding,
    ClusterResponse,
    ClusterServer,
    CommandRequest,
    ZclStatusError,
)
from firmware.zcl.frame import ZclFrame, general_command
from firmware.zcl.reporting import ReportingTable
from firmware.zcl.server import ZclServer
from hal.emulated.clock import ManualClock
from hal.real.sqlite_store import SqliteStore
from protocol.errors import DecodeError, RemoteProtocolError
from protocol.se import Messaging, Metering, Time

GC = foundation.GeneralCommand
S = foundation.Status
DT = foundation.DataTypeId
METERING = 0x0702
MESSAGING = 0x0703
CLIENT = (0x1234, 1)


def parse(cluster: type[Any], payload: bytes) -> tuple[foundation.ZCLHeader, Any]:
    """zigpy's reading of a frame of `cluster`."""
    endpoint = mock.MagicMock()
    endpoint.device.name = "oracle"
    return cluster(endpoint).deserialize(payload)  # type: ignore[no-any-return]


class Meter:
    """A Metering server with a summation, a demand and a writable... nothing: Metering has
    no writable attribute; the Time cluster's TimeZone is writable and served here too."""

    def __init__(self, store: SqliteStore | None = None) -> None:
        self.summation = 1000
        self.demand = 500
        self.zone = 0
        metering = ClusterServer(
            Metering,
            {
                "current_summ_delivered": AttributeBinding(lambda: self.summation),
                "instantaneous_demand": AttributeBinding(lambda: self.demand),
                "status": AttributeBinding(lambda: 0),
                "multiplier": AttributeBinding(lambda: 1),
            },
        )
        time = ClusterServer(
            Time,
            {
                "time_zone": AttributeBinding(lambda: self.zone, self._set_zone),
                "time": AttributeBinding(lambda: 0),  # writable in ZCL, read-only here
            },
        )
        self.server = ZclServer([metering, time], ReportingTable(store))

    def _set_zone(self, value: int) -> None:
        if not -14 * 3600 <= value <= 14 * 3600:
            raise ValueError("time zone outside +-14 h")
        self.zone = value

    def ask(self, payload: bytes, cluster: int = METERING, **kw: Any) -> bytes | None:
        return self.server.handle(cluster, ZclFrame.parse(payload), source=CLIENT, **kw)


def write(tsn: int, *records: tuple[int, DT, Any], command: GC = GC.Write_Attributes) -> bytes:
    attributes = [
        foundation.Attribute(
            attr,
            foundation.TypeValue(
                type=kind, value=foundation.DataType.from_type_id(kind).python_type(value)
            ),
        )
        for attr, kind, value in records
    ]
    return general_command(tsn, command, attributes=attributes)


def configure(tsn: int, *records: tuple[int, DT, int, int, int]) -> bytes:
    configs = []
    for attr, kind, low, high, change in records:
        config = foundation.AttributeReportingConfig()
        config.direction = foundation.ReportingDirection.SendReports
        config.attrid = attr  # type: ignore[assignment]  # zigpy: uint16_t, serialises any int
        config.datatype = kind
        config.min_interval, config.max_interval, config.reportable_change = low, high, change
        configs.append(config)
    return general_command(tsn, GC.Configure_Reporting, config_records=configs)


def test_writes_obey_the_declaration_and_the_firmware() -> None:
    meter = Meter()
    reply = meter.ask(
        write(
            1,
            (0x0002, DT.int32, 3600),  # TimeZone: writable, accepted
            (0x0000, DT.UTC, 5),  # Time: the declaration allows it, this device does not
            (0x0003, DT.uint32, 0),  # DstStart: not served
        ),
        cluster=0x000A,
    )
    assert reply is not None
    header, response = parse(Time, reply)
    assert header.command_id == GC.Write_Attributes_rsp and header.tsn == 1
    assert {(r.attrid, r.status) for r in response.status_records} == {
        (0x0000, S.READ_ONLY),
        (0x0003, S.UNSUPPORTED_ATTRIBUTE),
    }
    assert meter.zone == 3600
    wrong_type = meter.ask(write(2, (0x0002, DT.uint16, 1)), cluster=0x000A)
    refused = meter.ask(write(3, (0x0002, DT.int32, 20 * 3600)), cluster=0x000A)
    assert [r.status for r in parse(Time, wrong_type or b"")[1].status_records] == [
        S.INVALID_DATA_TYPE
    ]
    assert [r.status for r in parse(Time, refused or b"")[1].status_records] == [S.INVALID_VALUE]
    assert meter.zone == 3600
    metering_write = meter.ask(write(4, (0x0000, DT.uint48, 1)))
    assert [r.status for r in parse(Metering, metering_write or b"")[1].status_records] == [
        S.READ_ONLY
    ]


def test_an_undivided_write_changes_nothing_unless_everything_may_be_written() -> None:
    meter = Meter()
    command = GC.Write_Attributes_Undivided
    reply = meter.ask(
        write(1, (0x0002, DT.int32, 7200), (0x0000, DT.UTC, 5), command=command), 0x000A
    )
    assert [(r.attrid, r.status) for r in parse(Time, reply or b"")[1].status_records] == [
        (0x0000, S.READ_ONLY)
    ]
    assert meter.zone == 0
    ok = meter.ask(write(2, (0x0002, DT.int32, 7200), command=command), 0x000A)
    assert [r.status for r in parse(Time, ok or b"")[1].status_records] == [S.SUCCESS]
    assert meter.zone == 7200


def test_a_write_without_response_is_applied_silently() -> None:
    meter = Meter()
    assert (
        meter.ask(
            write(1, (0x0002, DT.int32, -3600), command=GC.Write_Attributes_No_Response), 0x000A
        )
        is None
    )
    assert meter.zone == -3600


def test_configure_reporting_checks_each_record_against_the_declaration() -> None:
    meter = Meter()
    reply = meter.ask(
        configure(
            1,
            (0x0000, DT.uint48, 1, 60, 10),  # CurrentSummationDelivered: reportable
            (0x0301, DT.uint24, 1, 60, 1),  # Multiplier: not reportable
            (0x0400, DT.uint8, 1, 60, 1),  # InstantaneousDemand is int24
            (0x0200, DT.map8, 30, 10, 0),  # min above max
            (0x0999, DT.uint8, 1, 60, 1),  # no such attribute
        )
    )
    _, response = parse(Metering, reply or b"")
    assert {(r.attrid, r.status) for r in response.status_records} == {
        (0x0301, S.UNREPORTABLE_ATTRIBUTE),
        (0x0400, S.INVALID_DATA_TYPE),
        (0x0200, S.INVALID_VALUE),
        (0x0999, S.UNSUPPORTED_ATTRIBUTE),
    }
    assert len(meter.server.reporting) == 1


def test_reports_follow_change_minimum_and_maximum_intervals() -> None:
    meter = Meter()
    meter.ask(configure(1, (0x0000, DT.uint48, 5, 60, 10), (0x0400, DT.int24, 1, 60, 100)))
    first = meter.server.due_reports(0.0)
    assert len(first) == 1 and first[0][0] == CLIENT  # both at once, to the configuring client
    header, report = parse(Metering, first[0][2])
    assert header.command_id == GC.Report_Attributes
    assert {(r.attrid, r.value.value) for r in report.attribute_reports} == {
        (0, 1000),
        (0x400, 500),
    }
    assert meter.server.due_reports(1.0) == []  # nothing changed
    meter.demand = 550  # below the reportable change of 100
    meter.summation = 1020  # 20 Wh: enough, but its minimum interval is 5 s
    assert meter.server.due_reports(2.0) == []
    meter.demand = 700
    [(_, _, frame)] = meter.server.due_reports(3.0)
    assert [(r.attrid, r.value.value) for r in parse(Metering, frame)[1].attribute_reports] == [
        (0x400, 700)
    ]
    [(_, _, frame)] = meter.server.due_reports(5.0)
    # demand rides along: its minimum interval has passed, so its timer restarts with summation's
    assert [(r.attrid, r.value.value) for r in parse(Metering, frame)[1].attribute_reports] == [
        (0, 1020),
        (0x400, 700),
    ]
    heartbeat = meter.server.due_reports(65.0)
    assert {r.attrid for r in parse(Metering, heartbeat[0][2])[1].attribute_reports} == {0, 0x400}


def test_an_idle_client_gets_one_heartbeat_per_maximum_interval() -> None:
    """A change reported early takes the client's other attributes along (their minimum
    interval has passed), so their heartbeats stay in one frame, not one frame each."""
    meter = Meter()
    meter.ask(configure(1, (0x0000, DT.uint48, 1, 5, 1), (0x0400, DT.int24, 1, 5, 10)))
    sent: list[tuple[float, set[int]]] = []
    for tenth in range(0, 300):
        now = tenth / 10
        if now == 2.0:
            meter.summation += 1  # one report due early
        for _, _, frame in meter.server.due_reports(now):
            sent.append((now, {r.attrid for r in parse(Metering, frame)[1].attribute_reports}))
    assert [at for at, _ in sent] == [0.0, 2.0, 7.0, 12.0, 17.0, 22.0, 27.0]
    assert all(ids == {0, 0x400} for _, ids in sent)


def reported(meter: Meter, now: float) -> list[list[tuple[int, Any]]]:
    """The frames due at `now`, each as its (attribute, value) records."""
    return [
        [(r.attrid, r.value.value) for r in parse(Metering, frame)[1].attribute_reports]
        for _, _, frame in meter.server.due_reports(now)
    ]


def test_an_attribute_inside_its_minimum_interval_is_not_carried_along() -> None:
    meter = Meter()
    meter.ask(configure(1, (0x0000, DT.uint48, 1, 60, 1), (0x0400, DT.int24, 10, 60, 10)))
    assert reported(meter, 0.0) == [[(0, 1000), (0x400, 500)]]
    meter.summation += 1
    assert reported(meter, 2.0) == [[(0, 1001)]]  # demand may not go again before 10 s
    meter.summation += 1
    assert reported(meter, 10.0) == [[(0, 1002), (0x400, 500)]]  # now it may: carried along


def test_a_carried_value_is_the_new_baseline_for_its_reportable_change() -> None:
    meter = Meter()
    meter.ask(configure(1, (0x0000, DT.uint48, 1, 60, 1), (0x0400, DT.int24, 1, 60, 100)))
    assert reported(meter, 0.0) == [[(0, 1000), (0x400, 500)]]
    meter.demand = 550  # below its reportable change: goes only with summation
    meter.summation += 1
    assert reported(meter, 1.0) == [[(0, 1001), (0x400, 550)]]
    meter.demand = 620  # 120 from what was due last, but 70 from what the client has
    assert reported(meter, 2.0) == []
    meter.demand = 650
    assert reported(meter, 3.0) == [[(0, 1001), (0x400, 650)]]  # due: summation rides along


def test_reporting_survives_a_restart_and_can_be_stopped(tmp_path: Path) -> None:
    with SqliteStore(tmp_path / "meter.sqlite") as store:
        Meter(store).ask(configure(1, (0x0000, DT.uint48, 1, 30, 1)))
        again = Meter(store)
        assert [d for d, _, _ in again.server.due_reports(0.0)] == [CLIENT]
        again.ask(configure(2, (0x0000, DT.uint48, 1, 0xFFFF, 1)))  # 0xFFFF: stop
        assert Meter(store).server.due_reports(100.0) == []


def test_read_reporting_configuration_tells_what_was_configured() -> None:
    meter = Meter()
    meter.ask(configure(1, (0x0400, DT.int24, 2, 40, 25)))
    records = [
        foundation.ReadReportingConfigRecord(direction=0, attrid=a) for a in (0x0400, 0x0000)
    ]
    reply = meter.ask(
        general_command(2, GC.Read_Reporting_Configuration, attribute_records=records)
    )
    _, response = parse(Metering, reply or b"")
    configured, unconfigured = response.attribute_configs
    assert configured.status == S.SUCCESS
    assert (configured.config.min_interval, configured.config.max_interval) == (2, 40)
    assert configured.config.reportable_change == 25
    assert unconfigured.status == S.NOT_FOUND


def test_discover_attributes_lists_what_is_served() -> None:
    reply = Meter().ask(
        general_command(1, GC.Discover_Attributes, start_attribute_id=0, max_attribute_ids=3)
    )
    _, response = parse(Metering, reply or b"")
    assert [(r.attrid, r.datatype) for r in response.attribute_info] == [
        (0x0000, DT.uint48),
        (0x0200, DT.map8),
        (0x0301, DT.uint24),
    ]
    assert not response.discovery_complete


class Messages:
    """A Messaging server: GetLastMessage answered with DisplayMessage, confirmations taken."""

    def __init__(self) -> None:
        self.confirmed: list[CommandRequest] = []
        cluster = ClusterServer(
            Messaging,
            attributes={},
            commands={"get_last_message": self.last, "message_confirmation": self.confirm},
        )
        self.server = ZclServer([cluster])

    def last(self, request: CommandRequest) -> ClusterResponse:
        if request.broadcast:
            raise ZclStatusError(S.NOT_FOUND)
        return ClusterResponse(
            "display_message",
            {
                "message_id": 7,
                "message_control": 0,
                "start_time": 0,
                "duration_in_minutes": 60,
                "message": "Welcome",
                "extended_message_control": 0,
            },
        )

    def confirm(self, request: CommandRequest) -> None:
        self.confirmed.append(request)


def cluster_command(
    tsn: int, command_id: int, body: bytes = b"", *, no_default: bool = False
) -> bytes:
    control = 0x01 | (0x10 if no_default else 0)
    return bytes([control, tsn, command_id]) + body


def test_a_command_is_answered_by_its_response_with_the_request_tsn() -> None:
    messages = Messages()
    reply = messages.server.handle(
        MESSAGING, ZclFrame.parse(cluster_command(9, 0x00)), source=CLIENT
    )
    header, response = parse(Messaging, reply or b"")
    assert header.tsn == 9 and header.command_id == 0x00  # DisplayMessage, server to client
    assert header.frame_control.direction == foundation.Direction.Server_to_Client
    assert (response.message_id, response.message) == (7, "Welcome")


def test_a_command_without_response_gets_a_default_response_unless_disabled() -> None:
    messages = Messages()
    confirmation = bytes.fromhex("070000000000000000")  # message 7, at 0, control 0
    reply = messages.server.handle(
        MESSAGING, ZclFrame.parse(cluster_command(3, 0x01, confirmation))
    )
    header, response = parse(Messaging, reply or b"")
    assert header.command_id == GC.Default_Response and response.status == S.SUCCESS
    quiet = cluster_command(4, 0x01, confirmation, no_default=True)
    assert messages.server.handle(MESSAGING, ZclFrame.parse(quiet)) is None
    assert [r.args.message_id for r in messages.confirmed] == [7, 7]


def test_a_refused_or_unknown_command_gets_its_status_and_a_short_one_is_malformed() -> None:
    messages = Messages()
    refused = messages.server.handle(
        MESSAGING, ZclFrame.parse(cluster_command(5, 0x00)), broadcast=True
    )
    assert refused is None  # a broadcast gets no Default Response, even for an error
    unknown = messages.server.handle(
        MESSAGING, ZclFrame.parse(cluster_command(6, 0x02, b"\0\0\0\0"))
    )
    assert parse(Messaging, unknown or b"")[1].status == S.UNSUP_CLUSTER_COMMAND
    with pytest.raises(DecodeError, match="message_confirmation"):
        messages.server.handle(MESSAGING, ZclFrame.parse(cluster_command(7, 0x01, b"\x07")))


class Loop:
    """A client wired to a server in memory, as two firmwares on one HAN would be."""

    def __init__(self, server: ZclServer) -> None:
        self.server = server
        self.client = ZclClient(ManualClock(datetime(2026, 1, 15, tzinfo=UTC)), self.send)
        self.unsolicited: list[bytes] = []

    async def send(self, destination: int, cluster: int, endpoint: int, payload: bytes) -> None:
        reply = self.server.handle(cluster, ZclFrame.parse(payload), source=CLIENT)
        if reply is not None:
            asyncio.get_running_loop().call_soon(
                self.client.handle, destination, endpoint, cluster, ZclFrame.parse(reply)
            )


async def test_the_client_writes_configures_and_commands_through_a_server() -> None:
    meter = Meter()
    loop = Loop(meter.server)
    assert await loop.client.write_attributes(0x10, 1, Time, {"time_zone": 3600, "time": 9}) == {
        0x0000: S.READ_ONLY
    }
    assert meter.zone == 3600
    refused = await loop.client.configure_reporting(
        0x10,
        1,
        METERING,
        [Reporting(0x0000, DT.uint48, 1, 30, 1), Reporting(0x0301, DT.uint24, 1, 30)],
    )
    assert refused == {0x0301: S.UNREPORTABLE_ATTRIBUTE}
    messages = Loop(Messages().server)
    answer = await messages.client.command(0x10, 1, Messaging, "get_last_message")
    assert answer is not None, "get_last_message is answered with a command, not a status"
    name, fields = answer
    assert name == "display_message" and fields.message == "Welcome"
    none = await messages.client.command(
        0x10, 1, Messaging, "message_confirmation",
        message_id=7, confirmation_time=0, message_confirmation_control=0, message_response=b"",
    )  # fmt: skip
    assert none is None
    with pytest.raises(RemoteProtocolError, match="UNSUPPORTED_CLUSTER"):
        await loop.client.read_attributes(0x10, 1, MESSAGING, [0])


def test_the_client_takes_reports_and_unasked_commands() -> None:
    meter = Meter()
    client = ZclClient(ManualClock(), Loop(meter.server).send)
    heard: list[tuple[int, int, dict[int, Any]]] = []
    shown: list[tuple[str, Any]] = []
    client.on_report(METERING, lambda sender, ep, values: heard.append((sender, ep, values)))
    meter.ask(configure(1, (0x0400, DT.int24, 1, 60, 1)))
    [(_, _, report)] = meter.server.due_reports(0.0)
    assert client.handle(0x20, 1, METERING, ZclFrame.parse(report)) is None
    assert heard == [(0x20, 1, {0x0400: 500})]
    display = Messages().server.command_frame(
        MESSAGING, Messages().last(CommandRequest(CLIENT, 0, "", None, False))
    )
    unhandled = client.handle(0x20, 1, MESSAGING, ZclFrame.parse(display))
    assert parse(Messaging, unhandled or b"")[1].status == S.UNSUP_CLUSTER_COMMAND
    client.on_command(
        Messaging, lambda sender, ep, name, fields: shown.append((name, fields.message))
    )
    ack = client.handle(0x20, 1, MESSAGING, ZclFrame.parse(display))
    assert shown == [("display_message", "Welcome")]
    assert parse(Messaging, ack or b"")[1].status == S.SUCCESS


@pytest.mark.parametrize(
    "command",
    [
        GC.Read_Attributes,
        GC.Write_Attributes,
        GC.Write_Attributes_Undivided,
        GC.Configure_Reporting,
        GC.Read_Reporting_Configuration,
    ],
)
def test_a_record_command_without_records_is_malformed(command: GC) -> None:
    # Found by the ZCL fuzz test: the answer to no records was an empty list zigpy cannot send.
    meter = Meter()
    with pytest.raises(DecodeError, match="one or more"):
        meter.ask(bytes([0x00, 0x09, command]))

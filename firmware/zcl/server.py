"""The ZCL server engine every device and the hub run, driven by the cluster declarations.

A component serves each cluster as a `ClusterServer`: the zigpy cluster class that declares it
(`protocol.se`: attribute ids, data types, access; command ids and layouts), bindings from
attribute names to the firmware's getters and setters, and handlers for the cluster's commands.
`ZclServer.handle` takes one received frame and returns the payload to send back, or None; it
never touches the radio or a clock, so the same object runs behind a real dongle, an emulated
NCP and in unit tests. What it answers (ZCL 07-5123 clause 2.5):

- Read Attributes (2.5.1) with one record per id, in the order asked; UNSUPPORTED_ATTRIBUTE for
  an id the cluster does not have; records that would not fit one frame are left out (2.5.2.3).
- Write Attributes, Undivided and No Response (2.5.3-2.5.6): READ_ONLY where the declaration
  or the device allows no write, INVALID_DATA_TYPE for a wrong type, INVALID_VALUE for a value
  the firmware refuses; an undivided write changes nothing unless every record is good.
- Configure Reporting and Read Reporting Configuration (2.5.7-2.5.10), for the attributes the
  declaration marks reportable; the reports themselves come from `due_reports` (2.5.11).
- Discover Attributes (2.5.13).
- Cluster commands: parsed with the declaration's schema and handed to the firmware's handler,
  which returns a response command, nothing (then a Default Response SUCCESS unless the sender
  disabled it), or raises `ZclStatusError` (a Default Response with that status).
- Anything else with a Default Response (2.5.12): UNSUPPORTED_CLUSTER, UNSUP_GENERAL_COMMAND,
  UNSUP_CLUSTER_COMMAND, or their manufacturer-specific forms. A Default Response goes only to a
  unicast and never answers a Default Response.
- A malformed frame raises `DecodeError`: the firmware records Malformed message (18.11.j) and
  answers nothing, so a fuzzer learns nothing from our replies.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import zigpy.types as t
from zigpy.zcl import foundation

from protocol.errors import DecodeError

from .cluster_server import ClusterResponse, ClusterServer, CommandRequest, ZclStatusError
from .frame import (
    MAX_ZCL_PAYLOAD,
    ZclFrame,
    attribute_id,
    cluster_command_header,
    response_header,
    set_disable_default_response,
)
from .reporting import Destination, DueReport, ReportingTable
from .server_writes import configure_reporting, read_reporting_configuration, write_attributes

__all__ = ["ZclFrame", "ZclServer"]

Status = foundation.Status
GeneralCommand = foundation.GeneralCommand
_GENERAL = {int(command): command for command in GeneralCommand}


class ZclServer:
    """Answers ZCL requests for the clusters a component serves on one endpoint."""

    def __init__(
        self, clusters: Iterable[ClusterServer], reporting: ReportingTable | None = None
    ) -> None:
        self._clusters = {cluster.cluster_id: cluster for cluster in clusters}
        self.reporting = reporting if reporting is not None else ReportingTable()
        self._tsn = 0

    @property
    def clusters(self) -> list[int]:
        return sorted(self._clusters)

    def cluster(self, cluster_id: int) -> ClusterServer:
        return self._clusters[cluster_id]

    def next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    def handle(
        self,
        cluster_id: int,
        frame: ZclFrame,
        *,
        source: Destination = (0, 0),
        broadcast: bool = False,
    ) -> bytes | None:
        """The payload to send back to `source` for a client-to-server frame, or None.

        Raises DecodeError when the command payload is malformed.
        """
        header = frame.header
        if not frame.to_server:
            return None  # a response for a client cluster: not the server's business
        if frame.is_general and frame.command_id == GeneralCommand.Default_Response:
            return None  # 2.5.12.2: never answer a Default Response
        served = self._clusters.get(cluster_id)
        if served is None:
            return _default_response(header, Status.UNSUPPORTED_CLUSTER, broadcast)
        if frame.manufacturer_specific:
            status = (
                Status.UNSUP_MANUF_GENERAL_COMMAND
                if frame.is_general
                else Status.UNSUP_MANUF_CLUSTER_COMMAND
            )
            return _default_response(header, status, broadcast)
        if frame.is_general:
            return self._general(served, frame, source, broadcast)
        return self._cluster_command(served, frame, source, broadcast)

    def _general(
        self, served: ClusterServer, frame: ZclFrame, source: Destination, broadcast: bool
    ) -> bytes | None:
        command, header = _GENERAL.get(frame.command_id), frame.header
        if command is None:
            return _default_response(header, Status.UNSUP_GENERAL_COMMAND, broadcast)
        if command == GeneralCommand.Read_Attributes:
            return _read_attributes(served, header, _parse(command, frame.body).attribute_ids)
        if command in (
            GeneralCommand.Write_Attributes,
            GeneralCommand.Write_Attributes_Undivided,
            GeneralCommand.Write_Attributes_No_Response,
        ):
            records = _parse(command, frame.body).attributes
            reply = write_attributes(
                served, records, undivided=command == GeneralCommand.Write_Attributes_Undivided
            )
            if command == GeneralCommand.Write_Attributes_No_Response:
                return None
            return _response(header, GeneralCommand.Write_Attributes_rsp, status_records=reply)
        if command == GeneralCommand.Configure_Reporting:
            records = _parse(command, frame.body).config_records
            reply = configure_reporting(served, records, self.reporting, source)
            return _response(header, GeneralCommand.Configure_Reporting_rsp, status_records=reply)
        if command == GeneralCommand.Read_Reporting_Configuration:
            records = _parse(command, frame.body).attribute_records
            reply = read_reporting_configuration(served, records, self.reporting, source)
            return _response(
                header, GeneralCommand.Read_Reporting_Configuration_rsp, attribute_configs=reply
            )
        if command == GeneralCommand.Discover_Attributes:
            request = _parse(command, frame.body)
            return _discover_attributes(
                served, header, int(request.start_attribute_id), int(request.max_attribute_ids)
            )
        return _default_response(header, Status.UNSUP_GENERAL_COMMAND, broadcast)

    def _cluster_command(
        self, served: ClusterServer, frame: ZclFrame, source: Destination, broadcast: bool
    ) -> bytes | None:
        header = frame.header
        entry = served.handlers.get(frame.command_id)
        if entry is None:
            return _default_response(header, Status.UNSUP_CLUSTER_COMMAND, broadcast)
        definition, handler = entry
        try:
            args, rest = definition.schema.deserialize(frame.body)
        except (ValueError, KeyError, TypeError) as exc:
            raise DecodeError(
                f"{definition.name} command", f"its fields ({exc})", frame.body
            ) from None
        if rest:
            raise DecodeError(f"{definition.name} command", "nothing after its fields", rest)
        try:
            response = handler(CommandRequest(source, frame.tsn, definition.name, args, broadcast))
        except ZclStatusError as exc:
            return _default_response(header, exc.status, broadcast)
        if response is None:
            if header.frame_control.disable_default_response:
                return None
            return _default_response(header, Status.SUCCESS, broadcast)
        return self.command_frame(
            served.cluster_id, response, tsn=frame.tsn, disable_default_response=True
        )

    def command_frame(
        self,
        cluster_id: int,
        command: ClusterResponse,
        *,
        tsn: int | None = None,
        disable_default_response: bool = False,
    ) -> bytes:
        """A server-to-client cluster command (e.g. PublishPrice), built from the declaration."""
        cluster = self._clusters[cluster_id].cluster
        definition = cluster.commands_by_name[command.name]
        if definition.id not in cluster.client_commands:
            raise ValueError(f"{command.name} is not a command the {cluster.name} server sends")
        header = cluster_command_header(
            self.next_tsn() if tsn is None else tsn,
            definition.id,
            to_server=False,
            disable_default_response=disable_default_response,
        )
        return bytes(header.serialize() + definition.schema(**command.fields).serialize())

    def due_reports(self, now_s: float) -> list[tuple[Destination, int, bytes]]:
        """Report Attributes frames due now, each with its destination and cluster."""
        frames: list[tuple[Destination, int, bytes]] = []
        for due in self.reporting.due(now_s, self._read_for_report):
            frames.extend(
                (due.destination, due.cluster_id, payload) for payload in self._report_frames(due)
            )
        return frames

    def _read_for_report(self, cluster_id: int, attribute_id: int) -> Any:
        served = self._clusters.get(cluster_id)
        if served is None or attribute_id not in served.bindings:
            return None
        return served.value(attribute_id)

    def _report_frames(self, due: DueReport) -> list[bytes]:
        served = self._clusters[due.cluster_id]
        reports = [
            foundation.Attribute(attribute_id(a), served.type_value(a)) for a in due.attribute_ids
        ]
        frames: list[bytes] = []
        while reports:
            header = foundation.ZCLHeader.general(
                self.next_tsn(),
                GeneralCommand.Report_Attributes,
                direction=foundation.Direction.Server_to_Client,
            )
            set_disable_default_response(header, True)
            head = header.serialize()
            chunk: list[Any] = []
            size = len(head)
            while reports and (not chunk or size + len(reports[0].serialize()) <= MAX_ZCL_PAYLOAD):
                size += len(reports[0].serialize())
                chunk.append(reports.pop(0))
            body = foundation.GENERAL_COMMANDS[GeneralCommand.Report_Attributes].schema(
                attribute_reports=chunk
            )
            frames.append(bytes(head + body.serialize()))
        return frames


_RECORD_COMMANDS = frozenset(
    {
        GeneralCommand.Read_Attributes,
        GeneralCommand.Write_Attributes,
        GeneralCommand.Write_Attributes_Undivided,
        GeneralCommand.Write_Attributes_No_Response,
        GeneralCommand.Configure_Reporting,
        GeneralCommand.Read_Reporting_Configuration,
    }
)


def _parse(command: GeneralCommand, body: bytes) -> Any:
    """A global command's payload, by zigpy's schema for it; DecodeError if malformed."""
    definition = foundation.GENERAL_COMMANDS[command]
    if command == GeneralCommand.Read_Attributes and len(body) % 2:
        raise DecodeError("Read Attributes payload", "one or more 16-bit attribute ids", body)
    if not body and command in _RECORD_COMMANDS:
        # An answer to no records would be an empty list, which ZCL cannot carry.
        raise DecodeError(f"{definition.name} payload", "one or more records", body)
    try:
        parsed, rest = definition.schema.deserialize(body)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DecodeError(f"{definition.name} payload", f"its records ({exc})", body) from None
    if rest:
        raise DecodeError(f"{definition.name} payload", "nothing after its records", rest)
    return parsed


def _response(request: foundation.ZCLHeader, command: GeneralCommand, **fields: Any) -> bytes:
    head = response_header(request, command).serialize()
    body = foundation.GENERAL_COMMANDS[command].schema(**fields).serialize()
    return bytes(head + body)


def _read_attributes(
    served: ClusterServer, header: foundation.ZCLHeader, attribute_ids: Iterable[int]
) -> bytes:
    head = response_header(header, GeneralCommand.Read_Attributes_rsp).serialize()
    records: list[foundation.ReadAttributeRecord] = []
    size = len(head)
    for requested in attribute_ids:
        record = served.read_record(int(requested))
        length = len(record.serialize())
        if size + length > MAX_ZCL_PAYLOAD:
            break  # 2.5.2.3: only the records that fit; the client reads the rest again
        records.append(record)
        size += length
    body = foundation.GENERAL_COMMANDS[GeneralCommand.Read_Attributes_rsp].schema(
        status_records=records
    )
    return bytes(head + body.serialize())


def _discover_attributes(
    served: ClusterServer, header: foundation.ZCLHeader, start: int, most: int
) -> bytes:
    ids = sorted(a for a in served.bindings if a >= start)
    shown = ids[:most]
    info = [
        foundation.DiscoverAttributesResponseRecord(attribute_id(a), served.bindings[a][0].zcl_type)
        for a in shown
    ]
    complete = t.Bool.true if len(shown) == len(ids) else t.Bool.false
    return _response(
        header,
        GeneralCommand.Discover_Attributes_rsp,
        discovery_complete=complete,
        attribute_info=info,
    )


def _default_response(
    header: foundation.ZCLHeader, status: foundation.Status, broadcast: bool
) -> bytes | None:
    if broadcast:
        return None  # 2.5.12.2 criterion 1: Default Responses answer unicasts only
    return _response(
        header, GeneralCommand.Default_Response, command_id=header.command_id, status=status
    )

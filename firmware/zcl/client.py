"""The client side of ZCL: requests to a server, their responses, and what servers send unasked.

Requests go out through the firmware's `send` (an APS-acknowledged unicast); a response is
matched to its request by the responder's network address and the ZCL transaction sequence
number (07-5123 2.4.1.2). The client reads, writes and configures reporting of attributes
(2.5.1-2.5.8) and sends cluster commands, parsed and built from the cluster declarations
(`protocol.se`). What a server sends unasked — attribute reports (2.5.11) and server-generated
cluster commands such as PublishPrice — goes to the handlers the firmware registered; a
cluster command nobody handles is answered UNSUP_CLUSTER_COMMAND, as a server would.

Timeouts are radio timeouts, stated in real seconds and waited on the clock port
(`firmware.clock_waits`), never on the host clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from zigpy.zcl import Cluster, foundation

from firmware.clock_waits import wait_on_clock
from hal.ports import Clock
from protocol.errors import DecodeError, RemoteProtocolError, TransientLinkError

from .frame import ZclFrame, attribute_id, cluster_command_header, general_command, response_header

__all__ = ["REPLY_TIMEOUT_REAL_S", "Reporting", "ZclClient", "parse_default_response"]

#: Real seconds to wait for a response once the request was acknowledged at the APS layer.
REPLY_TIMEOUT_REAL_S = 3.0

GeneralCommand = foundation.GeneralCommand
Status = foundation.Status
#: send(destination, cluster id, destination endpoint, payload)
Send = Callable[[int, int, int, bytes], Awaitable[None]]
#: on_report(sender, sender endpoint, {attribute id: value})
ReportHandler = Callable[[int, int, dict[int, Any]], None]
#: on_command(sender, sender endpoint, command name, parsed fields)
CommandHandler = Callable[[int, int, str, Any], None]
Reply = tuple[foundation.ZCLHeader, bytes]


@dataclass(frozen=True)
class Reporting:
    """One attribute's reporting, as a client asks a server for it (Configure Reporting)."""

    attribute_id: int
    data_type: foundation.DataTypeId
    min_interval_s: int
    max_interval_s: int
    reportable_change: int = 0


class ZclClient:
    """Sends ZCL client requests and takes the frames servers send back."""

    def __init__(self, clock: Clock, send: Send) -> None:
        self._clock = clock
        self._send = send
        self._tsn = 0
        self._pending: dict[tuple[int, int], asyncio.Future[Reply]] = {}
        self._report_handlers: dict[int, ReportHandler] = {}
        self._command_handlers: dict[int, tuple[type[Cluster], CommandHandler]] = {}

    def next_tsn(self) -> int:
        self._tsn = (self._tsn + 1) & 0xFF
        return self._tsn

    # -- requests ----------------------------------------------------------------------

    async def read_attributes(
        self, destination: int, endpoint: int, cluster_id: int, attribute_ids: Iterable[int]
    ) -> dict[int, Any]:
        """Read Attributes; id -> value for the records with status SUCCESS.

        Raises TransientLinkError when the request is not delivered or not answered in time,
        RemoteProtocolError when the server answers with a Default Response (e.g.
        UNSUPPORTED_CLUSTER), DecodeError when the response is malformed.
        """
        wanted = [attribute_id(a) for a in attribute_ids]
        values: dict[int, Any] = {}
        while wanted:  # a server answers with the records that fit one frame (ZCL 2.5.2.3)
            body = await self._general(
                destination,
                endpoint,
                cluster_id,
                GeneralCommand.Read_Attributes,
                attribute_ids=wanted,
            )
            records = _read_attributes_records(body)
            answered = {int(record.attrid) for record in records}
            if not answered.intersection(wanted):
                raise DecodeError("Read Attributes Response", "a record asked for", body)
            values.update(_successes(records))
            wanted = [a for a in wanted if a not in answered]
        return values

    async def write_attributes(
        self, destination: int, endpoint: int, cluster: type[Cluster], values: Mapping[str, Any]
    ) -> dict[int, Status]:
        """Write Attributes by declared name; the status of each record the server refused
        (empty when every write succeeded)."""
        records = []
        for name, value in values.items():
            definition = cluster.attributes_by_name[name]
            typed = foundation.TypeValue(type=definition.zcl_type, value=definition.type(value))
            records.append(foundation.Attribute(definition.id, typed))
        body = await self._general(
            destination,
            endpoint,
            cluster.cluster_id,
            GeneralCommand.Write_Attributes,
            attributes=records,
        )
        response = _parse(GeneralCommand.Write_Attributes_rsp, body).status_records
        return {int(r.attrid): r.status for r in response if r.status != Status.SUCCESS}

    async def configure_reporting(
        self, destination: int, endpoint: int, cluster_id: int, reports: Iterable[Reporting]
    ) -> dict[int, Status]:
        """Configure Reporting; the status of each configuration refused (empty if none)."""
        configs = []
        for report in reports:
            config = foundation.AttributeReportingConfig()
            config.direction = foundation.ReportingDirection.SendReports
            config.attrid = attribute_id(report.attribute_id)
            config.datatype = report.data_type
            config.min_interval = report.min_interval_s
            config.max_interval = report.max_interval_s
            config.reportable_change = report.reportable_change
            configs.append(config)
        body = await self._general(
            destination,
            endpoint,
            cluster_id,
            GeneralCommand.Configure_Reporting,
            config_records=configs,
        )
        response = _parse(GeneralCommand.Configure_Reporting_rsp, body).status_records
        return {int(r.attrid or 0): r.status for r in response if r.status != Status.SUCCESS}

    async def command(
        self, destination: int, endpoint: int, cluster: type[Cluster], name: str, **fields: Any
    ) -> tuple[str, Any] | None:
        """Send a cluster command; its response command (name, fields), or None when the server
        answered with Default Response SUCCESS. RemoteProtocolError for any other status."""
        definition = cluster.commands_by_name[name]
        tsn = self.next_tsn()
        header = cluster_command_header(
            tsn, definition.id, to_server=True, disable_default_response=False
        )
        payload = bytes(header.serialize() + definition.schema(**fields).serialize())
        reply_header, body = await self._request(
            destination, endpoint, cluster.cluster_id, tsn, payload
        )
        if reply_header.frame_control.frame_type == foundation.FrameType.GLOBAL_COMMAND:
            status = _default_status(reply_header, body, f"{name} to 0x{destination:04x}")
            return None if status == Status.SUCCESS else _refused(name, destination, status)
        response = cluster.client_commands.get(reply_header.command_id)
        if response is None:
            raise DecodeError(f"answer to {name}", "a command of the cluster", body)
        return response.name, _parse_command(response, body)

    async def _general(
        self,
        destination: int,
        endpoint: int,
        cluster_id: int,
        command: GeneralCommand,
        **fields: Any,
    ) -> bytes:
        tsn = self.next_tsn()
        payload = general_command(tsn, command, **fields)
        reply_header, body = await self._request(destination, endpoint, cluster_id, tsn, payload)
        if reply_header.command_id == GeneralCommand.Default_Response:
            status = _default_status(reply_header, body, command.name)
            raise RemoteProtocolError(
                f"0x{destination:04x} refused {command.name} of cluster 0x{cluster_id:04x}: {status!r}"
            )
        return body

    async def _request(
        self, destination: int, endpoint: int, cluster_id: int, tsn: int, payload: bytes
    ) -> Reply:
        key = (destination, tsn)
        future: asyncio.Future[Reply] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            await self._send(destination, cluster_id, endpoint, payload)
            return await wait_on_clock(
                self._clock, future, REPLY_TIMEOUT_REAL_S * self._clock.scale
            )
        except TimeoutError:
            raise TransientLinkError(
                f"no ZCL response from 0x{destination:04x} (cluster 0x{cluster_id:04x})"
            ) from None
        finally:
            self._pending.pop(key, None)
            future.cancel()

    # -- what servers send -------------------------------------------------------------

    def on_report(self, cluster_id: int, handler: ReportHandler) -> None:
        """Hand the attribute reports of a cluster to `handler`."""
        self._report_handlers[cluster_id] = handler

    def on_command(self, cluster: type[Cluster], handler: CommandHandler) -> None:
        """Hand the commands a cluster's servers send unasked (e.g. PublishPrice) to `handler`."""
        self._command_handlers[int(cluster.cluster_id)] = (cluster, handler)

    def handle(
        self, sender: int, sender_endpoint: int, cluster_id: int, frame: ZclFrame
    ) -> bytes | None:
        """Take a server-to-client frame; the payload to send back, if any.

        Raises DecodeError for a malformed frame (the firmware records it, 18.11.j).
        """
        future = self._pending.get((sender, frame.tsn))
        if future is not None and not future.done():
            future.set_result((frame.header, frame.body))
            return None
        if frame.is_general:
            if frame.command_id == GeneralCommand.Report_Attributes:
                reports = _parse(GeneralCommand.Report_Attributes, frame.body).attribute_reports
                handler = self._report_handlers.get(cluster_id)
                if handler is not None:
                    handler(
                        sender, sender_endpoint, {int(r.attrid): r.value.value for r in reports}
                    )
            return None  # a late or unasked response, or a Default Response: nothing to say
        entry = self._command_handlers.get(cluster_id)
        definition = None if entry is None else entry[0].client_commands.get(frame.command_id)
        if entry is None or definition is None:
            return _default_response(frame, Status.UNSUP_CLUSTER_COMMAND)
        entry[1](sender, sender_endpoint, definition.name, _parse_command(definition, frame.body))
        if frame.header.frame_control.disable_default_response:
            return None
        return _default_response(frame, Status.SUCCESS)


def _default_response(frame: ZclFrame, status: Status) -> bytes:
    head = response_header(frame.header, GeneralCommand.Default_Response)
    body = foundation.GENERAL_COMMANDS[GeneralCommand.Default_Response].schema(
        command_id=frame.command_id, status=status
    )
    return bytes(head.serialize() + body.serialize())


def _parse(command: GeneralCommand, body: bytes) -> Any:
    definition = foundation.GENERAL_COMMANDS[command]
    try:
        parsed, _rest = definition.schema.deserialize(body)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DecodeError(f"{definition.name} payload", f"its records ({exc})", body) from None
    return parsed


def _parse_command(definition: foundation.ZCLCommandDef, body: bytes) -> Any:
    try:
        parsed, _rest = definition.schema.deserialize(body)
    except (ValueError, KeyError, TypeError, IndexError) as exc:
        raise DecodeError(f"{definition.name} command", f"its fields ({exc})", body) from None
    return parsed


def _default_status(header: foundation.ZCLHeader, body: bytes, what: str) -> Status:
    if header.command_id != GeneralCommand.Default_Response:
        raise DecodeError(f"answer to {what}", "a Default Response or the command's response", body)
    status: Status = parse_default_response(body).status
    return status


def _refused(name: str, destination: int, status: Status) -> tuple[str, Any]:
    raise RemoteProtocolError(f"0x{destination:04x} refused {name}: {status!r}")


def parse_read_attributes_response(body: bytes) -> dict[int, Any]:
    """Read Attributes Response records (ZCL 2.5.2) as id -> value, successful records only."""
    return _successes(_read_attributes_records(body))


def _read_attributes_records(body: bytes) -> list[foundation.ReadAttributeRecord]:
    try:
        response, rest = foundation.ReadAttributesResponse.deserialize(body)
    except (ValueError, KeyError) as exc:
        raise DecodeError("Read Attributes Response", f"attribute records ({exc})", body) from None
    if rest:
        raise DecodeError("Read Attributes Response", "nothing after the records", rest)
    return list(response.status_records)


def _successes(records: Iterable[foundation.ReadAttributeRecord]) -> dict[int, Any]:
    return {
        int(record.attrid): record.value.value
        for record in records
        if record.status == Status.SUCCESS and record.value is not None
    }


def parse_default_response(body: bytes) -> Any:
    """Default Response payload (ZCL 2.5.12): the command id it answers and a status."""
    try:
        response, _rest = foundation.DefaultResponse.deserialize(body)
    except (ValueError, KeyError) as exc:
        raise DecodeError("Default Response", f"command id and status ({exc})", body) from None
    return response

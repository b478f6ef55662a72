"""The server's answers to the commands that change it: Write Attributes (ZCL 2.5.3-2.5.6) and
Configure Reporting / Read Reporting Configuration (2.5.7-2.5.10).

Every record is checked against the cluster's declaration (does the attribute exist, may it be
written or reported, is the value of its data type) and against the firmware's own rules (a
setter refuses a value with ValueError). zigpy's response types leave out the records that
succeeded, as the specification asks, so each function returns one record per request record.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from zigpy.zcl import foundation

from .cluster_server import ClusterServer
from .frame import attribute_id as frame_attribute_id
from .reporting import (
    STOP_REPORTING,
    Destination,
    ReportConfig,
    ReportingTable,
    reporting_status_is_analog,
)

__all__ = ["configure_reporting", "read_reporting_configuration", "write_attributes"]

Status = foundation.Status
Access = foundation.ZCLAttributeAccess
SEND_REPORTS = foundation.ReportingDirection.SendReports


def _writable(definition: foundation.ZCLAttributeDef) -> bool:
    return bool(definition.access & (Access.Write | Access.Write_Optional))


def _reportable(definition: foundation.ZCLAttributeDef) -> bool:
    return bool(definition.access & Access.Report)


def _check_write(served: ClusterServer, record: Any) -> tuple[Status, Any]:
    """(status, converted value) for one Write Attributes record."""
    attribute_id = int(record.attrid)
    if attribute_id not in served.bindings:
        return Status.UNSUPPORTED_ATTRIBUTE, None
    definition, binding = served.bindings[attribute_id]
    if binding.write is None or not _writable(definition):
        return Status.READ_ONLY, None
    if int(record.value.type) != int(definition.zcl_type):
        return Status.INVALID_DATA_TYPE, None
    try:
        return Status.SUCCESS, definition.type(record.value.value)
    except (ValueError, TypeError, OverflowError):
        return Status.INVALID_VALUE, None


def write_attributes(
    served: ClusterServer, records: Iterable[Any], *, undivided: bool
) -> list[Any]:
    """Write what may be written; with `undivided`, nothing unless everything may."""
    checked = [(record, *_check_write(served, record)) for record in records]
    if undivided and any(status != Status.SUCCESS for _, status, _ in checked):
        return [
            foundation.WriteAttributesStatusRecord(status, record.attrid)
            for record, status, _ in checked
            if status != Status.SUCCESS
        ]
    results = []
    for record, status, value in checked:
        if status == Status.SUCCESS:
            _definition, binding = served.bindings[int(record.attrid)]
            assert binding.write is not None
            try:
                binding.write(value)
            except ValueError:
                status = Status.INVALID_VALUE
        results.append(foundation.WriteAttributesStatusRecord(status, record.attrid))
    return results


def _check_config(served: ClusterServer, config: Any) -> Status:
    attribute_id = int(config.attrid)
    if config.direction != SEND_REPORTS:
        return Status.INVALID_FIELD  # we are the server: we send reports, we receive none
    if attribute_id not in served.bindings:
        return Status.UNSUPPORTED_ATTRIBUTE
    definition, _binding = served.bindings[attribute_id]
    if not _reportable(definition):
        return Status.UNREPORTABLE_ATTRIBUTE
    if int(config.datatype) != int(definition.zcl_type):
        return Status.INVALID_DATA_TYPE
    stopping = config.max_interval == STOP_REPORTING
    if not stopping and config.max_interval and config.min_interval > config.max_interval:
        return Status.INVALID_VALUE
    return Status.SUCCESS


def configure_reporting(
    served: ClusterServer, configs: Iterable[Any], table: ReportingTable, source: Destination
) -> list[Any]:
    """Apply each configuration that is valid; one status record per configuration."""
    results = []
    for config in configs:
        status = _check_config(served, config)
        if status == Status.SUCCESS:
            analog = reporting_status_is_analog(int(config.datatype))
            table.configure(
                ReportConfig(
                    served.cluster_id,
                    int(config.attrid),
                    source,
                    int(config.min_interval),
                    int(config.max_interval),
                    int(config.reportable_change) if analog else None,
                )
            )
        results.append(
            foundation.ConfigureReportingResponseRecord(status, config.direction, config.attrid)
        )
    return results


def read_reporting_configuration(
    served: ClusterServer, records: Iterable[Any], table: ReportingTable, source: Destination
) -> list[Any]:
    """The configuration `source` set for each attribute asked about."""
    results = []
    for record in records:
        attribute_id = int(record.attrid)
        config = foundation.AttributeReportingConfig()
        config.direction = record.direction
        config.attrid = frame_attribute_id(attribute_id)
        mine = [
            c for c in table.configured(served.cluster_id, attribute_id) if c.destination == source
        ]
        if attribute_id not in served.bindings:
            status = Status.UNSUPPORTED_ATTRIBUTE
        elif not _reportable(served.bindings[attribute_id][0]):
            status = Status.UNREPORTABLE_ATTRIBUTE
        elif not mine or config.direction != SEND_REPORTS:
            status = Status.NOT_FOUND
        else:
            status = Status.SUCCESS
            config.datatype = served.bindings[attribute_id][0].zcl_type
            config.min_interval = mine[0].min_interval_s
            config.max_interval = mine[0].max_interval_s
            config.reportable_change = mine[0].reportable_change or 0
        results.append(foundation.AttributeReportingConfigWithStatus(status=status, config=config))
    return results

"""Attribute reporting on the server side (ZCL 2.5.7-2.5.11): who asked for which attribute,
how often, and which reports are due now.

A client configures reporting with Configure Reporting; the report then goes to that client
(the node and endpoint the configuration came from: our devices keep no binding table, and the
configuring client is who SE 1.x reporting serves, e.g. an IHD asking a meter for demand). A
report is due when the attribute changed by at least its reportable change (any change, for a
discrete type) and the minimum interval has passed, or when the maximum interval has passed
whatever the value. A maximum interval of 0xFFFF stops reporting of that attribute. A report
that goes to a client carries along the client's other attributes of that cluster whose minimum
interval has passed (a report within the intervals is always allowed): their timers restart
together, so an idle meter sends its IHD one heartbeat frame per maximum interval, not one per
attribute drifting apart.

Configurations are kept in the component's non-volatile store, so a meter that restarts goes on
reporting to the IHD that asked, without being asked again. Time is the clock port's monotonic
seconds, handed in: this module never reads a clock.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zigpy.zcl import foundation

from hal.ports import NonVolatileStore

__all__ = ["STOP_REPORTING", "Destination", "DueReport", "ReportConfig", "ReportingTable"]

#: Maximum reporting interval meaning "do not report this attribute" (ZCL 2.5.7.1.6).
STOP_REPORTING = 0xFFFF
_NAMESPACE = "zcl_reporting"
_DATA_TYPES = {int(kind): kind for kind in foundation.DataTypeId}

#: (NWK address, endpoint) of the client that configured a report.
Destination = tuple[int, int]


@dataclass(frozen=True)
class ReportConfig:
    """One attribute's reporting, as configured by one client."""

    cluster_id: int
    attribute_id: int
    destination: Destination
    min_interval_s: int
    max_interval_s: int
    #: Smallest change that is reported before the maximum interval (analog types); None:
    #: any change (discrete types).
    reportable_change: int | None

    def to_json(self) -> dict[str, Any]:
        return {
            "cluster": self.cluster_id,
            "attribute": self.attribute_id,
            "nwk": self.destination[0],
            "endpoint": self.destination[1],
            "min": self.min_interval_s,
            "max": self.max_interval_s,
            "change": self.reportable_change,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> ReportConfig:
        return cls(
            int(obj["cluster"]),
            int(obj["attribute"]),
            (int(obj["nwk"]), int(obj["endpoint"])),
            int(obj["min"]),
            int(obj["max"]),
            None if obj["change"] is None else int(obj["change"]),
        )


@dataclass
class _Sent:
    value: Any
    at: float


@dataclass(frozen=True)
class DueReport:
    """Attributes of one cluster to report to one destination now."""

    cluster_id: int
    destination: Destination
    attribute_ids: tuple[int, ...]


@dataclass
class ReportingTable:
    """The reporting configurations of a component's server clusters."""

    store: NonVolatileStore | None = None
    _configs: dict[tuple[int, int, Destination], ReportConfig] = field(default_factory=dict)
    _sent: dict[tuple[int, int, Destination], _Sent] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.store is not None:
            for obj in self.store.items(_NAMESPACE).values():
                config = ReportConfig.from_json(obj)
                self._configs[self._key(config)] = config

    @staticmethod
    def _key(config: ReportConfig) -> tuple[int, int, Destination]:
        return config.cluster_id, config.attribute_id, config.destination

    def configure(self, config: ReportConfig) -> None:
        """Add, change or (with a maximum interval of 0xFFFF) remove a configuration."""
        key = self._key(config)
        self._sent.pop(key, None)
        stored = f"{config.cluster_id}:{config.attribute_id}:{config.destination[0]}:{config.destination[1]}"
        if config.max_interval_s == STOP_REPORTING:
            self._configs.pop(key, None)
            if self.store is not None:
                self.store.delete(_NAMESPACE, stored)
            return
        self._configs[key] = config
        if self.store is not None:
            self.store.put(_NAMESPACE, stored, config.to_json())

    def configured(self, cluster_id: int, attribute_id: int) -> list[ReportConfig]:
        return [
            c
            for c in self._configs.values()
            if (c.cluster_id, c.attribute_id) == (cluster_id, attribute_id)
        ]

    def __len__(self) -> int:
        return len(self._configs)

    def due(self, now_s: float, read: Callable[[int, int], Any]) -> list[DueReport]:
        """Reports to send at `now_s` (monotonic seconds); `read(cluster, attribute)` gives
        the current value. Marks them sent: the caller sends every one it is given."""
        values = {key: read(c.cluster_id, c.attribute_id) for key, c in self._configs.items()}
        due = {
            key
            for key, config in self._configs.items()
            if self._is_due(config, self._sent.get(key), values[key], now_s)
        }
        frames = {(self._configs[key].cluster_id, self._configs[key].destination) for key in due}
        grouped: dict[tuple[int, Destination], list[int]] = {}
        for key, config in self._configs.items():
            frame = (config.cluster_id, config.destination)
            # A frame that goes anyway also carries the destination's other attributes of that
            # cluster whose minimum interval has passed: their timers restart together, so an
            # idle client gets one heartbeat per maximum interval, not one per attribute.
            if frame not in frames or (
                key not in due and not self._min_passed(config, self._sent.get(key), now_s)
            ):
                continue
            self._sent[key] = _Sent(values[key], now_s)
            grouped.setdefault(frame, []).append(config.attribute_id)
        return [
            DueReport(cluster, destination, tuple(ids))
            for (cluster, destination), ids in grouped.items()
        ]

    @staticmethod
    def _min_passed(config: ReportConfig, last: _Sent | None, now_s: float) -> bool:
        """Whether the attribute may be reported again: its minimum interval has passed."""
        return last is None or now_s - last.at >= config.min_interval_s

    @classmethod
    def _is_due(cls, config: ReportConfig, last: _Sent | None, value: Any, now_s: float) -> bool:
        if last is None:
            return True  # the first report goes at once, so the client starts from a value
        if config.max_interval_s and now_s - last.at >= config.max_interval_s:
            return True
        if not cls._min_passed(config, last, now_s):
            return False
        if config.reportable_change is None:
            return bool(value != last.value)
        return abs(int(value) - int(last.value)) >= max(1, config.reportable_change)


def reporting_status_is_analog(type_id: int) -> bool:
    """True when a ZCL data type is analog, so its reportable change is a number."""
    try:
        kind = foundation.DataType.from_type_id(_DATA_TYPES[type_id])
        return kind.type_class is foundation.DataClass.Analog
    except (KeyError, ValueError):
        return False

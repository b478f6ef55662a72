"""One cluster a component serves: its declaration, the firmware's attribute bindings and its
command handlers, and the types a handler sees (`CommandRequest`) and returns."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from zigpy.zcl import Cluster, foundation

from .frame import attribute_id
from .reporting import Destination

__all__ = [
    "AttributeBinding",
    "ClusterResponse",
    "ClusterServer",
    "CommandHandler",
    "CommandRequest",
    "ZclStatusError",
]

Status = foundation.Status


class ZclStatusError(Exception):
    """A command handler's refusal, answered with a Default Response carrying `status`."""

    def __init__(self, status: foundation.Status, reason: str = "") -> None:
        super().__init__(reason or status.name)
        self.status = status


@dataclass(frozen=True)
class AttributeBinding:
    """Where an attribute's value lives in the firmware: `read` returns it as a plain value,
    `write` (when the device lets clients write it) takes the new one or raises ValueError."""

    read: Callable[[], Any]
    write: Callable[[Any], None] | None = None


@dataclass(frozen=True)
class CommandRequest:
    """A cluster command received, as the firmware's handler sees it."""

    source: Destination
    tsn: int
    name: str
    args: Any
    broadcast: bool


@dataclass(frozen=True)
class ClusterResponse:
    """A command the server sends back (a name of the declaration's client commands)."""

    name: str
    fields: Mapping[str, Any] = field(default_factory=dict)


CommandHandler = Callable[[CommandRequest], ClusterResponse | None]


class ClusterServer:
    """One served cluster: its declaration, its attribute bindings and command handlers."""

    def __init__(
        self,
        cluster: type[Cluster],
        attributes: Mapping[str, AttributeBinding],
        commands: Mapping[str, CommandHandler] | None = None,
    ) -> None:
        self.cluster = cluster
        self.cluster_id = int(cluster.cluster_id)
        self.bindings: dict[int, tuple[foundation.ZCLAttributeDef, AttributeBinding]] = {}
        for name, binding in attributes.items():
            definition = cluster.attributes_by_name[name]
            self.bindings[int(definition.id)] = (definition, binding)
        self.handlers: dict[int, tuple[foundation.ZCLCommandDef, CommandHandler]] = {}
        for name, handler in (commands or {}).items():
            command = cluster.commands_by_name[name]
            self.handlers[int(command.id)] = (command, handler)

    def value(self, attribute_id: int) -> Any:
        """The current value of a served attribute, as its declared zigpy type."""
        definition, binding = self.bindings[attribute_id]
        return definition.type(binding.read())

    def type_value(self, attribute_id: int) -> foundation.TypeValue:
        definition, _binding = self.bindings[attribute_id]
        return foundation.TypeValue(type=definition.zcl_type, value=self.value(attribute_id))

    def values(self, only: Iterable[str] | None = None) -> dict[str, Any]:
        """Every served attribute (or `only` those served of these) by its declared name, for
        the bench port and displays."""
        if only is None:
            return {
                definition.name: self.value(attr_id)
                for attr_id, (definition, _) in self.bindings.items()
            }
        ids = (self.cluster.attributes_by_name.get(name) for name in only)
        return {
            d.name: self.value(int(d.id))
            for d in ids
            if d is not None and int(d.id) in self.bindings
        }

    def read_record(self, attr: int) -> foundation.ReadAttributeRecord:
        if attr not in self.bindings:
            return foundation.ReadAttributeRecord(attribute_id(attr), Status.UNSUPPORTED_ATTRIBUTE)
        try:
            value = self.type_value(attr)
        except (ValueError, TypeError, OverflowError):
            return foundation.ReadAttributeRecord(attribute_id(attr), Status.FAILURE)
        return foundation.ReadAttributeRecord(attribute_id(attr), Status.SUCCESS, value)

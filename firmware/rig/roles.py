"""`[roles]` of a rig file and each device's `supplier`: who may read and command what over the
WAN (6.1.4, 12.6; README "WAN security").

    [roles]
    suppliers = ["alpha", "beta"]   # default ["supplier"]: one supplier owns every device
    network_operator = "operator"   # manages the hub (default "operator")
    wan_sealed = true               # every WAN payload signed and encrypted (default true)

    [[device]]
    supplier = "beta"               # default: the first supplier

`wan_sealed = false` runs the WAN in plain JSON, as before this layer existed: only for
benchmarks that compare the two paths.
"""

from __future__ import annotations

import dataclasses
import re

from protocol.errors import ConfigError

from .section import Section

__all__ = ["DEFAULT_OPERATOR", "DEFAULT_SUPPLIER", "Roles", "device_supplier", "parse_roles"]

DEFAULT_SUPPLIER = "supplier"
DEFAULT_OPERATOR = "operator"
_ROLE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,31}")


@dataclasses.dataclass(frozen=True)
class Roles:
    """The suppliers and the network operator the rig declares."""

    suppliers: tuple[str, ...] = (DEFAULT_SUPPLIER,)
    network_operator: str = DEFAULT_OPERATOR
    wan_sealed: bool = True


def _role_name(section: Section, key: str, name: object) -> str:
    if not isinstance(name, str) or not _ROLE_NAME.fullmatch(name):
        raise section.error(key, f"{name!r} must be 1-32 letters, digits, '.', '_' or '-'")
    return name


def parse_roles(section: Section) -> Roles:
    suppliers = section.get("suppliers", list, [DEFAULT_SUPPLIER])
    names = tuple(_role_name(section, "suppliers", name) for name in suppliers)
    if not names or len(set(names)) != len(names):
        raise section.error("suppliers", "list at least one supplier, each once")
    operator = _role_name(
        section, "network_operator", section.get("network_operator", str, DEFAULT_OPERATOR)
    )
    if operator in names:
        raise section.error("network_operator", f"{operator!r} is also a supplier")
    return Roles(names, operator, section.get("wan_sealed", bool, True))


def device_supplier(section: Section, roles: Roles) -> str:
    """A device's `supplier`: one of `roles.suppliers`, the first by default."""
    name = section.get("supplier", str, roles.suppliers[0])
    if name not in roles.suppliers:
        raise ConfigError(
            f"{section.path}: [{section.where}] supplier: {name!r} is not declared in "
            f"[roles] suppliers {list(roles.suppliers)}"
        )
    return name

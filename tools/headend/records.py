"""Who owns what the head-end records: the supplier of each device (clause 6.1.4).

The supplier of a device is the inventory's (the secure-WAN work names suppliers per device);
until the inventory says, records carry None.
"""

from __future__ import annotations

from tools.headend.inventory import Device

__all__ = ["supplier_name", "supplier_of"]


def supplier_of(device: Device) -> str | None:
    """The supplier that owns `device`'s commands and data, None if the inventory names none."""
    supplier = getattr(device, "supplier", None)  # a field of Device once suppliers exist
    return supplier if isinstance(supplier, str) and supplier else None


def supplier_name(party: str) -> str | None:
    """The supplier a WAN party id stands for (`supplier:alpha` -> alpha); None for the network
    operator, a hub or a device (protocol.wan_security names the parties)."""
    role, _, name = party.partition(":")
    return name if role == "supplier" and name else None

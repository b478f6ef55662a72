"""Who is who on a rig's WAN: the party id of each supplier, the network operator, the hub and
each device (`protocol.wan_security`), and which keys each end holds (README "WAN security").

Trust model: the hub acts as itself and, as their WAN proxy, as each of its devices (their
private keys are in the hub's key files), and trusts the keys of the rig's suppliers and
network operator; the head-end acts as every supplier and the operator (one simulator for all
of them, each with its own keys) and trusts the hub's and the devices' keys.
"""

from __future__ import annotations

from protocol.wan_security import device_party, hub_party, operator_party, supplier_party

from .rig import Rig

__all__ = ["all_parties", "headend_parties", "hub_parties", "operator_of", "suppliers_of"]


def suppliers_of(rig: Rig) -> dict[str, str]:
    """Supplier name -> its party id."""
    return {name: supplier_party(name) for name in rig.roles.suppliers}


def operator_of(rig: Rig) -> str:
    return operator_party(rig.roles.network_operator)


def _hub_side(rig: Rig) -> list[str]:
    wan_id = rig.hub.wan_id
    return [hub_party(wan_id), *(device_party(wan_id, name) for name in rig.devices)]


def _headend_side(rig: Rig) -> list[str]:
    return [*suppliers_of(rig).values(), operator_of(rig)]


def hub_parties(rig: Rig) -> tuple[list[str], list[str]]:
    """(parties the hub acts as, parties it accepts messages from)."""
    return _hub_side(rig), _headend_side(rig)


def headend_parties(rig: Rig) -> tuple[list[str], list[str]]:
    """(parties the head-end acts as, parties it accepts messages from)."""
    return _headend_side(rig), _hub_side(rig)


def all_parties(rig: Rig) -> list[str]:
    return [*_headend_side(rig), *_hub_side(rig)]

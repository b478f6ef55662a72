"""The Smart Energy clusters, declared once on zigpy's ZCL framework (ZigBee SE 1.4).

zigpy 2.4 fully defines only Metering; Price, DRLC, Messaging, Tunneling, Prepayment, Device
Management, Events and Key Establishment are empty stubs there. Each class here subclasses
`zigpy.zcl.Cluster` without `_skip_registry`, so defining it replaces zigpy's entry in
`Cluster._registry` for its cluster id: once `protocol.se` is imported, a zigpy stack (the
hub's) parses and builds these clusters with our definitions. Import the clusters from here.

One module per cluster; Price and Prepayment keep their attributes and field types apart.
Calendar (0x0707), Energy Management (0x0706), MDU Pairing (0x070A) and Sub-GHz (0x070B) are
not used by the GB meters and stay zigpy's stubs.
"""

from __future__ import annotations

from .device_management import DeviceManagement
from .drlc import DemandResponseLoadControl
from .events import Events
from .key_establishment import KeyEstablishment
from .messaging import Messaging
from .metering import Metering
from .prepayment import Prepayment
from .price import Price
from .time import Time
from .tunneling import Tunneling

#: Every cluster declared (or, for Time, re-exported) here, by cluster id.
SE_CLUSTERS = {
    cluster.cluster_id: cluster
    for cluster in (
        Time,
        Price,
        DemandResponseLoadControl,
        Metering,
        Messaging,
        Tunneling,
        Prepayment,
        DeviceManagement,
        Events,
        KeyEstablishment,
    )
}

__all__ = [
    "SE_CLUSTERS",
    "DemandResponseLoadControl",
    "DeviceManagement",
    "Events",
    "KeyEstablishment",
    "Messaging",
    "Metering",
    "Prepayment",
    "Price",
    "Time",
    "Tunneling",
]

"""The numbers ZigBee and Smart Energy give to profiles, clusters, devices and addresses.

One definition of each, imported by every layer (the emulated NCP, the hub, the devices and the
tools), so that a number on the air always means the same thing to every component. Cluster ids
of the clusters we declare come from their declarations (`protocol.se`); the ones here are those
that code needs before or without a declaration (routing, security policy, endpoint tables).
"""

from __future__ import annotations

import enum

__all__ = [
    "BROADCAST_ENDPOINT",
    "BROADCAST_RX_ON_WHEN_IDLE",
    "HA_PROFILE",
    "SE_PROFILE",
    "ZDO_ENDPOINT",
    "ZDO_PROFILE",
    "ClusterId",
    "SeDeviceId",
]

#: ZigBee Device Objects live on endpoint 0 under profile 0x0000 (ZigBee spec 2.5).
ZDO_PROFILE = 0x0000
ZDO_ENDPOINT = 0
#: Home Automation: zigpy's ZCL layer decodes frames of this profile only (DESIGN.md §8).
HA_PROFILE = 0x0104
#: ZigBee Smart Energy (SE 1.x, 05-3474).
SE_PROFILE = 0x0109

#: APS destination endpoint 0xFF: every active endpoint of the node (ZigBee spec 2.2.4.1.1).
BROADCAST_ENDPOINT = 0xFF
#: NWK broadcast to every node whose receiver is on when idle (routers, mains-powered devices).
BROADCAST_RX_ON_WHEN_IDLE = 0xFFFD


class ClusterId(enum.IntEnum):
    """Cluster identifiers (ZCL 07-5123 and SE 1.x annex D) the system uses."""

    BASIC = 0x0000
    TIME = 0x000A
    OTA_UPGRADE = 0x0019
    PRICE = 0x0700
    DRLC = 0x0701
    METERING = 0x0702
    MESSAGING = 0x0703
    TUNNELING = 0x0704
    PREPAYMENT = 0x0705
    ENERGY_MANAGEMENT = 0x0706
    CALENDAR = 0x0707
    DEVICE_MANAGEMENT = 0x0708
    EVENTS = 0x0709
    MDU_PAIRING = 0x070A
    SUB_GHZ = 0x070B
    KEY_ESTABLISHMENT = 0x0800


class SeDeviceId(enum.IntEnum):
    """Smart Energy device identifiers of a simple descriptor (SE 1.x table 5-14)."""

    ENERGY_SERVICE_INTERFACE = 0x0500
    METERING_DEVICE = 0x0501
    IN_PREMISE_DISPLAY = 0x0502

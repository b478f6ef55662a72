"""Which Smart Energy frames must travel APS-encrypted with a link key (clauses 17.2.1, 17.2.3).

This is the emulated firmware's policy, in one place: the emulated NCP applies it to every
unicast it sends and receives (whatever the host asked), and a device host asks a real dongle for
the same by setting APS_OPTION_ENCRYPTION (`hal.ezsp_node`).

SE 1.x (5.4.6, "Application-level security") has the Smart Energy application clusters use APS
security with link keys. We take that range whole, 0x0700 to 0x070B: they carry money, tariffs,
consumption and commands (Price, DRLC, Metering, Messaging, Tunneling, Prepayment, Energy
Management, Calendar, Device Management, Events, MDU Pairing, Sub-GHz). Key Establishment
(0x0800) is never APS-encrypted: it is how a link key is agreed in the first place. Foundation
clusters (Basic, Identify, Time, ...) and ZDO stay protected by the network key only, as zigpy's
interview and the SE time service expect.

Only unicasts are covered: a link key is shared by two nodes, so a broadcast can be protected by
the network key alone (ZigBee spec 4.4.1.1).
"""

from __future__ import annotations

SE_PROFILE = 0x0109
KEY_ESTABLISHMENT_CLUSTER = 0x0800

#: Smart Energy clusters that must be APS-encrypted: Price 0x0700 to Sub-GHz 0x070B.
APS_ENCRYPTED_SE_CLUSTERS: frozenset[int] = frozenset(range(0x0700, 0x070C))


def needs_aps_encryption(profile_id: int, cluster_id: int) -> bool:
    """True for a Smart Energy profile frame of a cluster the policy keeps under a link key."""
    return profile_id == SE_PROFILE and cluster_id in APS_ENCRYPTED_SE_CLUSTERS

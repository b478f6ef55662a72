"""Which Smart Energy frames must travel APS-encrypted with a link key (clauses 17.2.1, 17.2.3).

This is the emulated firmware's policy, in one place: the emulated NCP applies it to every
unicast it sends and receives (whatever the host asked), and a device host asks a real dongle for
the same by setting APS_OPTION_ENCRYPTION (`hal.ezsp_node`).

It follows the table of SE 1.x section 5.4.6, "Cluster Usage of Security Keys" (ZigBee Smart
Energy Standard 07-5356, table "Security Key Assignments per Cluster"), which gives each cluster
an SE device uses either the network key or an application link key:

- application link key: Time (0x000A), Commissioning (0x0015), OTA Upgrade (0x0019), Generic
  Tunnel (0x0600), and the Smart Energy clusters Price (0x0700), Demand Response and Load
  Control (0x0701), Metering (0x0702), Messaging (0x0703), Tunneling (0x0704), Prepayment
  (0x0705), Energy Management (0x0706), Calendar (0x0707), Device Management (0x0708), Events
  (0x0709), MDU Pairing (0x070A) and Sub-GHz (0x070B);
- network key only: every other cluster, in particular Basic, Identify, Alarms, Power
  Configuration and Key Establishment (0x0800), which is how a link key is agreed in the first
  place and so cannot need one.

The specification's text is not public; the table is as transcribed, clause cited, in Silicon
Labs' EmberZNet application framework ("This list comes from Section 5.4.6 of the SE spec",
`emberAfDetermineIfLinkSecurityIsRequired`), and Atmel BitCloud declares the same clusters with
ZCL_APPLICATION_LINK_KEY_CLUSTER_SECURITY. Besides the table, the Trust Center Keep-Alive
procedure (SE 1.2, 5.4.2.2.3) has the keep-alive read of the Keep-Alive cluster (0x0025) and its
answer APS-encrypted with the trust centre link key, so that cluster is here too (zigpy's
KeepAlive cluster sets `aps_encryption` for the same reason).

The table's one exception, a broadcast OTA Image Notify under the network key, is covered by the
rule below: only unicasts are in scope, because a link key is shared by two nodes and a
broadcast can only be protected by the network key (ZigBee spec 4.4.1.1).
"""

from __future__ import annotations

from protocol.zigbee_ids import SE_PROFILE

#: Clusters that SE 1.x 5.4.6 assigns the application link key, and the Keep-Alive cluster.
APS_ENCRYPTED_SE_CLUSTERS: frozenset[int] = frozenset(
    {
        0x000A,  # Time
        0x0015,  # Commissioning
        0x0019,  # OTA Upgrade
        0x0025,  # Keep-Alive (Trust Center Keep-Alive procedure, SE 1.2 5.4.2.2.3)
        0x0600,  # Generic Tunnel
        *range(0x0700, 0x070C),  # Price .. Sub-GHz
    }
)


def needs_aps_encryption(profile_id: int, cluster_id: int) -> bool:
    """True for a Smart Energy profile frame of a cluster the policy keeps under a link key."""
    return profile_id == SE_PROFILE and cluster_id in APS_ENCRYPTED_SE_CLUSTERS

"""The APS security policy against the SE 1.x 5.4.6 table, cluster by cluster."""

from __future__ import annotations

import pytest

from protocol.se import SE_CLUSTERS
from protocol.se_aps_policy import APS_ENCRYPTED_SE_CLUSTERS, needs_aps_encryption
from protocol.zigbee_ids import SE_PROFILE, ClusterId

# "Security Key Assignments per Cluster" (SE 1.x 5.4.6), plus the Trust Center Keep-Alive.
APPLICATION_LINK_KEY = {
    0x000A: "Time",
    0x0015: "Commissioning",
    0x0019: "OTA Upgrade",
    0x0025: "Keep-Alive (SE 1.2 5.4.2.2.3: the keep-alive read is APS-encrypted)",
    0x0600: "Generic Tunnel",
    0x0700: "Price",
    0x0701: "Demand Response and Load Control",
    0x0702: "Metering",
    0x0703: "Messaging",
    0x0704: "Tunneling",
    0x0705: "Prepayment",
    0x0706: "Energy Management",
    0x0707: "Calendar",
    0x0708: "Device Management",
    0x0709: "Events",
    0x070A: "MDU Pairing",
    0x070B: "Sub-GHz",
}
NETWORK_KEY = {
    0x0000: "Basic",
    0x0001: "Power Configuration",
    0x0003: "Identify",
    0x0009: "Alarms",
    0x0020: "Poll Control",
    0x0201: "Thermostat",
    0x0202: "Fan Control",
    0x0402: "Temperature Measurement",
    0x0406: "Occupancy Sensing",
    0x0800: "Key Establishment (it is how the link key is agreed)",
}


@pytest.mark.parametrize("cluster", sorted(APPLICATION_LINK_KEY), ids=APPLICATION_LINK_KEY.get)
def test_application_link_key_clusters_need_aps_encryption(cluster: int) -> None:
    assert needs_aps_encryption(SE_PROFILE, cluster)


@pytest.mark.parametrize("cluster", sorted(NETWORK_KEY), ids=NETWORK_KEY.get)
def test_network_key_clusters_do_not(cluster: int) -> None:
    assert not needs_aps_encryption(SE_PROFILE, cluster)


def test_the_table_is_the_whole_policy() -> None:
    assert set(APS_ENCRYPTED_SE_CLUSTERS) == set(APPLICATION_LINK_KEY)
    assert ClusterId.KEY_ESTABLISHMENT not in APS_ENCRYPTED_SE_CLUSTERS


def test_every_cluster_we_define_but_key_establishment_needs_the_link_key() -> None:
    assert {cid for cid in SE_CLUSTERS if not needs_aps_encryption(SE_PROFILE, cid)} == {0x0800}


@pytest.mark.parametrize("profile", [0x0104, 0xC05E, 0x0000])
def test_other_profiles_are_not_ours_to_rule(profile: int) -> None:
    assert not any(needs_aps_encryption(profile, cluster) for cluster in APPLICATION_LINK_KEY)

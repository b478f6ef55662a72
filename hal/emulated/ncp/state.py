"""What an emulated NCP remembers: its identity, configuration and network membership.

This is the emulated equivalent of the EmberZNet tokens and RAM tables that the EZSP commands
read and write. It holds no behaviour; the ZigBee stack and the EZSP handlers act on it.
"""

from __future__ import annotations

import dataclasses
import enum

import bellows.types as t


class NetworkRole(enum.IntEnum):
    """EmberNodeType values the emulation supports."""

    COORDINATOR = 1
    ROUTER = 2
    END_DEVICE = 3
    SLEEPY_END_DEVICE = 4


@dataclasses.dataclass
class Endpoint:
    """One application endpoint registered with `addEndpoint` (its ZDO simple descriptor)."""

    endpoint: int
    profile_id: int
    device_id: int
    device_version: int
    input_clusters: list[int]
    output_clusters: list[int]
    #: EzspEndpointFlags (VALUE_ENDPOINT_FLAGS): bit 0 set = enabled, as addEndpoint leaves it.
    flags: int = 0x0001


@dataclasses.dataclass
class LinkKeyEntry:
    """An entry of the NCP's key table (or its transient-key table, for joiners)."""

    eui64: int
    key: bytes
    outgoing_frame_counter: int = 0
    incoming_frame_counter: int = 0


@dataclasses.dataclass
class Neighbour:
    """A node this NCP has heard or admitted: child table / address table."""

    eui64: int
    nwk: int
    role: NetworkRole
    lqi: int = 0
    rssi: int = 0


@dataclasses.dataclass
class NcpState:
    eui64: int
    #: EzspConfigId name -> value, as read by getConfigurationValue.
    config: dict[str, int] = dataclasses.field(default_factory=dict)
    #: EzspPolicyId name -> decision id.
    policies: dict[str, int] = dataclasses.field(default_factory=dict)
    #: EzspValueId name -> value bytes, for the values a host sets and reads back (setValue).
    values: dict[str, bytes] = dataclasses.field(default_factory=dict)
    endpoints: dict[int, Endpoint] = dataclasses.field(default_factory=dict)
    manufacturer_code: int = 0x1002
    radio_power: int = 8

    # Network membership (None when not joined / formed).
    network_status: t.EmberNetworkStatus = t.EmberNetworkStatus.NO_NETWORK
    role: NetworkRole | None = None
    node_id: int = 0xFFFE
    pan_id: int = 0xFFFF
    extended_pan_id: int = 0
    channel: int = 11
    nwk_update_id: int = 0
    parent_id: int = 0xFFFF
    trust_center_eui64: int = 0

    # Security (setInitialSecurityState).
    security_bitmask: int = 0
    preconfigured_key: bytes = bytes(16)
    network_key: bytes | None = None
    network_key_seq: int = 0
    nwk_frame_counter: int = 0
    aps_frame_counter: int = 0
    transient_keys: dict[int, LinkKeyEntry] = dataclasses.field(default_factory=dict)
    key_table: list[LinkKeyEntry] = dataclasses.field(default_factory=list)
    #: Highest NWK frame counter accepted per sender EUI-64 (nwkSecurityMaterialSet's
    #: IncomingFrameCounterSet, ZigBee spec 4.3.1.2): a frame not above it is a replay.
    incoming_nwk_counters: dict[int, int] = dataclasses.field(default_factory=dict)

    #: Multicast table (setMulticastTableEntry): index -> (multicast id, endpoint).
    multicast_table: dict[int, tuple[int, int]] = dataclasses.field(default_factory=dict)
    #: EUI-64s of end devices given the extended (longer) delivery timeout.
    extended_timeout: set[int] = dataclasses.field(default_factory=set)
    #: Address table: index -> (EUI-64, node id); 0xFFFF node id means "unknown".
    address_table: dict[int, tuple[int, int]] = dataclasses.field(default_factory=dict)
    children: dict[int, Neighbour] = dataclasses.field(default_factory=dict)
    neighbours: dict[int, Neighbour] = dataclasses.field(default_factory=dict)
    #: Until when joining is permitted, on the stack timer's clock (`timer.Timer.monotonic`).
    permit_join_until: float = 0.0

    @property
    def joined(self) -> bool:
        return bool(self.network_status == t.EmberNetworkStatus.JOINED_NETWORK)

    def eui64_of(self, nwk: int) -> int | None:
        for table in (self.children, self.neighbours):
            for entry in table.values():
                if entry.nwk == nwk:
                    return entry.eui64
        return None

    def nwk_of(self, eui64: int) -> int | None:
        entry = self.children.get(eui64) or self.neighbours.get(eui64)
        return entry.nwk if entry else None

"""The on-demand read of a meter over the HAN (clauses 6.1.3 pull, 6.1.11, 16.15).

A read costs one HAN exchange: the live registers (summation, status, demand). What describes
them — unit, multiplier, divisor, formatting, device type — does not change while a meter stays
joined, so it is read once per join and kept; a meter that joins again, or fails a read, is
described afresh at its next read.
"""

from __future__ import annotations

import asyncio

import zigpy.device
import zigpy.exceptions
import zigpy.zcl

from firmware.rig import DeviceConfig
from protocol.errors import TransientLinkError
from protocol.se import Metering

from .commissioning import DeviceUnavailable

__all__ = [
    "DESCRIPTION_ATTRIBUTES",
    "LIVE_ATTRIBUTES",
    "READ_TIMEOUT_S",
    "MeteringReader",
]

READ_TIMEOUT_S = 7.0
#: Read once per join: how to scale and show the registers, and what the meter is.
DESCRIPTION_ATTRIBUTES = (
    "unit_of_measure",
    "multiplier",
    "divisor",
    "summation_formatting",
    "demand_formatting",
    "metering_device_type",
)
#: Read every time; few enough that their answer fits one APS-secured frame. A meter without
#: export (a gas meter) answers UNSUPPORTED_ATTRIBUTE for CurrentSummationReceived: left out.
LIVE_ATTRIBUTES = (
    "current_summ_delivered",
    "status",
    "instantaneous_demand",
    "current_summ_received",
)


class MeteringReader:
    """Reads meters' Metering clusters, remembering each meter's description while it stays
    joined."""

    def __init__(self) -> None:
        self._descriptions: dict[str, dict[str, int]] = {}

    def forget(self, eui64: str) -> None:
        """The meter (re)joined: its description may have changed; read it again."""
        self._descriptions.pop(eui64, None)

    async def read(self, device: zigpy.device.Device, config: DeviceConfig) -> dict[str, int]:
        """The Metering cluster's registers and description; DeviceUnavailable if the device
        does not answer."""
        cluster = _metering_cluster(device)
        if cluster is None:
            raise DeviceUnavailable(f"{config.name} serves no Metering cluster")
        eui64 = str(device.ieee)
        try:
            async with asyncio.timeout(READ_TIMEOUT_S):
                description = self._descriptions.get(eui64)
                if description is None:
                    description = await _read(cluster, config, DESCRIPTION_ATTRIBUTES)
                live = await _read(cluster, config, LIVE_ATTRIBUTES)
        except (TimeoutError, TransientLinkError, zigpy.exceptions.ZigbeeException) as exc:
            self.forget(eui64)
            raise DeviceUnavailable(
                f"{config.name} did not answer over the HAN: {exc or 'timeout'}"
            ) from exc
        self._descriptions[eui64] = description
        return description | live


def _metering_cluster(device: zigpy.device.Device) -> zigpy.zcl.Cluster | None:
    return next(
        (
            ep.in_clusters[Metering.cluster_id]
            for ep_id, ep in device.endpoints.items()
            if ep_id and Metering.cluster_id in ep.in_clusters
        ),
        None,
    )


async def _read(
    cluster: zigpy.zcl.Cluster, config: DeviceConfig, names: tuple[str, ...]
) -> dict[str, int]:
    """One Read Attributes exchange (zigpy asks again for records that did not fit); the first
    attribute named is required."""
    success, failure = await cluster.read_attributes(
        list(names), allow_cache=False, split_requests=False
    )
    if names[0] not in success:
        raise DeviceUnavailable(f"{config.name} did not return {names[0]} ({failure})")
    return {name: int(value) for name, value in success.items()}

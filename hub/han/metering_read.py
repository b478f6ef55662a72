"""The on-demand read of a meter over the HAN (clauses 6.1.3 pull, 6.1.11, 16.15)."""

from __future__ import annotations

import asyncio

import zigpy.device
import zigpy.exceptions

from firmware.rig import DeviceConfig
from protocol.errors import TransientLinkError
from protocol.se import Metering

from .commissioning import DeviceUnavailable

__all__ = ["METERING_ATTRIBUTES", "READ_TIMEOUT_S", "read_metering"]

READ_TIMEOUT_S = 7.0
METERING_ATTRIBUTES = (
    "current_summ_delivered",
    "status",
    "unit_of_measure",
    "multiplier",
    "divisor",
    "summation_formatting",
    "demand_formatting",
    "metering_device_type",
    "instantaneous_demand",
)


async def read_metering(device: zigpy.device.Device, config: DeviceConfig) -> dict[str, int]:
    """Read the Metering cluster of a joined device; DeviceUnavailable if it does not answer."""
    cluster = next(
        (
            ep.in_clusters[Metering.cluster_id]
            for ep_id, ep in device.endpoints.items()
            if ep_id and Metering.cluster_id in ep.in_clusters
        ),
        None,
    )
    if cluster is None:
        raise DeviceUnavailable(f"{config.name} serves no Metering cluster")
    try:
        async with asyncio.timeout(READ_TIMEOUT_S):
            success, failure = await cluster.read_attributes(
                list(METERING_ATTRIBUTES), allow_cache=False
            )
    except (TimeoutError, TransientLinkError, zigpy.exceptions.ZigbeeException) as exc:
        raise DeviceUnavailable(
            f"{config.name} did not answer over the HAN: {exc or 'timeout'}"
        ) from exc
    missing = [
        name for name in ("current_summ_delivered", "unit_of_measure") if name not in success
    ]
    if missing:
        raise DeviceUnavailable(f"{config.name} did not return {', '.join(missing)} ({failure})")
    return {name: int(value) for name, value in success.items()}

"""The hub's own WAN commands: the on-demand read (clauses 6.1.3 pull, 6.1.11, 16.15) and removal
and commissioning of a device (clause 17.2.6)."""

from __future__ import annotations

from typing import Any

from firmware.rig import DeviceConfig
from hal import trace
from hal.ports import Clock
from protocol.ieee802154 import eui64_to_str
from protocol.metering_units import metering_registers
from protocol.wan import CommandType, WanCommand

from .han import HanNetwork
from .wan_bridge import WanBridge

__all__ = ["register_han_commands"]


def register_han_commands(bridge: WanBridge, han: HanNetwork, clock: Clock) -> None:
    async def read(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        """An on-demand read of a device's registers, with their units (within 10 s, 6.1.11)."""
        received = trace.stamp()
        attributes = await han.read_metering(config)
        done = trace.stamp()
        result: dict[str, Any] = {
            "device": config.name,
            "eui64": eui64_to_str(config.eui64),
            "read_at": clock.now().isoformat(),
            "signal": han.signal(config),
            "attributes": attributes,
            **metering_registers(attributes),
        }
        if trace.enabled():
            # han_start is received: the HAN request goes out in the same turn of the loop.
            result["trace"] = {
                "hub_received": received,
                "han_done": done,
                "hub_sent": trace.stamp(),
            }
        return result

    async def remove(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        return await han.remove(config)

    async def commission(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        return await han.commission(config)

    bridge.register(CommandType.READ, read)
    bridge.register(CommandType.REMOVE, remove)
    bridge.register(CommandType.COMMISSION, commission)

"""The hub's ZigBee coordinator: stock bellows + zigpy, taught the Smart Energy profile.

zigpy decodes ZCL only for the Home Automation and ZLL profiles (DESIGN.md §8), so frames of the
Smart Energy profile (0x0109) would be dropped and an SE device's reads would time out. ZCL frames
are the same under every application profile, so the hub hands SE frames to zigpy's ZCL layer
under the HA profile id; what goes on the air keeps the profile of the device's endpoint (0x0109),
because zigpy sends with the profile from the endpoint's simple descriptor.

It also surfaces the trust centre's refusals (a join the NCP denied because the device's
EUI-64/install code was not given to us), which bellows deliberately ignores, so the hub can
record the failed connection attempt (clause 17.2.x, Appendix B).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import bellows.types as bt
import bellows.zigbee.application as bellows_app
import zigpy.types as t

from protocol.zigbee_ids import HA_PROFILE, SE_PROFILE, ZDO_ENDPOINT

LOGGER = logging.getLogger(__name__)

PacketHook = Callable[[t.ZigbeePacket], bool]
HeardHook = Callable[[int], None]
DeniedJoinHook = Callable[[int, str], None]


class SmartEnergyController(bellows_app.ControllerApplication):  # type: ignore[misc]
    """bellows' ControllerApplication with SE frames routed through zigpy's ZCL stack."""

    #: Called first for every SE packet; returning True means "handled, don't pass on".
    se_packet_hook: PacketHook | None = None
    #: Called with (nwk, eui64 text) when the trust centre refused a join.
    denied_join_hook: DeniedJoinHook | None = None
    #: Called with the sender's NWK address of every frame received (presence, last heard).
    heard_hook: HeardHook | None = None

    def packet_received(self, packet: t.ZigbeePacket) -> None:
        src: Any = packet.src
        if self.heard_hook is not None and src is not None and src.addr_mode == t.AddrMode.NWK:
            self.heard_hook(int(src.address))
        if packet.profile_id == SE_PROFILE and ZDO_ENDPOINT not in (packet.src_ep, packet.dst_ep):
            hook = self.se_packet_hook
            if hook is not None and hook(packet):
                return
            packet = packet.replace(profile_id=HA_PROFILE)
        super().packet_received(packet)

    def ezsp_callback_handler(self, frame_name: str, args: list[Any]) -> None:
        if frame_name == "trustCenterJoinHandler":
            nwk, ieee, _update, decision, _parent = args
            if decision == bt.EmberJoinDecision.DENY_JOIN and self.denied_join_hook is not None:
                self.denied_join_hook(int(nwk), str(ieee))
        super().ezsp_callback_handler(frame_name, args)

    async def remove_device_keys(self, ieee: t.EUI64) -> None:
        """Have the trust centre forget a device that is not on the network now (its link key
        and transient key), as EZSP removeDevice does (clause 17.2.6)."""
        await self._ezsp.removeDevice(0xFFFE, ieee, ieee)

    async def read_ncp_counters(self) -> dict[str, int]:
        """The NCP's EmberCounterType counters by name without COUNTER_."""
        values = await self._ezsp.read_counters()
        return {counter.name.removeprefix("COUNTER_"): int(v) for counter, v in values.items()}

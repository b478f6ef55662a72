"""The communications hub: HAN coordinator and trust centre, bridged to the WAN.

Given its board (NCP, WAN link, clock, store: `firmware.boards.HubBoard`) by its composition
root (`hub/__main__.py`), the hub runs the HAN (`hub.han`), carries head-end commands onto it
(`hub.wan_bridge`), serves Time to the HAN, logs its events and sends them up the WAN in the
one event shape (`protocol.event_report`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from firmware.boards import HubBoard
from firmware.event_log import EventLog
from firmware.rig import Rig
from firmware.zcl.reporting import ReportingTable
from firmware.zcl.server import ZclServer
from hal.control_socket import ControlError, Handler, Request
from protocol.event_codes import EventCode

from .commands import register_han_commands
from .commands_commissioning import register_commissioning_commands
from .commands_tariff import register_tariff_commands
from .cpp_relay import cpp_relay
from .event_uplink import EventUplink
from .han import HanNetwork
from .time_server import time_server
from .wan_bridge import WanBridge

__all__ = ["Hub"]

LOGGER = logging.getLogger("hub")


class Hub:
    def __init__(self, rig: Rig, board: HubBoard) -> None:
        self.rig = rig
        self.name = rig.hub.name
        self.board = board
        self.clock = board.clock
        self.store = board.store
        self.wan = board.wan
        self.events = EventLog(self.store, self.clock, self.name)
        self.uplink = EventUplink(self.events, self.store, self.wan, self.clock)
        self._tasks: set[asyncio.Task[None]] = set()
        zcl = ZclServer(
            [time_server(self.clock), cpp_relay(self.record, lambda nwk: self.han.name_of(nwk))],
            ReportingTable(self.store),
        )
        self.han = HanNetwork(rig, board.ncp, self.clock, self.store, self.record, zcl)
        self.bridge = WanBridge(rig, self.record)
        register_han_commands(self.bridge, self.han, self.clock)
        register_commissioning_commands(self.bridge, self.han, self.wan)
        register_tariff_commands(self.bridge, self.han)
        self._running = False

    def record(self, code: EventCode, detail: dict[str, Any]) -> None:
        """Log an event (section 18); it goes up the WAN as soon as the link lets it."""
        self.events.record(code, detail)
        self.uplink.poke()

    async def start(self) -> None:
        self.events.record(EventCode.POWER_UP, {"component": "hub"})
        self._running = True
        self._tasks.add(asyncio.get_running_loop().create_task(self.uplink.run()))
        await self.wan.start(self.bridge.handle, self.bridge.refused)
        await self.han.start()
        LOGGER.info("hub %s up: HAN formed, WAN %s", self.rig.hub.wan_id, self.wan.connected)

    async def stop(self) -> None:
        if not self._running:
            return
        self._running = False
        await self.han.stop()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.wan.stop()

    def control_handlers(self) -> dict[str, Handler]:
        return {"status": self._status, "events": self._events, "keys": self._keys}

    async def _status(self, request: Request) -> dict[str, Any]:
        """Bench status, with each device's last RSSI and LQI as the hub's NCP heard them.

        The signal report is the hub's per-device link quality (12.1.r) that an installer's
        HHT shows (20.4.1.c); None until the device has been heard.
        """
        return {
            "name": self.name,
            "wan_id": self.rig.hub.wan_id,
            "joined": self.han.joined(),
            "presence": {
                name: self.han.presence_of(config) for name, config in self.rig.devices.items()
            },
            "wan": "connected" if self.wan.connected else "disconnected",
            "now": self.clock.now().isoformat(),
            "signal": {name: self.han.signal(config) for name, config in self.rig.devices.items()},
        }

    async def _keys(self, request: Request) -> dict[str, Any]:
        """The HAN's network key and key sequence number: a bench-only debugging aid.

        Exists so that a capture of the emulated air (`smartmeter han capture`) can be decrypted
        in Wireshark. A real communications hub never reveals its network key, on any port:
        clauses 17.2.10 and 17.2.20 apply to the product, and this is the emulator's bench port,
        reachable only through the rig's local control socket. The key is read back through
        zigpy from the NCP (as bellows loaded it), so it is the key actually used on the air.
        """
        if self.han.app is None:
            raise ControlError("the HAN is not formed yet: no network key to show")
        network_key = self.han.app.state.network_info.network_key
        return {"network_key": bytes(network_key.key).hex(), "key_seq": int(network_key.seq)}

    async def _events(self, request: Request) -> dict[str, Any]:
        limit = int(request.get("limit", 50))
        return {"events": [e.report().to_dict() for e in self.events.recent(limit)]}

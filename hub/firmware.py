"""The communications hub: HAN coordinator and trust centre, bridged to the WAN.

Given its board (NCP, WAN link, clock, store: `firmware.boards.HubBoard`) by its composition
root (`hub/__main__.py`), the hub runs the HAN (`hub.han`), carries head-end commands onto it
(`hub.wan_bridge`) once each (`hub.command_journal`), serves Time to the HAN, logs its events and
treats them as configured (`hub.hub_events`), and keeps every uplink in its durable outbox
(`hub.outbox`) until the head-end acknowledges it; readings are pushed on schedules
(`hub.push_schedule`) set, like the rest of its delivery settings, remotely or on the bench
(`hub.hub_config`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from firmware.boards import HubBoard
from firmware.event_log import EventLog
from firmware.rig import DeviceKind, Rig
from firmware.zcl.reporting import ReportingTable
from firmware.zcl.server import ZclServer
from hal.control_socket import ControlError, Handler, Request
from protocol.event_codes import EventCode

from .command_journal import CommandJournal
from .commands import register_han_commands
from .commands_commissioning import register_commissioning_commands
from .commands_tariff import register_tariff_commands
from .comms_loss_settings import CommsLossSettings
from .config_commands import register_config_commands
from .cpp_relay import cpp_relay
from .han import HanNetwork
from .hub_config import ConfigRefused, HubConfig
from .hub_events import HubEvents
from .loss_of_comms import LossOfComms
from .meter_events import MeterEvents
from .outbox import Outbox
from .profile_push import ProfilePush
from .push_schedule import PushSchedule
from .time_server import time_server
from .wan_bearer import WanBearer
from .wan_bridge import WanBridge
from .wan_roles import DeviceRoles, register_role_commands
from .wan_security import HubWanSecurity

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
        self.outbox = Outbox(self.store, self.wan, self.clock, lambda: self.config.retry_policy())
        self.config = HubConfig(self.store, self.clock, self.outbox, set(rig.devices))
        self.hub_events = HubEvents(self.events, self.store, self.clock, self.outbox, self.config)
        self._tasks: set[asyncio.Task[None]] = set()
        zcl = ZclServer(
            [time_server(self.clock), cpp_relay(self.record, lambda nwk: self.han.name_of(nwk))],
            ReportingTable(self.store),
        )
        self.han = HanNetwork(rig, board.ncp, self.clock, self.store, self.record, zcl)
        # The meters' own events, published over the HAN, go up in their streams (18.6).
        self.meter_events = MeterEvents(
            self.store, self.clock, self.outbox, self.config, self.record
        )
        self.han.event_sink = self.meter_events.take
        self.bridge = WanBridge(rig, self.record)
        register_han_commands(self.bridge, self.han, self.clock)
        self.bearer = WanBearer(board.modem, self.record)
        register_commissioning_commands(self.bridge, self.han, self.wan, self.bearer.report)
        register_tariff_commands(self.bridge, self.han)
        self.journal = CommandJournal(self.store, self.outbox, self.clock, self.bridge.handle)
        # Scheduled pushes carry the meters' interval data since the last push (6.1.3).
        self.profiles = ProfilePush(self.store, self.clock, self.han.tunnel)
        self.push = PushSchedule(
            self.config,
            self.outbox,
            self.clock,
            self.store,
            list(rig.devices.values()),
            self.han.read_metering,
            profile_hook=self.profiles.since_last_push,
            signal=self.han.signal,
            profile_pushed=self.profiles.pushed,
        )
        register_config_commands(self.journal, self.config, self.push.settings_changed)
        self.comms = LossOfComms(
            rig.hub.comms_loss,
            self.clock,
            self.wan,
            board.modem,
            self.record,
            self._show_on_ihd,
            store=self.store,
        )
        self.comms_settings = CommsLossSettings(self.comms, self.bridge)
        self.roles = DeviceRoles(rig, self.store)
        self.roles.on_supplier_change.append(self.profiles.supplier_changed)
        register_role_commands(self.bridge, self.roles, self.han, rig, self.clock)
        self.wan_security = (
            HubWanSecurity(
                rig, board.wan_keys, self.store, self.roles, self.record, outbox=self.outbox
            )
            if board.wan_keys is not None
            else None
        )
        self._running = False

    def record(self, code: EventCode, detail: dict[str, Any]) -> None:
        """Log an event (section 18) and treat it as configured (send now, next exchange, log)."""
        self.hub_events.record(code, detail)
        self.comms.observe(code, detail)

    async def start(self) -> None:
        self.record(EventCode.POWER_UP, {"component": "hub"})
        self._running = True
        loop = asyncio.get_running_loop()
        self._tasks.add(loop.create_task(self.outbox.run()))
        self._tasks.add(loop.create_task(self.push.run()))
        await self.wan.start(
            self.journal.handle, self.bridge.refused, self.outbox.on_ack, self.wan_security
        )
        await self.han.start()
        self._tasks.add(asyncio.get_running_loop().create_task(self.comms.run()))
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
        return {
            "status": self._status,
            "events": self._events,
            "keys": self._keys,
            "config": self._config,
            "outbox": self._outbox,
            "modem": self.bearer.bench,
            "comms_loss": self.comms_settings.bench,
        }

    async def _config(self, request: Request) -> dict[str, Any]:
        """Read or change a delivery setting on the bench (locally, clauses 12.1.o, 18.8):
        {"key"?} reads, {"key", "value"} changes and answers the configuration-change message."""
        key = request.get("key")
        if key is None:
            return {"settings": self.config.snapshot()}
        if not isinstance(key, str):
            raise ControlError('"key" must be the name of a setting')
        try:
            if "value" not in request:
                return {"key": key, "value": self.config.get(key)}
            change = self.config.set(key, request["value"], by="local")
        except ConfigRefused as exc:
            raise ControlError(str(exc)) from None
        self.push.settings_changed()
        return {"change": change}

    async def _outbox(self, request: Request) -> dict[str, Any]:
        """What waits for the head-end's acknowledgement, and what waits for the next exchange."""
        return {"pending": self.outbox.pending_count(), "held": self.outbox.held_count()}

    async def _show_on_ihd(self, text: str) -> None:
        """Show (or with "" clear) a message on every IHD of the premises (12.7.3, 12.7.5)."""
        for config in self.rig.devices.values():
            if config.kind is DeviceKind.IHD:
                await self.han.display_message(config, text)

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
            "bearer": self.bearer.report(),
            "comms_loss": self.comms.report(),
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

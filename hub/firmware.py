"""The communications hub process: HAN coordinator and trust centre, bridged to the WAN."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from devices.core.event_log import EventLog
from devices.core.rig import ClockKind, Rig, load_rig
from hal.clock_factory import rig_clock
from hal.control_socket import ControlError, ControlServer, Request
from hal.emulated.mqtt_wan import MqttWanLink
from hal.emulated.sqlite_store import SqliteStore
from protocol.event_codes import EventCode

from .han import HanNetwork
from .time_server import TimeServer
from .wan_bridge import WanBridge

LOGGER = logging.getLogger("hub")


class Hub:
    def __init__(self, rig: Rig) -> None:
        self.rig = rig
        name = rig.hub.name
        self.clock = rig_clock(rig.clock is ClockKind.SIMULATED, rig.epoch, rig.scale)
        rig.run_dir.mkdir(parents=True, exist_ok=True)
        self.store = SqliteStore(rig.store_path(name))
        self._publishing: set[asyncio.Task[None]] = set()
        self.events = EventLog(self.store, self.clock, name)
        self.han = HanNetwork(
            rig, TimeServer(self.clock), self.record, rig.run_dir, store=self.store
        )
        self.bridge = WanBridge(rig, self.han, self.clock)
        self.wan = MqttWanLink(
            rig.broker_host,
            rig.broker_port,
            rig.hub.wan_id,
            self.bridge.handle,
            clock=self.clock.now,
        )
        self.control = ControlServer(
            rig.control_path(name),
            {"status": self._status, "events": self._events, "keys": self._keys},
        )

    def record(self, code: EventCode, detail: dict[str, Any]) -> None:
        event = self.events.record(code, detail)
        if self.wan.connected:
            payload = {
                "seq": event.seq,
                "source": self.rig.hub.name,
                "code": int(code),
                "name": code.name,
                "at": event.utc.isoformat(),
                "detail": dict(detail),
            }
            task = asyncio.get_running_loop().create_task(self.wan.publish_event(payload))
            # The loop keeps only weak references to tasks: hold it until it is done.
            self._publishing.add(task)
            task.add_done_callback(self._publishing.discard)

    async def run(self, stop: asyncio.Event) -> None:
        self.events.record(EventCode.POWER_UP, {"component": "hub"})
        await self.control.start()
        await self.wan.start()
        await self.han.start()
        LOGGER.info("hub %s up: HAN formed, WAN %s", self.rig.hub.wan_id, self.wan.connected)
        await stop.wait()
        LOGGER.info("hub stopping")
        await self.han.stop()
        await self.wan.stop()
        await self.control.stop()
        self.store.close()

    async def _status(self, request: Request) -> dict[str, Any]:
        """Bench status, with each device's last RSSI and LQI as the hub's NCP heard them.

        The signal report is the hub's per-device link quality (12.1.r) that an installer's
        HHT shows (20.4.1.c); None until the device has been heard.
        """
        return {
            "name": self.rig.hub.name,
            "wan_id": self.rig.hub.wan_id,
            "joined": self.han.joined(),
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
        return {
            "events": [
                {
                    "seq": e.seq,
                    "at": e.utc.isoformat(),
                    "code": int(e.code),
                    "name": e.code.name,
                    "detail": dict(e.detail),
                }
                for e in self.events.recent(limit)
            ]
        }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m hub", description="Smart metering communications hub"
    )
    parser.add_argument("--rig", required=True, help="rig file (TOML)")
    parser.add_argument("--log-level", default="INFO")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s hub %(name)s %(levelname)s %(message)s"
    )
    logging.getLogger("bellows").setLevel(logging.WARNING)
    logging.getLogger("zigpy").setLevel(logging.WARNING)
    rig = load_rig(args.rig)

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await Hub(rig).run(stop)

    asyncio.run(run())

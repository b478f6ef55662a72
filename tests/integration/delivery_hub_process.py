"""`python -m tests.integration.delivery_hub_process PORT HUB_ID FOLDER`: a hub's delivery side
(`tests.integration.wan_delivery.DeliveryHub`) as a process, logging a stream of events until
FOLDER/quiet exists, for the crash test to kill -9 at random moments; on the sealed WAN (the
rig file's keys). The stand-in meter
remembers each request id in its own store and does each request once (19.1.6)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

from firmware.rig import load_rig
from hal.real.clock import SystemClock
from protocol.event_codes import EventCode
from protocol.wan import WanCommand
from tests.integration.wan_delivery import DeliveryHub, sealed_rig

EVENT_EVERY_S = 0.05


class CrashHub(DeliveryHub):
    async def _execute(self, command: WanCommand) -> dict[str, Any]:
        with self.store.transaction() as tx:  # the meter's own memory of the request
            tx.execute("CREATE TABLE IF NOT EXISTS meter_done (request_id TEXT PRIMARY KEY)")
            tx.execute("INSERT OR IGNORE INTO meter_done VALUES (?)", (command.id,))
        return {"device": command.device}


async def main(port: int, hub_id: str, folder: Path, rig_file: Path) -> None:
    rig = sealed_rig(load_rig(rig_file), hub_id)  # the test provisioned the keys already
    devices = [rig.devices["esme"]]
    hub = CrashHub(folder / "hub.sqlite", port, hub_id, SystemClock(), devices, rig)
    if hub.store.get("test", "configured") is None:
        with hub.store.transaction() as tx:
            hub.config.set("outbox.retry_interval_s", 1, by="local", tx=tx)
            hub.config.set("exchange.interval_s", 2, by="local", tx=tx)
            hub.store.put("test", "configured", True, tx=tx)
    await hub.start()
    hub.events.record(EventCode.POWER_UP, {"component": "hub"})
    n = 0
    while True:
        await asyncio.sleep(EVENT_EVERY_S)
        if not (folder / "quiet").exists():
            n += 1
            code = EventCode.COMMUNICATION_ERROR_WAN if n % 2 else EventCode.DST_ENABLED
            hub.events.record(code, {"n": n})


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), Path(sys.argv[4])))

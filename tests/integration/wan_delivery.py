"""A hub's delivery side (outbox, settings, event treatment, push schedule, command journal) on
a real MQTT link, and a real head-end process, for the delivery integration tests. The HAN is a
stand-in that answers reads with fixed registers: these tests are about the WAN."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import sqlite3
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from firmware.event_log import EventLog
from firmware.rig import DeviceConfig, Rig
from firmware.wan_parties import all_parties, hub_parties
from hal.ports import Clock
from hal.real.mqtt_wan import MqttWanLink
from hal.real.sqlite_store import SqliteStore
from hal.real.wan_keys import load_ring, provision
from hub.command_journal import CommandJournal
from hub.config_commands import register_config_commands
from hub.hub_config import HubConfig
from hub.hub_events import HubEvents
from hub.outbox import Outbox
from hub.push_schedule import PushSchedule
from hub.wan_roles import DeviceRoles
from hub.wan_security import HubWanSecurity
from protocol.event_codes import EventCode
from protocol.wan import WanCommand

REPO = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
RAW_REGISTERS = {
    "current_summ_delivered": 1_234_567,
    "instantaneous_demand": 1500,
    "status": 0,
    "unit_of_measure": 0,
    "multiplier": 1,
    "divisor": 1000,
    "summation_formatting": 0x2B,
    "metering_device_type": 0,
}


def sealed_rig(rig: Rig, hub_id: str) -> Rig:
    """`rig` with its hub answering as `hub_id`, every WAN party's keys provisioned in its
    `keys_dir`: for a `DeliveryHub` and a head-end (`start_headend(keys=...)`) on the sealed
    WAN (README "WAN security")."""
    hub = dataclasses.replace(rig.hub, wan_id=hub_id)
    sealed = dataclasses.replace(rig, hub=hub)
    provision(sealed.keys_dir, all_parties(sealed))
    return sealed


def start_headend(
    folder: Path, port: int, hub_id: str, devices: list[str], keys: Path | None = None
) -> subprocess.Popen[bytes]:
    """`python -m tools.headend` on the broker at `port`, its files in `folder`; sealing the
    WAN with the key folder `keys` if given."""
    folder.mkdir(parents=True, exist_ok=True)
    inventory = folder / "inventory.json"
    entries = {
        name: {"hub_id": hub_id, "eui64": f"00:0d:6f:00:00:00:10:0{n}", "kind": "esme"}
        for n, name in enumerate(devices, 1)
    }
    inventory.write_text(json.dumps({"devices": entries}))
    log = (folder / "headend.log").open("ab")
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tools.headend",
            "--broker-host",
            HOST,
            "--broker-port",
            str(port),
            "--control",
            str(folder / "headend.sock"),
            "--db",
            str(folder / "headend.sqlite"),
            "--inventory",
            str(inventory),
            *(["--keys", str(keys)] if keys is not None else []),
        ],
        cwd=REPO,
        env=dict(os.environ, PYTHONPATH=str(REPO)),
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def headend_rows(folder: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    """Rows of the head-end's database, read beside the running head-end (WAL)."""
    db = sqlite3.connect(folder / "headend.sqlite", timeout=10)
    try:
        return list(db.execute(sql, params).fetchall())
    except sqlite3.OperationalError:
        return []  # not created yet
    finally:
        db.close()


@dataclass
class DeliveryHub:
    """The delivery side of hub `hub_id` over MQTT, its state in `store_path`."""

    store_path: Path
    port: int
    hub_id: str
    clock: Clock
    devices: list[DeviceConfig]
    #: The rig whose keys seal the WAN (`sealed_rig`); None: plain JSON.
    rig: Rig | None = None
    executed: list[str] = field(default_factory=list)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.store = SqliteStore(self.store_path)
        self.link = MqttWanLink(
            HOST, self.port, self.hub_id, clock=self.clock.now, connect_wait_s=0.5
        )
        self.outbox = Outbox(self.store, self.link, self.clock, lambda: self.config.retry_policy())
        self.config = HubConfig(self.store, self.clock, self.outbox, {d.name for d in self.devices})
        self.events = HubEvents(
            EventLog(self.store, self.clock, "hub"),
            self.store,
            self.clock,
            self.outbox,
            self.config,
        )
        self.push = PushSchedule(
            self.config, self.outbox, self.clock, self.store, self.devices, self._read
        )
        self.journal = CommandJournal(self.store, self.outbox, self.clock, self._execute)
        register_config_commands(self.journal, self.config, self.push.settings_changed)
        self.codec: HubWanSecurity | None = None
        if self.rig is not None:
            ring = load_ring(self.rig.keys_dir, *hub_parties(self.rig))
            roles = DeviceRoles(self.rig, self.store)
            self.codec = HubWanSecurity(self.rig, ring, self.store, roles, self._record)

    def _record(self, code: EventCode, detail: dict[str, Any]) -> None:
        self.events.record(code, detail)

    async def _read(self, device: DeviceConfig) -> dict[str, int]:
        return dict(RAW_REGISTERS)

    async def _execute(self, command: WanCommand) -> dict[str, Any]:
        self.executed.append(command.id)
        return {"device": command.device}

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks = [loop.create_task(self.outbox.run()), loop.create_task(self.push.run())]
        await self.link.start(
            self.journal.handle, on_uplink_ack=self.outbox.on_ack, codec=self.codec
        )

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.link.stop()
        self.store.close()


def in_order_once(rows: list[tuple[Any, ...]]) -> bool:
    """(source, seq) rows of one hub's uplinks: each source numbered 1..n with nothing twice."""
    by_source: dict[str, list[int]] = {}
    for source, seq in rows:
        by_source.setdefault(source, []).append(seq)
    return all(seqs == list(range(1, len(seqs) + 1)) for seqs in by_source.values())

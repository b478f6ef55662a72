"""Who may command what through the hub (6.1.4, 12.6, 17.2.22, 17.2.23): each device's supplier,
whether its WAN communications are disabled, and the network operator's commands that change
either.

The rig says which supplier each device starts with (`supplier` of `[[device]]`); a change of
supplier (12.6) is the network operator's `change_supplier` command and is kept in the hub's
store, so it survives restarts. It replaces only the key the device answers to: nothing of the
device's history is touched (its registers and event logs stay, 18.5), and the old supplier's
next command is refused from that instant.

`disable_comms` / `restore_comms` {"link": "wan" | "han" | "both"} (17.2.22, 17.2.23): with the
WAN disabled the hub refuses every supplier command for the device; with the HAN disabled the
device is taken off the HAN (as `remove`) until restored (as `commission`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from firmware.rig import DeviceConfig, Rig
from hal.ports import Clock, NonVolatileStore, Tx
from protocol.wan import CommandType, WanCommand

from .han import HanNetwork
from .wan_bridge import CommandRejected, WanBridge

__all__ = ["OPERATOR_COMMANDS", "OPERATOR_ONLY", "DeviceRoles", "register_role_commands"]

_NAMESPACE = "wan_roles"
#: Commands only the network operator may give.
OPERATOR_ONLY = frozenset(
    {CommandType.CHANGE_SUPPLIER, CommandType.DISABLE_COMMS, CommandType.RESTORE_COMMS}
)
#: What the network operator may give: it manages the hub and the HAN, never reads a meter.
OPERATOR_COMMANDS = OPERATOR_ONLY | {
    CommandType.DEVICE_STATUS,
    CommandType.REMOVE,
    CommandType.COMMISSION,
}
_LINKS = ("wan", "han", "both")


class DeviceRoles:
    """Each device's supplier and WAN state, in the hub's store."""

    def __init__(self, rig: Rig, store: NonVolatileStore) -> None:
        self._rig, self._store = rig, store
        #: Called with (device, instant, transaction) inside a change of supplier's transaction:
        #: what must move with it (the profile push mark, `hub.profile_push`).
        self.on_supplier_change: list[Callable[[str, datetime, Tx], None]] = []

    def _record(self, device: str) -> dict[str, Any]:
        stored = self._store.get(_NAMESPACE, device, None)
        if isinstance(stored, dict):
            return stored
        return {"supplier": self._rig.devices[device].supplier, "wan_disabled": False}

    def supplier(self, device: str) -> str:
        return str(self._record(device)["supplier"])

    def wan_disabled(self, device: str) -> bool:
        return bool(self._record(device).get("wan_disabled", False))

    def change_supplier(self, device: str, supplier: str, at: datetime) -> str:
        """Make `supplier` the device's supplier; the previous one's name."""
        with self._store.transaction() as tx:
            record = self._record(device)
            old = str(record["supplier"])
            history = [*record.get("history", []), {"from": old, "to": supplier, "at": at}]
            self._store.put(
                _NAMESPACE, device, {**record, "supplier": supplier, "history": history}, tx=tx
            )
            for listener in self.on_supplier_change:
                listener(device, at, tx)
        return old

    def set_wan_disabled(self, device: str, disabled: bool) -> None:
        with self._store.transaction() as tx:
            record = self._record(device)
            self._store.put(_NAMESPACE, device, {**record, "wan_disabled": disabled}, tx=tx)


def _link(command: WanCommand) -> str:
    link = command.args.get("link", "both")
    if link not in _LINKS:
        raise CommandRejected(f'{command.type} needs "link": one of {", ".join(_LINKS)}')
    return str(link)


def register_role_commands(
    bridge: WanBridge, roles: DeviceRoles, han: HanNetwork, rig: Rig, clock: Clock
) -> None:
    async def change_supplier(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        new = command.args.get("supplier")
        if new not in rig.roles.suppliers:
            known = ", ".join(rig.roles.suppliers)
            raise CommandRejected(f"change_supplier needs a declared supplier ({known})")
        old = roles.change_supplier(config.name, str(new), clock.now())
        return {"device": config.name, "supplier": new, "previous_supplier": old}

    async def disable_comms(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        link = _link(command)
        if link in ("wan", "both"):
            roles.set_wan_disabled(config.name, True)
        han_result = await han.remove(config) if link in ("han", "both") else None
        return {"device": config.name, "disabled": link, "han": han_result}

    async def restore_comms(config: DeviceConfig, command: WanCommand) -> dict[str, Any]:
        link = _link(command)
        if link in ("wan", "both"):
            roles.set_wan_disabled(config.name, False)
        han_result = await han.commission(config) if link in ("han", "both") else None
        return {"device": config.name, "restored": link, "han": han_result}

    bridge.register(CommandType.CHANGE_SUPPLIER, change_supplier)
    bridge.register(CommandType.DISABLE_COMMS, disable_comms)
    bridge.register(CommandType.RESTORE_COMMS, restore_comms)

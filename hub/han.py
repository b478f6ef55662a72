"""The hub's side of the HAN: the coordinator and trust centre, and reads of SE devices.

Runs `SmartEnergyController` (stock bellows, DESIGN.md §3) on the hub's radio: our emulated NCP
on the rig's air, or a real EZSP dongle given by path or socket:// URL. The trust centre is given
the EUI-64 and install-code link key of every device in the rig and admits those only.

The hub can remove a device from the HAN (clause 17.2.6): the device is asked to leave, the trust
centre erases its link key, and the hub stops offering its install-code key until the device is
commissioned again. The set of removed ("decommissioned") devices survives a restart of the hub.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import zigpy.config as zc
import zigpy.device
import zigpy.exceptions
import zigpy.types as t

from devices.core.rig import DeviceConfig, Rig
from hal.emulated.ncp.runner import EmulatedNcp, HostLink
from hal.emulated.sqlite_store import SqliteStore
from hal.han_security_counters import CounterWatch
from hal.radio_link import TcpRadioLink
from protocol.errors import SmartMeterError, TransientLinkError
from protocol.event_codes import EventCode
from protocol.ieee802154 import eui64_to_str
from protocol.se import Metering

from .se_controller import SE_PROFILE, SmartEnergyController
from .time_server import TIME_CLUSTER, TimeServer

LOGGER = logging.getLogger(__name__)
#: zigpy keeps endpoints 1 (HA), 2 (ZLL) and 242 (GP) for itself; the Energy Service Interface is 9.
HUB_ENDPOINT = 9
#: bellows accepts at most 254 s per permit; the hub re-opens the window before it closes.
PERMIT_S = 254
READ_TIMEOUT_S = 7.0
#: Time a newly admitted device has to come up (announce, answer its interview).
JOIN_CONFIRM_S = 10.0
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 10.0
#: Seconds between polls of the NCP's security-drop counters.
COUNTERS_POLL_S = 2.0
#: How long a removal waits for the device to answer Mgmt_Leave_req before the trust centre
#: removes it anyway (zigpy gives a router 7 s).
LEAVE_WAIT_S = 8.0
#: Where the hub keeps the names of removed devices (its own SqliteStore).
STORE_NAMESPACE = "han"
DECOMMISSIONED_KEY = "decommissioned"
#: EUI-64 -> NWK address of the devices zigpy has interviewed (no keys: those are in the NCP).
KNOWN_DEVICES_KEY = "known_devices"
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
RecordEvent = Callable[[EventCode, dict[str, Any]], None]


class DeviceUnavailable(SmartMeterError):
    """The device named in a request is not on the HAN or did not answer."""


class HanNetwork:
    def __init__(
        self,
        rig: Rig,
        time_server: TimeServer,
        record: RecordEvent,
        state_dir: Path,
        store: SqliteStore | None = None,
    ) -> None:
        self.rig = rig
        self._time = time_server
        self._record = record
        self._state_dir = state_dir
        self._store = store
        self._decommissioned: set[str] = set(
            store.get(STORE_NAMESPACE, DECOMMISSIONED_KEY, []) if store is not None else []
        )
        # Held while a device's key is given to or taken from the trust centre, so that the
        # periodic re-permit cannot hand back the key of a device being removed.
        self._keys_lock = asyncio.Lock()
        self._ncp: EmulatedNcp | None = None
        self.app: SmartEnergyController | None = None
        self._permit_task: asyncio.Task[None] | None = None
        self._counters_task: asyncio.Task[None] | None = None
        self._reconnect_task: asyncio.Task[None] | None = None
        self._replies: set[asyncio.Task[Any]] = set()
        self._config: dict[str, Any] = {}
        self._by_eui = {eui64_to_str(d.eui64): d for d in rig.devices.values()}

    async def start(self) -> None:
        hub = self.rig.hub
        url = hub.radio.url
        if hub.radio.emulated:
            link = TcpRadioLink(self.rig.air_host, self.rig.air_port, hub.eui64, hub.name)
            self._ncp = EmulatedNcp(
                hub.eui64,
                link,
                hub.radio.ezsp_version,
                hub.name,
                store_path=self._state_dir / "hub-ncp.sqlite",
            )
            await self._ncp.start(HostLink.PTY)
            url = self._ncp.url
        config = {
            zc.CONF_DEVICE: {zc.CONF_DEVICE_PATH: url},
            # No zigpy database: zigpy would keep the network key in it in clear (clause
            # 17.2.10). The NCP's tokens keep the network (keys sealed), and the hub's own store
            # remembers which devices are where, so a restarted hub interviews them again.
            zc.CONF_DATABASE: None,
            zc.CONF_NWK_BACKUP_ENABLED: False,
            zc.CONF_TOPO_SCAN_ENABLED: False,
            zc.CONF_NWK: {
                zc.CONF_NWK_CHANNEL: hub.channel,
                zc.CONF_NWK_PAN_ID: hub.pan_id,
                zc.CONF_NWK_EXTENDED_PAN_ID: eui64_to_str(hub.extended_pan_id),
            },
            zc.CONF_ADDITIONAL_ENDPOINTS: [
                {
                    "endpoint": HUB_ENDPOINT,
                    "profile": SE_PROFILE,
                    "device_type": 0x0500,  # ESI (energy service interface)
                    "device_version": 0,
                    "input_clusters": [TIME_CLUSTER],
                    "output_clusters": [Metering.cluster_id],
                }
            ],
            "use_thread": False,
        }
        self._config = config
        await self._start_app()
        self._permit_task = asyncio.create_task(self._keep_permitting())
        self._counters_task = asyncio.create_task(self._watch_counters())

    async def _start_app(self) -> None:
        app = await SmartEnergyController.new(self._config, auto_form=True, start_radio=True)
        app.se_packet_hook = self._se_packet
        app.denied_join_hook = self._denied_join
        app.add_listener(self)
        self.app = app
        self._recall_devices()

    def connection_lost(self, exc: Exception) -> None:
        """The radio went away (NCP reset, dongle unplugged): zigpy leaves reconnecting to its
        user, so the hub starts the controller again until the radio answers."""
        LOGGER.warning("lost the HAN radio (%r); reconnecting", exc)
        self._record(EventCode.COMMUNICATION_ERROR_HAN, {"detail": f"radio lost: {exc!r}"})
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = asyncio.get_running_loop().create_task(self._reconnect())

    async def _reconnect(self) -> None:
        delay = RECONNECT_FIRST_S
        while True:
            old, self.app = self.app, None
            if old is not None:
                with contextlib.suppress(Exception):
                    await old.shutdown()
            try:
                await self._start_app()
            except Exception as exc:  # the radio is not back yet: keep trying, like a hub would
                LOGGER.warning("HAN radio not back yet (%r); retrying in %g s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            LOGGER.info("HAN radio back")
            await self._permit_all()
            self._record(EventCode.COMMUNICATION_OK_HAN, {"detail": "radio reconnected"})
            return

    async def stop(self) -> None:
        for task in (self._reconnect_task, self._permit_task, self._counters_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        if self.app is not None:
            with contextlib.suppress(Exception):
                await self.app.shutdown()
        if self._ncp is not None:
            await self._ncp.stop()

    async def _keep_permitting(self) -> None:
        """Hold the commissioning window open for the rig's devices, and only for them."""
        while True:
            await self._permit_all()
            await asyncio.sleep(PERMIT_S - 30)

    async def _permit_all(self) -> None:
        for device in self.rig.devices.values():
            async with self._keys_lock:
                if device.name not in self._decommissioned:
                    await self._permit(device)

    async def _permit(self, config: DeviceConfig) -> None:
        if self.app is None:
            return  # the radio is being reconnected; the window reopens once it is back
        with contextlib.suppress(Exception):  # a radio that fails here is reconnected elsewhere
            await self.app.permit_with_link_key(_ieee(config), t.KeyData(config.link_key), PERMIT_S)

    # -- removal and commissioning (clause 17.2.6) ---------------------------------------

    def decommissioned(self, config: DeviceConfig) -> bool:
        return config.name in self._decommissioned

    def _save_decommissioned(self) -> None:
        if self._store is not None:
            self._store.put(STORE_NAMESPACE, DECOMMISSIONED_KEY, sorted(self._decommissioned))

    async def remove(self, config: DeviceConfig) -> dict[str, Any]:
        """Remove (disassociate) a device from the HAN (clause 17.2.6).

        On the air: a ZDO Mgmt_Leave_req (no rejoin) to the device, which answers and leaves
        with a NWK Leave indication; then EZSP removeDevice, for which the trust centre sends a
        NWK Leave request (the backstop for a device that did not answer) and erases the
        device's link key and transient key. From then on the hub no longer offers the device's
        install-code key, so it cannot join again until `commission`.
        """
        if self.app is None:
            raise DeviceUnavailable("the HAN is not formed yet")
        app = self.app
        ieee = _ieee(config)
        loop = asyncio.get_running_loop()
        started = loop.time()
        async with self._keys_lock:
            self._decommissioned.add(config.name)
            self._save_decommissioned()
            self._forget_known(config)
            device = app.devices.get(ieee)
            answered = False
            if device is not None:
                # zigpy sends Mgmt_Leave_req and forgets the device once it answers.
                await app.remove(ieee, remove_children=False, rejoin=False)
                deadline = started + LEAVE_WAIT_S
                while ieee in app.devices and loop.time() < deadline:
                    await asyncio.sleep(0.05)
                answered = ieee not in app.devices
                await app.force_remove(device)
                app.devices.pop(ieee, None)
            else:
                # Not on the network now: the trust centre still forgets its keys.
                await app._ezsp.removeDevice(0xFFFE, ieee, ieee)
        elapsed = round(loop.time() - started, 3)
        LOGGER.info("removed %s from the HAN in %.3f s", config.name, elapsed)
        self._record(
            EventCode.DEVICE_LEFT,
            {
                "device": config.name,
                "eui64": str(ieee),
                "reason": "removed by the hub",
                "answered_leave": answered,
            },
        )
        return {"device": config.name, "removed": True, "answered_leave": answered}

    async def commission(self, config: DeviceConfig) -> dict[str, Any]:
        """Commission a device (again): give the trust centre its install-code key and open
        joining, so the device — which keeps trying — joins on its next attempt."""
        if self.app is None:
            raise DeviceUnavailable("the HAN is not formed yet")
        async with self._keys_lock:
            self._decommissioned.discard(config.name)
            self._save_decommissioned()
            await self._permit(config)
        LOGGER.info("commissioned %s: its install-code key is with the trust centre", config.name)
        return {"device": config.name, "commissioned": True}

    async def _watch_counters(self) -> None:
        """Poll the NCP's drop counters (EmberZNet has no callback for dropped frames) and
        record Unusual HAN traffic when frames failing authentication, replays or malformed
        frames were dropped (clauses 18.11.f, 18.11.j, 18.11.m)."""
        assert self.app is not None
        watch = CounterWatch()
        while True:
            try:
                values = await self.app._ezsp.read_counters()
            except Exception as exc:  # bellows' watchdog owns recovery of the radio link
                LOGGER.debug("cannot read the NCP counters: %r", exc)
            else:
                rises = watch.rises({c.name.removeprefix("COUNTER_"): v for c, v in values.items()})
                if rises:
                    LOGGER.warning("HAN frames dropped by the NCP: %s", rises)
                    self._record(EventCode.UNUSUAL_HAN_TRAFFIC, {"dropped": rises})
            await asyncio.sleep(COUNTERS_POLL_S)

    # -- zigpy listener ----------------------------------------------------------------

    def _forget_known(self, config: DeviceConfig) -> None:
        if self._store is not None:
            known = dict(self._store.get(STORE_NAMESPACE, KNOWN_DEVICES_KEY, {}))
            known.pop(eui64_to_str(config.eui64), None)
            self._store.put(STORE_NAMESPACE, KNOWN_DEVICES_KEY, known)

    def _recall_devices(self) -> None:
        """After a restart, tell zigpy about the devices already on our network and interview
        them again (ZDO descriptors come from their NCPs in a few round trips)."""
        assert self.app is not None
        if self._store is None:
            return
        for ieee_text, nwk in dict(self._store.get(STORE_NAMESPACE, KNOWN_DEVICES_KEY, {})).items():
            ieee = t.EUI64.convert(ieee_text)
            if ieee in self.app.devices:
                continue
            device = self.app.add_device(ieee, t.NWK(nwk))
            device.schedule_initialize()

    def device_joined(self, device: zigpy.device.Device) -> None:
        """The trust centre sent this device the network key; if it never announces itself and
        answers its interview, it could not decrypt the key: a failed connection attempt."""
        asyncio.get_running_loop().call_later(JOIN_CONFIRM_S, self._confirm_join, device)

    def _confirm_join(self, device: zigpy.device.Device) -> None:
        if (
            device.is_initialized
            or self.app is None
            or self.app.devices.get(device.ieee) is not device
        ):
            return
        LOGGER.warning(
            "%s was sent the network key but never came up: wrong install code?", device.ieee
        )
        self._record(
            EventCode.FAILED_CONNECTION_ATTEMPT,
            {
                "eui64": str(device.ieee),
                "nwk": int(device.nwk),
                "reason": "no answer after key transport (wrong install code?)",
            },
        )

    def device_initialized(self, device: zigpy.device.Device, *args: Any) -> None:
        config = self._by_eui.get(str(device.ieee))
        name = config.name if config else None
        if self._store is not None:
            known = dict(self._store.get(STORE_NAMESPACE, KNOWN_DEVICES_KEY, {}))
            known[str(device.ieee)] = int(device.nwk)
            self._store.put(STORE_NAMESPACE, KNOWN_DEVICES_KEY, known)
        LOGGER.info("device %s (%s) joined as 0x%04x", name or "unknown", device.ieee, device.nwk)
        self._record(
            EventCode.DEVICE_JOINED,
            {"device": name, "eui64": str(device.ieee), "nwk": int(device.nwk)},
        )

    def device_left(self, device: zigpy.device.Device) -> None:
        self._record(EventCode.DEVICE_LEFT, {"eui64": str(device.ieee)})

    def _denied_join(self, nwk: int, eui64: str) -> None:
        config = self._by_eui.get(eui64)
        removed = config is not None and config.name in self._decommissioned
        reason = "removed from the HAN" if removed else "unknown EUI-64"
        LOGGER.warning("refused join of %s: %s", eui64, reason)
        self._record(
            EventCode.FAILED_CONNECTION_ATTEMPT, {"eui64": eui64, "nwk": nwk, "reason": reason}
        )

    def _se_packet(self, packet: t.ZigbeePacket) -> bool:
        """Serve the hub's own SE clusters (Time); everything else goes to zigpy."""
        if packet.cluster_id != TIME_CLUSTER or packet.dst_ep != HUB_ENDPOINT or self.app is None:
            return False
        try:
            reply = self._time.answer(packet.data.serialize())
        except (ValueError, KeyError) as exc:
            self._record(EventCode.MALFORMED_MESSAGE, {"cluster": TIME_CLUSTER, "error": str(exc)})
            return True
        if reply is not None and packet.src is not None:
            device = self.app.get_device(nwk=packet.src.address)
            task = asyncio.get_running_loop().create_task(
                device.request(
                    SE_PROFILE,
                    TIME_CLUSTER,
                    HUB_ENDPOINT,
                    packet.src_ep,
                    reply[1],
                    reply,
                    expect_reply=False,
                )
            )
            self._replies.add(task)  # held until done: the loop keeps only weak references
            task.add_done_callback(self._replies.discard)
        return True

    # -- queries -----------------------------------------------------------------------

    def joined(self) -> dict[str, bool]:
        return {d.name: self._device(d) is not None for d in self.rig.devices.values()}

    def _device(self, config: DeviceConfig) -> zigpy.device.Device | None:
        if self.app is None or config.name in self._decommissioned:
            return None
        with contextlib.suppress(KeyError):
            device = self.app.get_device(ieee=_ieee(config))
            if device.is_initialized:
                return device
        return None

    def signal(self, config: DeviceConfig) -> dict[str, int | None]:
        device = self._device(config)
        return {"lqi": device.lqi, "rssi": device.rssi} if device else {"lqi": None, "rssi": None}

    async def read_metering(self, config: DeviceConfig) -> dict[str, int]:
        """Read the Metering cluster of a device over the HAN (on-demand read, clause 6.1.11)."""
        device = self._device(config)
        if config.name in self._decommissioned:
            raise DeviceUnavailable(
                f"{config.name} was removed from the HAN; commission it again to read it"
            )
        if device is None:
            raise DeviceUnavailable(f"{config.name} has not joined the HAN")
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
            raise DeviceUnavailable(
                f"{config.name} did not return {', '.join(missing)} ({failure})"
            )
        return {name: int(value) for name, value in success.items()}


def _ieee(config: DeviceConfig) -> t.EUI64:
    return t.EUI64.convert(eui64_to_str(config.eui64))

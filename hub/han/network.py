"""The hub's side of the HAN: the coordinator and trust centre, and what it knows of devices.

Runs `SmartEnergyController` (stock bellows, DESIGN.md §3) on the hub's NCP port (an emulated
NCP or a real dongle: the board decides). Who may join is `Commissioning`'s business; which
devices are where survives restarts in `KnownDevices`. zigpy leaves reconnecting a lost radio
to its user: the hub starts the controller again until the radio answers.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from typing import Any

import zigpy.config as zc
import zigpy.device
import zigpy.types as t

from firmware.clock_waits import sleep_real
from firmware.counter_watch import CounterWatch
from firmware.rate_limit import OncePer
from firmware.rig import DeviceConfig, DeviceKind, Rig
from firmware.zcl.frame import ZclFrame
from firmware.zcl.server import ZclServer
from hal.ports import Clock, NonVolatileStore
from hal.radio import Ncp
from protocol.errors import DecodeError, SmartMeterError
from protocol.event_codes import EventCode
from protocol.ieee802154 import eui64_to_str
from protocol.se_aps_policy import needs_aps_encryption
from protocol.zigbee_ids import SE_PROFILE, ClusterId, SeDeviceId

from .commissioning import Commissioning, DeviceUnavailable, RecordEvent, ieee_of
from .event_client import EventSink, answer_publish_event
from .interview_retry import InterviewRetry
from .known_devices import KnownDevices
from .messages import send_display_message, send_new_password
from .meter_tunnel import exchange
from .metering_read import MeteringReader
from .presence import Presence
from .se_controller import SmartEnergyController

__all__ = ["HUB_ENDPOINT", "ZIGPY_OTA_OFF", "HanNetwork"]

LOGGER = logging.getLogger(__name__)
#: Emulated seconds between two complaints of one kind about event frames.
EVENT_COMPLAINT_EVERY_S = 60.0
#: zigpy keeps endpoints 1 (HA), 2 (ZLL) and 242 (GP) for itself; the Energy Service Interface is 9.
HUB_ENDPOINT = 9
#: Real seconds a newly admitted device has to come up (announce, answer its interview).
JOIN_CONFIRM_S = 10.0
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 10.0
#: Real seconds between polls of the NCP's security-drop counters (an EZSP exchange each).
COUNTERS_POLL_S = 10.0
#: zigpy's OTA section: off. GB firmware updates are not zigpy's; so no image providers to load
#: (hub/__main__.py defers their module), no Image Notify broadcast on the HAN every 3.9 hours.
ZIGPY_OTA_OFF: dict[str, Any] = {zc.CONF_OTA_ENABLED: False, zc.CONF_OTA_PROVIDERS: []}


class HanNetwork:
    """The HAN as the hub runs it."""

    def __init__(
        self,
        rig: Rig,
        ncp: Ncp,
        clock: Clock,
        store: NonVolatileStore,
        record: RecordEvent,
        zcl_server: ZclServer,
    ) -> None:
        self.rig = rig
        self._ncp = ncp
        self._clock = clock
        self._record = record
        #: The hub's own server clusters on its ESI endpoint (Time), ZCL engine of the platform.
        self.zcl_server = zcl_server
        self.known = KnownDevices(store)
        self.app: SmartEnergyController | None = None
        self.commissioning = Commissioning(rig, self.known, clock, record, lambda: self.app)
        self.presence = Presence(rig, clock, record, self._interviewed)
        self._metering = MeteringReader()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._reconnect_task: asyncio.Task[None] | None = None
        self._config: dict[str, Any] = {}
        self._by_eui = {eui64_to_str(d.eui64): d for d in rig.devices.values()}
        #: Where the meters' published events go (`hub.meter_events`); None: not taken.
        self.event_sink: EventSink | None = None
        self._interviews = InterviewRetry(clock, set(self._by_eui), self._spawn)
        #: Complaints about event frames (a failing store, strangers, frames in the clear)
        #: at most once a minute each: a flood of frames must not become a flood of logs.
        self._complain = OncePer(clock, EVENT_COMPLAINT_EVERY_S)

    async def start(self) -> None:
        hub = self.rig.hub
        path = await self._ncp.power_on()
        self._config = {
            zc.CONF_DEVICE: {zc.CONF_DEVICE_PATH: path},
            # No zigpy database: zigpy would keep the network key in it in clear (clause
            # 17.2.10). The NCP's tokens keep the network (keys sealed), and the hub's own store
            # remembers which devices are where, so a restarted hub interviews them again.
            zc.CONF_DATABASE: None,
            zc.CONF_NWK_BACKUP_ENABLED: False,
            zc.CONF_TOPO_SCAN_ENABLED: False,
            zc.CONF_OTA: ZIGPY_OTA_OFF,
            zc.CONF_NWK: {
                zc.CONF_NWK_CHANNEL: hub.channel,
                zc.CONF_NWK_PAN_ID: hub.pan_id,
                zc.CONF_NWK_EXTENDED_PAN_ID: eui64_to_str(hub.extended_pan_id),
            },
            zc.CONF_ADDITIONAL_ENDPOINTS: [
                {
                    "endpoint": HUB_ENDPOINT,
                    "profile": SE_PROFILE,
                    "device_type": SeDeviceId.ENERGY_SERVICE_INTERFACE,
                    "device_version": 0,
                    "input_clusters": self.zcl_server.clusters,
                    "output_clusters": [ClusterId.METERING, ClusterId.EVENTS],
                }
            ],
            "use_thread": False,
        }
        await self._start_app()
        self._spawn(self.commissioning.keep_permitting())
        self._spawn(self._watch_counters())
        self._spawn(self.presence.watch())

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)  # held until done: the loop keeps only weak references
        task.add_done_callback(self._tasks.discard)
        return task

    async def _start_app(self) -> None:
        started = asyncio.get_running_loop().time()
        app = await SmartEnergyController.new(self._config, auto_form=True, start_radio=True)
        LOGGER.info("HAN controller up in %.2f s", asyncio.get_running_loop().time() - started)
        app.se_packet_hook = self._se_packet
        app.denied_join_hook = self._denied_join
        app.heard_hook = self._heard
        app.add_listener(self)
        app.add_listener(self._interviews)
        self.app = app
        self._recall_devices()

    def connection_lost(self, exc: Exception) -> None:
        """The radio went away (NCP reset, dongle unplugged): start the controller again."""
        LOGGER.warning("lost the HAN radio (%r); reconnecting", exc)
        self._record(EventCode.COMMUNICATION_ERROR_HAN, {"detail": f"radio lost: {exc!r}"})
        if self._reconnect_task is None or self._reconnect_task.done():
            self._reconnect_task = self._spawn(self._reconnect())

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
                await sleep_real(self._clock, delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            LOGGER.info("HAN radio back")
            await self.commissioning.permit_all()
            self._record(EventCode.COMMUNICATION_OK_HAN, {"detail": "radio reconnected"})
            return

    async def stop(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.app is not None:
            with contextlib.suppress(Exception):
                await self.app.shutdown()
        await self._ncp.power_off()

    async def _watch_counters(self) -> None:
        """Poll the NCP's drop counters (EmberZNet has no callback for dropped frames) and
        record Unusual HAN traffic when frames failing authentication, replays or malformed
        frames were dropped (clauses 18.11.f, 18.11.j, 18.11.m)."""
        watch = CounterWatch()
        while True:
            app = self.app
            if app is not None:
                try:
                    rises = watch.rises(await app.read_ncp_counters())
                except Exception as exc:  # bellows' watchdog owns recovery of the radio link
                    LOGGER.debug("cannot read the NCP counters: %r", exc)
                else:
                    if rises:
                        LOGGER.warning("HAN frames dropped by the NCP: %s", rises)
                        self._record(EventCode.UNUSUAL_HAN_TRAFFIC, {"dropped": rises})
            await sleep_real(self._clock, COUNTERS_POLL_S)

    # -- zigpy listener ----------------------------------------------------------------

    def _recall_devices(self) -> None:
        """After a restart, tell zigpy about the devices already on our network and interview
        them again (ZDO descriptors come from their NCPs in a few round trips)."""
        assert self.app is not None
        for ieee_text, nwk in self.known.addresses().items():
            ieee = t.EUI64.convert(ieee_text)
            if ieee in self.app.devices:
                continue
            address: Any = t.NWK
            device = self.app.add_device(ieee, address(nwk))
            device.schedule_initialize()
            self._interviews.watch(device)

    def device_joined(self, device: zigpy.device.Device) -> None:
        """The trust centre sent this device the network key; if it never announces itself and
        answers its interview, it could not decrypt the key: a failed connection attempt."""
        self._metering.forget(str(device.ieee))
        self._spawn(self._confirm_join(device))

    async def _confirm_join(self, device: zigpy.device.Device) -> None:
        await sleep_real(self._clock, JOIN_CONFIRM_S)
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
        self._metering.forget(str(device.ieee))
        self.known.seen(str(device.ieee), int(device.nwk))
        LOGGER.info("device %s (%s) joined as 0x%04x", name or "unknown", device.ieee, device.nwk)
        self._record(
            EventCode.DEVICE_JOINED,
            {"device": name, "eui64": str(device.ieee), "nwk": int(device.nwk)},
        )
        if config is not None:
            self._spawn(self.commissioning.joined(config))

    def _heard(self, nwk: int) -> None:
        if self.app is None:
            return
        with contextlib.suppress(KeyError):
            self.presence.heard(str(self.app.get_device(nwk=nwk).ieee))

    def device_left(self, device: zigpy.device.Device) -> None:
        self._record(EventCode.DEVICE_LEFT, {"eui64": str(device.ieee)})

    def _denied_join(self, nwk: int, eui64: str) -> None:
        config = self._by_eui.get(eui64)
        removed = config is not None and self.known.decommissioned(config.name)
        reason = "removed from the HAN" if removed else "unknown EUI-64"
        LOGGER.warning("refused join of %s: %s", eui64, reason)
        self._record(
            EventCode.FAILED_CONNECTION_ATTEMPT, {"eui64": eui64, "nwk": nwk, "reason": reason}
        )

    def _se_packet(self, packet: t.ZigbeePacket) -> bool:
        """Serve the hub's own SE server clusters (Time) with the platform's ZCL engine;
        everything else (responses to the hub's own requests) goes to zigpy."""
        cluster_id = int(packet.cluster_id)
        if packet.dst_ep == HUB_ENDPOINT and cluster_id == ClusterId.EVENTS and self.event_sink:
            return self._published_event(packet)
        if packet.dst_ep != HUB_ENDPOINT or cluster_id not in self.zcl_server.clusters:
            return False
        src: Any = packet.src
        if self.app is None or src is None or packet.src_ep is None:
            return True
        payload = packet.data.serialize()
        source = (int(src.address), int(packet.src_ep))
        try:
            frame = ZclFrame.parse(payload)
            if not frame.to_server:
                return False  # an answer to a request of the hub's: zigpy's business
            reply = self.zcl_server.handle(cluster_id, frame, source=source)
        except DecodeError as exc:
            self._record(
                EventCode.MALFORMED_MESSAGE,
                {
                    "sender": f"0x{source[0]:04x}",
                    "cluster": f"0x{cluster_id:04x}",
                    "payload": payload.hex(),
                    "reason": str(exc),
                },
            )
            return True
        if reply is not None:
            self._answer(packet, reply)
        return True

    def _answer(self, packet: t.ZigbeePacket, reply: bytes) -> None:
        """Send `reply` (a ZCL frame) back to where `packet` came from."""
        src: Any = packet.src
        if self.app is None:
            return
        try:
            device = self.app.get_device(nwk=src.address)
        except KeyError:  # a sender zigpy does not know (not interviewed): nowhere to answer
            return
        self._spawn(
            device.request(
                SE_PROFILE,
                int(packet.cluster_id),
                HUB_ENDPOINT,
                packet.src_ep,
                reply[1],
                reply,
                expect_reply=False,
            )
        )

    def _meters(self) -> frozenset[str]:
        """The premises' meters: the only devices whose events the hub takes."""
        return frozenset(
            d.name
            for d in self.rig.devices.values()
            if d.kind in (DeviceKind.ESME, DeviceKind.GSME)
        )

    def _published_event(self, packet: t.ZigbeePacket) -> bool:
        """A meter's PublishEvent (`hub.han.event_client`): stored, then answered. The Events
        cluster travels under the meter's link key (SE 5.4.6): a frame that arrived without
        APS encryption is refused unanswered, as Unauthenticated message (18.11.j)."""
        src: Any = packet.src
        sink = self.event_sink
        if self.app is None or src is None or packet.src_ep is None or sink is None:
            return True
        try:
            frame = ZclFrame.parse(packet.data.serialize())
        except DecodeError:
            return False  # zigpy's business, as any other frame it cannot place
        if frame.to_server or frame.is_general:
            return False  # an answer to a request of the hub's: zigpy's business
        sender = self.name_of(int(src.address))
        encrypted = t.TransmitOptions.APS_Encryption in packet.tx_options
        if not encrypted and needs_aps_encryption(SE_PROFILE, int(packet.cluster_id)):
            if self._complain(("clear", sender)):
                LOGGER.warning("PublishEvent from %s without APS encryption: refused", sender)
                self._record(
                    EventCode.UNAUTHENTICATED_MESSAGE,
                    {"sender": sender, "cluster": "0x0709", "reason": "not APS encrypted"},
                )
            return True
        try:
            reply = answer_publish_event(
                frame,
                sender,
                sink,
                self._record,
                self._meters(),
                lambda who: self._complain(("stranger", who)),
            )
        except (SmartMeterError, sqlite3.Error) as exc:
            # The store failed: no answer, the meter publishes the event again.
            if self._complain(("store", None)):
                LOGGER.error("a published event could not be stored: %s", exc)
            return True
        if reply is not None:
            self._answer(packet, reply)
        return True

    # -- queries -----------------------------------------------------------------------

    def joined(self) -> dict[str, bool]:
        """Each device: on the network, interviewed, and answering (not gone quiet)."""
        return {d.name: self._device(d) is not None for d in self.rig.devices.values()}

    def presence_of(self, config: DeviceConfig) -> dict[str, Any]:
        """Whether the device answers, and when the hub last heard it (its clock, UTC)."""
        return self.presence.describe(config.name)

    def _interviewed(self, config: DeviceConfig) -> zigpy.device.Device | None:
        if self.app is None or self.known.decommissioned(config.name):
            return None
        with contextlib.suppress(KeyError):
            device: zigpy.device.Device = self.app.get_device(ieee=ieee_of(config))
            if device.is_initialized:
                return device
        return None

    def _device(self, config: DeviceConfig) -> zigpy.device.Device | None:
        device = self._interviewed(config)
        return device if device is not None and self.presence.present(config.name) else None

    def name_of(self, nwk: int) -> str | None:
        """The rig's name of the joined device at `nwk`, None if it is not one of ours."""
        if self.app is None:
            return None
        try:
            device = self.app.get_device(nwk=nwk)
        except KeyError:
            return None
        config = self._by_eui.get(str(device.ieee))
        return None if config is None else config.name

    def signal(self, config: DeviceConfig) -> dict[str, int | None]:
        device = self._device(config)
        return {"lqi": device.lqi, "rssi": device.rssi} if device else {"lqi": None, "rssi": None}

    async def read_metering(self, config: DeviceConfig) -> dict[str, int]:
        """Read the Metering cluster of a device over the HAN (on-demand read, clause 6.1.11)."""
        if self.known.decommissioned(config.name):
            raise DeviceUnavailable(
                f"{config.name} was removed from the HAN; commission it again to read it"
            )
        device = self._device(config)
        if device is None:
            raise DeviceUnavailable(f"{config.name} has not joined the HAN")
        return await self._metering.read(device, config)

    async def display_message(
        self, config: DeviceConfig, text: str, request_id: str | None = None
    ) -> int:
        """Show `text` on a device's display (Messaging DisplayMessage, e.g. 'Welcome');
        `request_id`, the WAN command's, makes the message id the device remembers."""
        device = self._device(config)
        if device is None:
            raise DeviceUnavailable(f"{config.name} has not joined the HAN")
        return await send_display_message(device, config.name, HUB_ENDPOINT, text, request_id)

    async def set_local_password(
        self, config: DeviceConfig, password: str, request_id: str | None = None
    ) -> int:
        """Give a meter a new local-access password (DM RequestNewPasswordResponse)."""
        device = self._device(config)
        if device is None:
            raise DeviceUnavailable(f"{config.name} has not joined the HAN")
        return await send_new_password(device, config.name, HUB_ENDPOINT, password, request_id)

    async def tunnel(self, config: DeviceConfig, message: dict[str, Any]) -> dict[str, Any]:
        """A head-end command through the meter's tunnel (Tunneling 0x0704); its answer."""
        device = self._device(config)
        if device is None:
            raise DeviceUnavailable(f"{config.name} has not joined the HAN")
        return await exchange(device, config.name, HUB_ENDPOINT, message)

    async def remove(self, config: DeviceConfig) -> dict[str, Any]:
        return await self.commissioning.remove(config)

    async def commission(self, config: DeviceConfig) -> dict[str, Any]:
        return await self.commissioning.commission(config)

    def decommissioned(self, config: DeviceConfig) -> bool:
        return self.known.decommissioned(config.name)

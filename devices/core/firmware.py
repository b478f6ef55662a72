"""What every device's firmware shares: power-up, the HAN link, ZCL dispatch and the bench port.

`Firmware` is the base of the ESME, GSME and IHD firmware. It is given its identity on the HAN
(`DeviceIdentity`) and its HAL ports (a `firmware.boards.DeviceBoard`, built by the process's
composition root from the rig, or by a test), and:

- records Power up (B.1.1) at start and Power down (B.9.1) at a clean stop (event log, 18.2);
- resumes the network its radio remembers (NCP tokens), else joins the HAN through its EZSP radio
  with its install-code link key (clause 17.2.15) and keeps trying every few seconds until the hub
  lets it in, since the hub may permit joining long after we start; it rejoins when the network
  goes down. While joined it polls the radio's drop counters and records Unusual HAN traffic when
  frames failing authentication, replays or malformed frames were dropped (18.11.f/j/m). Each change of the HAN link is logged once as
  Communication error HAN (B.7.1) or Communication ok HAN (B.7.2) (clause 18.9.h);
- parses incoming ZCL frames: requests go to its `ZclServer`, responses to its `ZclClient`;
  frames that cannot be parsed are logged as Malformed message (clause 18.11.j) and dropped;
- offers the bench commands every component has: `status`, `display` and `events`.

Subclasses add their clusters (`served_clusters`), their loops (`on_start`), what they persist
at a stop (`on_stop`) and their own bench commands (`extra_handlers`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, ClassVar

from firmware.boards import DeviceBoard, Panel
from firmware.clock_waits import sleep_real
from firmware.counter_watch import CounterWatch
from firmware.event_log import EventLog
from firmware.rig import CommsLossRules, DeviceKind
from firmware.zcl.client import ZclClient
from firmware.zcl.cluster_server import ClusterServer
from firmware.zcl.frame import ZclFrame
from firmware.zcl.reporting import ReportingTable
from firmware.zcl.server import ZclServer
from hal.control_socket import Handler, Request
from hal.radio import EndpointDescriptor, IncomingMessage
from protocol.errors import DecodeError, TransientLinkError
from protocol.event_codes import EventCode
from protocol.ieee802154 import eui64_to_str
from protocol.nameplate import Nameplate
from protocol.se import Messaging
from protocol.zigbee_ids import BROADCAST_ENDPOINT, SE_PROFILE, ZDO_PROFILE

from .request_memory import RequestMemory

__all__ = ["DeviceIdentity", "Firmware"]
#: Real seconds between join attempts (a radio matter, so real time; see `zcl_client`).
JOIN_RETRY_REAL_S = 5.0
JOIN_RETRY_FIRST_S = 0.25
#: Real seconds between polls of the radio's security-drop counters: an EZSP exchange each, the
#: biggest share of an idle device's work at 5 s; an attack is still logged within 10 s.
COUNTERS_POLL_REAL_S = 10.0
FIRMWARE_VERSION = "0.1.0"
#: The coordinator, trust centre and ESI of the HAN: the hub.
TRUST_CENTRE = 0x0000


@dataclass(frozen=True)
class DeviceIdentity:
    """Who a device is on the HAN, and which HAN it joins."""

    name: str
    eui64: int
    link_key: bytes
    channel: int
    extended_pan_id: int = 0
    #: The install code with its CRC, as printed on the nameplate (the link key's source).
    install_code: bytes = b""
    #: The premises' loss-of-communications rules (12.7.3; the IHD shows their messages).
    comms_loss: CommsLossRules = field(default_factory=CommsLossRules)


class Firmware:
    """Base of the device firmware; see the module docstring."""

    kind: ClassVar[DeviceKind]
    endpoint: ClassVar[EndpointDescriptor]
    router: ClassVar[bool]
    #: The buttons and tamper inputs of the device's case, for its board.
    panel: ClassVar[Panel] = Panel()

    def __init__(self, identity: DeviceIdentity, board: DeviceBoard) -> None:
        self.identity = identity
        self.board = board
        self.name = identity.name
        self.clock = board.clock
        self.store = board.store
        self.display = board.display
        self.radio = board.radio
        self.events = EventLog(board.store, board.clock, identity.name)
        self.zcl_server = ZclServer(self.served_clusters(), ReportingTable(board.store))
        self.zcl_client = ZclClient(board.clock, self.send)
        self.log = logging.getLogger(f"devices.{self.name}")
        #: What the case's label says, and its bar code (20.4.2.a).
        self.nameplate = Nameplate.of(
            self.kind.value, identity.eui64, identity.install_code, eui64_to_str(identity.eui64)
        )
        self._tasks: set[asyncio.Task[Any]] = set()
        self._joined = asyncio.Event()
        self._network_down = asyncio.Event()
        self._han_ok: bool | None = None
        self._connected = False
        self._running = False
        #: LQI and RSSI of the last frame heard from the hub: the hub-to-device half of the
        #: HAN link quality an installer checks (20.4.1.c).
        self.hub_signal: dict[str, int | None] = {"lqi": None, "rssi": None}
        # The hub (the ESI) sends the consumer messages, e.g. 'Welcome' (20.2.8).
        self.zcl_client.on_command(Messaging, self._messaging)
        #: Requests from the hub already carried out, by issuer id (19.1.6).
        self.requests = RequestMemory(self.store)

    # -- subclass hooks ----------------------------------------------------------------

    def served_clusters(self) -> list[ClusterServer]:
        """Server clusters of our endpoint."""
        return []

    async def on_start(self) -> None:
        """Start the device's own loops (with `spawn`)."""

    async def on_stop(self) -> None:
        """Persist what must survive; the device's loops are already cancelled."""

    def on_zdo(self, message: IncomingMessage) -> None:
        """A ZDO frame the NCP passed up (responses, announcements)."""

    def extra_handlers(self) -> dict[str, Handler]:
        """The device's own bench commands."""
        return {}

    def on_display_message(self, text: str) -> None:
        """A message from the hub to show ('' when cancelled); the device decides where."""

    def _messaging(self, sender: int, endpoint: int, name: str, fields: Any) -> None:
        if sender != TRUST_CENTRE:
            self.log.warning("message from 0x%04x ignored: only the hub sends them", sender)
        elif name in ("display_message", "display_protected_message"):
            with self.store.transaction() as tx:
                if not self.requests.first_time(tx, Messaging.cluster_id, int(fields.message_id)):
                    self.log.info("message %d shown already: not again", int(fields.message_id))
                    return
                self.on_display_message(str(fields.message))
        elif name in ("cancel_message", "cancel_all_messages"):
            self.on_display_message("")

    # -- life cycle --------------------------------------------------------------------

    @property
    def joined(self) -> bool:
        return self._joined.is_set() and self.radio.node_id is not None

    @property
    def nwk(self) -> int | None:
        return self.radio.node_id if self.joined else None

    async def wait_joined(self) -> None:
        await self._joined.wait()

    async def start(self) -> None:
        """Power up: log it, start joining the HAN and the device's loops."""
        self.events.record(
            EventCode.POWER_UP,
            {"firmware": FIRMWARE_VERSION, "eui64": eui64_to_str(self.identity.eui64)},
        )
        self._running = True
        self.spawn(self._han_link(), "han-link")
        await self.on_start()
        self.log.info("%s %s started", self.kind.value.upper(), self.name)

    async def stop(self) -> None:
        """Clean power down: stop the loops, persist, log B.9.1 and release the radio."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if not self._running:
            return
        self._running = False
        try:
            await self.on_stop()
        finally:
            self.events.record(EventCode.POWER_DOWN, {"reason": "shutdown"})
            await self.radio.close()
        self.log.info("%s %s stopped", self.kind.value.upper(), self.name)

    def spawn(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run `coro` as a task the firmware owns: cancelled at stop, its crash logged."""
        task = asyncio.create_task(coro, name=f"{self.name}:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.log.error("task %s crashed", task.get_name(), exc_info=task.exception())
            # Clause 18.9.j: an unhandled exception is an event, not a silent death.
            with contextlib.suppress(Exception):
                self.events.record(
                    EventCode.UNEXPECTED_PROGRAM_OPERATION,
                    {"task": task.get_name(), "error": repr(task.exception())},
                )

    # -- the HAN link ------------------------------------------------------------------

    async def _han_link(self) -> None:
        retry_s = JOIN_RETRY_FIRST_S
        while True:
            try:
                if not self._connected:
                    await self.radio.connect(
                        self.endpoint,
                        router=self.router,
                        on_message=self.handle_message,
                        on_network_down=self._on_network_down,
                    )
                    self._connected = True
                # A radio that remembers its network (NCP tokens) comes back without joining.
                node_id = await self.radio.resume()
                if node_id is None:
                    node_id = await self.radio.join(
                        link_key=self.identity.link_key,
                        channel=self.identity.channel,
                        extended_pan_id=self.identity.extended_pan_id,
                    )
            except TransientLinkError as exc:
                # Quick retries first (the hub may be forming the network as we start), then
                # no more often than every JOIN_RETRY_REAL_S, as a real meter spares the channel.
                self.log.info("not on the HAN yet (%s); retrying in %g s", exc, retry_s)
                self._han_changed(False, str(exc))
                await sleep_real(self.clock, retry_s)
                retry_s = min(retry_s * 2, JOIN_RETRY_REAL_S)
                continue
            except Exception as exc:
                # The radio library failed in a way it does not classify (a dongle unplugged,
                # an EZSP timeout): start again from a fresh connection rather than give up.
                self.log.warning("radio failure (%r); reconnecting in %g s", exc, JOIN_RETRY_REAL_S)
                self._han_changed(False, repr(exc))
                await self.radio.close()
                self._connected = False
                await sleep_real(self.clock, JOIN_RETRY_REAL_S)
                continue
            retry_s = JOIN_RETRY_FIRST_S
            self.log.info("joined the HAN as 0x%04x", node_id)
            self._han_changed(True, f"joined as 0x{node_id:04x}")
            self._network_down.clear()
            self._joined.set()
            watch = self.spawn(self._watch_counters(), "han-counters")
            await self._network_down.wait()
            watch.cancel()
            self._joined.clear()
            self._han_changed(False, "network down")

    async def _watch_counters(self) -> None:
        """Poll the radio's drop counters; a rise is unusual HAN traffic (clauses 18.11.f,
        18.11.j, 18.11.m): frames failing authentication, replays or malformed frames."""
        watch = CounterWatch()
        while True:
            try:
                rises = watch.rises(await self.radio.counters())
            except Exception as exc:  # a radio failure is the HAN link loop's business
                self.log.debug("cannot read the radio counters: %r", exc)
                rises = {}
            if rises:
                self.log.warning("HAN frames dropped by the radio: %s", rises)
                self.events.record(EventCode.UNUSUAL_HAN_TRAFFIC, {"dropped": rises})
            await sleep_real(self.clock, COUNTERS_POLL_REAL_S)

    def _on_network_down(self) -> None:
        self.log.warning("the HAN went down")
        self._network_down.set()

    def _han_changed(self, ok: bool, detail: str) -> None:
        """Log B.7.1/B.7.2 on a change only, not on every retry."""
        if self._han_ok is ok:
            return
        self._han_ok = ok
        code = EventCode.COMMUNICATION_OK_HAN if ok else EventCode.COMMUNICATION_ERROR_HAN
        self.events.record(code, {"detail": detail})

    # -- messages ----------------------------------------------------------------------

    async def send(self, destination: int, cluster_id: int, endpoint: int, payload: bytes) -> None:
        """APS-acknowledged unicast on the Smart Energy profile; TransientLinkError if not sent."""
        if not self.joined:
            raise TransientLinkError("not joined to the HAN")
        await self.radio.send(destination, cluster_id, endpoint, payload)

    def record_malformed(
        self,
        error: DecodeError,
        *,
        sender: int,
        cluster_id: int,
        payload: bytes = b"",
        profile_id: int = SE_PROFILE,
    ) -> None:
        """Clause 18.11.j: a malformed HAN message is detected, logged and dropped."""
        self.log.warning("malformed frame from 0x%04x: %s", sender, error)
        self.events.record(
            EventCode.MALFORMED_MESSAGE,
            {
                "sender": f"0x{sender:04x}",
                "profile": f"0x{profile_id:04x}",
                "cluster": f"0x{cluster_id:04x}",
                "payload": payload.hex(),
                "reason": str(error),
            },
        )

    def handle_message(self, message: IncomingMessage) -> None:
        if message.sender == TRUST_CENTRE:
            self.hub_signal = {"lqi": message.lqi, "rssi": message.rssi}
        if message.profile_id == ZDO_PROFILE:
            self.on_zdo(message)
            return
        if message.profile_id != SE_PROFILE or message.dst_endpoint not in (
            self.endpoint.endpoint,
            BROADCAST_ENDPOINT,
        ):
            return  # not for our endpoint (e.g. Green Power broadcasts): not ours to judge
        try:
            frame = ZclFrame.parse(message.payload)
            if frame.to_server:
                reply = self.zcl_server.handle(
                    message.cluster_id,
                    frame,
                    source=(message.sender, message.src_endpoint),
                    broadcast=message.broadcast,
                )
            else:
                reply = self.zcl_client.handle(
                    message.sender, message.src_endpoint, message.cluster_id, frame
                )
        except DecodeError as exc:
            self.record_malformed(
                exc,
                sender=message.sender,
                cluster_id=message.cluster_id,
                payload=message.payload,
                profile_id=message.profile_id,
            )
            return
        if reply is not None:
            self.spawn(self._reply(message, reply), "zcl-reply")

    async def send_due_reports(self) -> None:
        """Send the attribute reports due now (ZCL 2.5.11) to the clients that asked."""
        for (nwk, endpoint), cluster_id, payload in self.zcl_server.due_reports(
            self.clock.monotonic()
        ):
            try:
                await self.send(nwk, cluster_id, endpoint, payload)
            except TransientLinkError as exc:
                self.log.info("report to 0x%04x not delivered: %s", nwk, exc)

    async def _reply(self, request: IncomingMessage, payload: bytes) -> None:
        try:
            await self.send(request.sender, request.cluster_id, request.src_endpoint, payload)
        except TransientLinkError as exc:
            self.log.info("reply to 0x%04x not delivered: %s", request.sender, exc)

    # -- bench port --------------------------------------------------------------------

    def control_handlers(self) -> dict[str, Handler]:
        handlers: dict[str, Handler] = {
            "status": self._cmd_status,
            "display": self._cmd_display,
            "events": self._cmd_events,
            "nameplate": self._cmd_nameplate,
        }
        handlers.update(self.extra_handlers())
        return handlers

    def status(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind.value,
            "joined": self.joined,
            "nwk": self.nwk,
            "eui64": eui64_to_str(self.identity.eui64),
            "now": self.clock.now().isoformat(),
            "hub_signal": self.hub_signal,
        }

    async def _cmd_status(self, request: Request) -> dict[str, Any]:
        return self.status()

    async def _cmd_display(self, request: Request) -> dict[str, Any]:
        updated = self.display.updated_at
        return {
            "lines": self.display.lines(),
            "updated_at": None if updated is None else updated.isoformat(),
        }

    async def _cmd_nameplate(self, request: Request) -> dict[str, Any]:
        """The nameplate as printed: serial number, variant code, EUI-64, install code, and the
        bar code the HHT's reader scans (20.4.2.a)."""
        plate = self.nameplate
        return {
            "kind": plate.kind,
            "serial": plate.serial,
            "variant": plate.variant,
            "eui64": plate.eui64,
            "install_code": plate.install,
            "barcode": plate.barcode(),
        }

    async def _cmd_events(self, request: Request) -> dict[str, Any]:
        limit = int(request.get("limit", 50))
        if not 1 <= limit <= 1000:
            raise ValueError("limit must be 1..1000")
        return {"events": [record.report().to_dict() for record in self.events.recent(limit)]}

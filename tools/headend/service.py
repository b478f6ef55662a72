"""The head-end simulator's WAN side and its control commands.

One MQTT session (`hal.real.mqtt_wan.MqttSession`, persistent, QoS 1) subscribed to the
status, ack, result and event channels of every hub (`smartmeter/v1/+/...`). Scaling out to
several head-end processes would use a shared subscription ($share/...) on the same filters.

An on-demand read (clauses 6.1.3 pull, 6.1.11, 16.15) sends a `read` command to the hub the
device sits behind, then waits for its acknowledgement (19.1.6) and result. The clause gives the
system 10 s to answer an ad hoc request, which is the default deadline here. Removing a device
from its HAN and commissioning it again (clause 17.2.6) travel the same way as `remove` and
`commission` commands.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hal import trace
from hal.control_socket import ControlError, Handler, Reply, Request
from hal.real.mqtt_wan import MqttSession, MqttTls
from protocol.errors import ConfigError, DecodeError, TransientLinkError
from protocol.wan import (
    AckStatus,
    Channel,
    CommandAck,
    CommandResult,
    CommandType,
    HubStatus,
    UplinkAck,
    UplinkKind,
    UplinkMessage,
    WanCommand,
    all_hubs_topic,
    component_of,
    event_from_json,
    parse_topic,
    request_id,
    topic,
)
from protocol.wan_security import Header, Refusal, SecurityRefusal
from tools.headend.inventory import Inventory
from tools.headend.records import supplier_name, supplier_of
from tools.headend.security import HeadendSecurity
from tools.headend.store import HeadendStore

LOGGER = logging.getLogger(__name__)
READ_DEADLINE_S = 10.0  # clause 6.1.11: ad hoc requests answered within 10 seconds
#: Seconds without an ack before a command is sent again (same request id, sealed afresh).
RESEND_S = 2.0
MAX_DEADLINE_S = 600.0
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class _Pending:
    """A command waiting for its ack and result, resolved from MQTT callbacks."""

    hub_id: str
    ack: asyncio.Future[CommandAck] = field(default_factory=asyncio.Future)
    result: asyncio.Future[CommandResult] = field(default_factory=asyncio.Future)
    #: When the result came in (hal.trace), for the latency breakdown.
    result_stamp: float = 0.0


class HeadEnd:
    def __init__(
        self,
        broker_host: str,
        broker_port: int,
        inventory: Inventory,
        store: HeadendStore,
        *,
        client_id: str = "smartmeter-headend",
        clock: Clock = utc_now,
        tls: MqttTls | None = None,
        security: HeadendSecurity | None = None,
    ) -> None:
        self.inventory, self.store, self._clock = inventory, store, clock
        #: Seals commands and opens what comes up (tools/headend/security.py); None: plain JSON.
        self.security = security
        self._pending: dict[str, _Pending] = {}
        self._session = MqttSession(
            broker_host,
            broker_port,
            client_id,
            subscriptions=[
                all_hubs_topic(c)
                for c in (
                    Channel.STATUS,
                    Channel.ACK,
                    Channel.RESULT,
                    Channel.EVENT,
                    Channel.UPLINK,
                )
            ],
            on_message=self._on_message,
            tls=tls,
        )

    @property
    def connected(self) -> bool:
        return self._session.ready

    async def start(self) -> None:
        """Start connecting; paho retries until the broker is up."""
        self._session.start()

    async def stop(self) -> None:
        for pending in self._pending.values():
            pending.ack.cancel()
            pending.result.cancel()
        self._session.close()

    def control_handlers(self) -> dict[str, Handler]:
        return {
            "read": self._control_read,
            "remove": self._control_remove,
            "commission": self._control_commission,
            "status": self._control_status,
            "events": self._control_events,
            "alerts": self._control_alerts,
            "config_get": self._control_config_get,
            "config_set": self._control_config_set,
            "push_schedule": self._control_push_schedule,
            "change_supplier": self._control_change_supplier,
            "disable_comms": self._control_disable_comms,
            "restore_comms": self._control_restore_comms,
        }

    # -- uplink ----------------------------------------------------------------------------------

    def _on_message(self, name: str, payload: bytes) -> None:
        received_at = self._clock()
        try:
            hub_id, channel = parse_topic(name)
            if channel is Channel.STATUS and not payload:  # someone cleared the retained status
                return
            opened: Header | None = None
            if self.security is not None:  # 17.2.1: checked and decrypted, or refused
                sealed = self.security.open(channel, payload)
                opened, payload = sealed.header, sealed.payload
            if channel is Channel.STATUS:
                self.store.record_status(hub_id, HubStatus.from_json(payload), received_at)
            elif channel is Channel.ACK:
                ack = CommandAck.from_json(payload)
                self.store.record_ack(hub_id, ack, received_at)
                self._resolve(ack.id, hub_id, lambda p: p.ack, ack)
            elif channel is Channel.RESULT:
                stamp = trace.stamp()
                result = CommandResult.from_json(payload)
                pending = self._pending.get(result.id)
                if pending is not None:
                    pending.result_stamp = stamp
                self.store.record_result(hub_id, result, received_at)
                self._resolve(result.id, hub_id, lambda p: p.result, result)
            elif channel is Channel.EVENT:
                self.store.record_event(hub_id, event_from_json(payload), received_at)
            elif channel is Channel.UPLINK:
                message = UplinkMessage.from_json(payload)
                self._on_uplink(hub_id, message, received_at, opened)
        except SecurityRefusal as exc:
            if exc.reason is Refusal.REPLAYED:  # a QoS 1 duplicate or a retained status again
                LOGGER.debug("already taken on %s: %s", name, exc)
                return
            LOGGER.warning("refused message on %s: %s", name, exc)
            self.store.record_rejected(name, payload, str(exc), received_at)
        except DecodeError as exc:
            # Clause 18.11.j: malformed WAN messages are detected, kept for diagnosis, not used.
            LOGGER.warning("refused message on %s: %s", name, exc)
            self.store.record_rejected(name, payload, str(exc), received_at)

    def _on_uplink(
        self, hub_id: str, message: UplinkMessage, received_at: datetime, opened: Header | None
    ) -> None:
        """Keep an outbox message once, in order, and acknowledge what is held (19.1.6); the
        acknowledgement is sealed by the party the message was sealed to, back to its sender."""
        supplier = self._uplink_supplier(message, opened)
        upto, kept = self.store.record_uplink(hub_id, message, received_at, supplier)
        ack = UplinkAck(message.source, upto).to_json()
        reply = None if opened is None else (opened.recipient, opened.sender)
        self._send(hub_id, Channel.UPLINK_ACK, ack, reply)
        if message.kind is UplinkKind.RESULT and (kept or message.seq <= upto):
            # A result answered again (a redelivered command) still settles whoever waits.
            stamp = trace.stamp()
            try:
                result = message.result()
            except DecodeError:
                return  # kept aside in `rejected` by the store
            pending = self._pending.get(result.id)
            if pending is not None:
                pending.result_stamp = stamp
            self._resolve(result.id, hub_id, lambda p: p.result, result)

    def _uplink_supplier(self, message: UplinkMessage, opened: Header | None) -> str | None:
        """Who owns a message: the supplier of the command it answers; else the supplier it
        was sealed to (the device's supplier as its hub knows it, 6.1.4), or its device's."""
        if message.kind is UplinkKind.RESULT:
            request = message.body.get("id")
            return self.store.supplier_of_request(request) if isinstance(request, str) else None
        if opened is not None:
            return supplier_name(opened.recipient)
        return self._owner(str(message.body.get("device", component_of(message.source))))

    def _owner(self, device_name: str) -> str | None:
        """The supplier a device belongs to now (after any change of supplier), if known."""
        device = self.inventory.devices.get(device_name)
        if device is None:
            return None
        if self.security is not None:
            return self.security.owner(device.name) or None
        return supplier_of(device)

    def _send(
        self,
        hub_id: str,
        channel: Channel,
        payload: bytes,
        parties: tuple[str, str] | None = None,
        ref: str = "",
    ) -> asyncio.Future[None]:
        """The one way out for everything the head-end sends down: sealed, when the WAN is,
        by `parties` (sender, recipient) with a new counter at every send (17.2.1), so a
        command sent again is not a replay."""
        if self.security is not None and parties is not None:
            payload = self.security.seal(channel, payload, parties[0], parties[1], ref)
        return self._session.publish(topic(hub_id, channel), payload)

    def _resolve(
        self,
        request_id: str,
        hub_id: str,
        which: Callable[[_Pending], asyncio.Future[Any]],
        value: CommandAck | CommandResult,
    ) -> None:
        pending = self._pending.get(request_id)
        if pending is None or pending.hub_id != hub_id:
            return  # an answer to an earlier run or another head-end: recorded, nothing waits
        future = which(pending)
        if not future.done():  # a repeated ack (redelivery) changes nothing
            future.set_result(value)

    # -- commands --------------------------------------------------------------------------------

    async def read(self, device_name: str, deadline_s: float = READ_DEADLINE_S) -> Reply:
        """On-demand read of a device's registers through its hub (clause 6.1.11)."""
        return await self.command(CommandType.READ, device_name, deadline_s)

    async def command(
        self,
        kind: CommandType,
        device_name: str,
        deadline_s: float = READ_DEADLINE_S,
        args: dict[str, Any] | None = None,
        secret: bool = False,
        supplier: str | None = None,
    ) -> Reply:
        """Send `kind` about a device to its hub and wait for the ack and the result; a
        `secret` command's arguments (a password) are not kept in the head-end's log. The
        command is given by `supplier` (default: the device's own, or the network operator for
        its commands) when the WAN is sealed."""
        what = kind.value
        try:
            device = self.inventory.device(device_name)
            acting = (
                self.security.acting_party(kind, device.name, supplier)
                if self.security is not None
                else None
            )
        except (LookupError, ConfigError) as exc:
            raise ControlError(str(exc)) from None
        command = WanCommand(
            id=request_id(secrets.token_bytes(16)),
            type=kind,
            device=device.name,
            issued_at=self._clock(),
            args=dict(args or {}),
        )
        pending = self._pending[command.id] = _Pending(device.hub_id)
        LOGGER.info("%s %s via hub %s (request %s)", what, device.name, device.hub_id, command.id)
        started = time.monotonic()
        sent = 0.0
        try:
            kept = dataclasses.replace(command, args=dict.fromkeys(command.args, "(withheld)"))
            owner = supplier_name(acting) if acting is not None else supplier or supplier_of(device)
            self.store.record_command(
                device.hub_id, kept if secret else command, self._clock(), owner
            )
            try:
                sent = trace.stamp()
                self._send_command(command, device.hub_id, acting)
            except TransientLinkError as exc:
                raise ControlError(f"cannot send the {what} of {device.name}: {exc}") from None
            try:
                async with asyncio.timeout(deadline_s):
                    await self._until_answered(command, device.hub_id, acting, pending)
                    if pending.ack.done() and pending.ack.result().status is AckStatus.REJECTED:
                        raise ControlError(
                            f"hub {device.hub_id} rejected the {what} of {device.name}: "
                            f"{pending.ack.result().reason}"
                        )
                    result = await pending.result
            except TimeoutError:
                raise ControlError(
                    self._no_answer(device.hub_id, device.name, deadline_s, pending)
                ) from None
        finally:
            del self._pending[command.id]
        if not result.ok:
            raise ControlError(
                f"hub {device.hub_id} could not {what} {device.name}: {result.error}"
            )
        if kind is CommandType.CHANGE_SUPPLIER and self.security is not None and result.data:
            self.security.set_owner(device.name, str(result.data.get("supplier")))
        reply: Reply = {
            "device": device.name,
            "hub_id": device.hub_id,
            "request_id": command.id,
            "round_trip_s": round(time.monotonic() - started, 3),
            "data": result.data,
        }
        hub_trace = result.data.get("trace") if result.data else None
        if trace.enabled() and isinstance(hub_trace, dict):
            reply["trace"] = {
                "headend_sent": sent,
                **hub_trace,
                "headend_received": pending.result_stamp,
            }
        return reply

    def _send_command(self, command: WanCommand, hub_id: str, acting: str | None) -> None:
        parties = (
            self.security.command_parties(command, hub_id, acting)
            if self.security is not None and acting is not None
            else None
        )
        self._send(hub_id, Channel.CMD, command.to_json(), parties, command.id)

    async def _until_answered(
        self, command: WanCommand, hub_id: str, acting: str | None, pending: _Pending
    ) -> None:
        """Wait for the ack or the result (the result may overtake a lost ack). Without either
        for `RESEND_S`, or refused as a replay (the hub had taken the first sending but crashed
        before carrying it out, and the broker delivered the same bytes again), the command
        goes again with the same request id, sealed afresh: the hub's journal carries it out
        at most once and answers it again from its stored result (19.1.6)."""
        while True:
            either: set[asyncio.Future[Any]] = {pending.ack, pending.result}
            await asyncio.wait(either, timeout=RESEND_S, return_when=asyncio.FIRST_COMPLETED)
            if pending.result.done():
                return
            if pending.ack.done():
                ack = pending.ack.result()
                replayed = (ack.reason or "").startswith(Refusal.REPLAYED.value)
                if ack.status is AckStatus.ACCEPTED or not replayed:
                    return
                pending.ack = asyncio.get_running_loop().create_future()
            LOGGER.info("command %s unanswered: sending it again", command.id)
            with contextlib.suppress(TransientLinkError):
                self._send_command(command, hub_id, acting)

    def _no_answer(self, hub_id: str, device: str, deadline_s: float, pending: _Pending) -> str:
        acked = pending.ack.done() and not pending.ack.cancelled()
        got = "hub accepted the command but sent no result" if acked else "no ack"
        notes = [got]
        if not self.connected:
            notes.append("head-end is not connected to the broker")
        status = self.store.hub_statuses().get(hub_id)
        if status is None:
            notes.append("hub has never reported its status")
        elif status["state"] != "online":
            notes.append(f"hub reported {status['state']} at {status['received_at']}")
        return f"no answer from hub {hub_id} for device {device} within {deadline_s:g} s ({'; '.join(notes)})"

    # -- control socket --------------------------------------------------------------------------

    async def _control_read(self, request: Request) -> Reply:
        return await self._control_command(CommandType.READ, request)

    async def _control_remove(self, request: Request) -> Reply:
        return await self._control_command(CommandType.REMOVE, request)

    async def _control_commission(self, request: Request) -> Reply:
        return await self._control_command(CommandType.COMMISSION, request)

    async def _control_change_supplier(self, request: Request) -> Reply:
        to = request.get("to")
        if not isinstance(to, str):
            raise ControlError('change_supplier needs "to": the new supplier\'s name')
        return await self._control_command(CommandType.CHANGE_SUPPLIER, request, {"supplier": to})

    async def _control_disable_comms(self, request: Request) -> Reply:
        link = request.get("link", "both")
        return await self._control_command(CommandType.DISABLE_COMMS, request, {"link": link})

    async def _control_restore_comms(self, request: Request) -> Reply:
        link = request.get("link", "both")
        return await self._control_command(CommandType.RESTORE_COMMS, request, {"link": link})

    async def _control_command(
        self, kind: CommandType, request: Request, args: dict[str, Any] | None = None
    ) -> Reply:
        supplier = request.get("supplier")
        if supplier is not None and not isinstance(supplier, str):
            raise ControlError("supplier must be a supplier's name")
        device = request.get("device")
        if not isinstance(device, str):
            raise ControlError(f'{kind} needs "device": the name of a device in the inventory')
        # "timeout_s" too: hal.control_socket.request() has a keyword named timeout already.
        deadline = request.get("timeout", request.get("timeout_s", READ_DEADLINE_S))
        if (
            isinstance(deadline, bool)
            or not isinstance(deadline, int | float)
            or not 0 < deadline <= MAX_DEADLINE_S
        ):
            raise ControlError(f"timeout must be a number of seconds in (0, {MAX_DEADLINE_S:g}]")
        return await self.command(kind, device, float(deadline), args, supplier=supplier)

    async def _control_status(self, request: Request) -> Reply:
        seen = self.store.hub_statuses()
        hubs = []
        for hub_id, devices in sorted(self.inventory.hubs().items()):
            status = seen.get(hub_id, {"state": "unknown", "at": None, "received_at": None})
            hubs.append({"hub_id": hub_id, "devices": sorted(devices), **status})
        # Hubs that report in but are missing from the inventory are shown too.
        hubs += [
            {"hub_id": h, "devices": [], **s}
            for h, s in seen.items()
            if h not in self.inventory.hubs()
        ]
        return {"broker_connected": self.connected, "hubs": hubs}

    async def _control_events(self, request: Request) -> Reply:
        limit = request.get("limit", 20)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= 10_000:
            raise ControlError("limit must be an integer from 1 to 10000")
        hub_id = request.get("hub_id")
        if hub_id is not None and not isinstance(hub_id, str):
            raise ControlError("hub_id must be a string")
        return {"events": self.store.recent_events(limit, hub_id)}

    async def _control_alerts(self, request: Request) -> Reply:
        limit = request.get("limit", 20)
        if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= 10_000:
            raise ControlError("limit must be an integer from 1 to 10000")
        supplier = request.get("supplier")
        if supplier is not None and not isinstance(supplier, str):
            raise ControlError("supplier must be a string")
        return {"alerts": self.store.recent_alerts(limit, supplier)}

    async def _control_config_get(self, request: Request) -> Reply:
        args = {} if request.get("key") is None else {"key": request.get("key")}
        return await self._config_command(CommandType.CONFIG_GET, request, args)

    async def _control_config_set(self, request: Request) -> Reply:
        if "key" not in request or "value" not in request:
            raise ControlError('config_set needs "key" and "value"')
        args = {"key": request["key"], "value": request["value"]}
        return await self._config_command(CommandType.CONFIG_SET, request, args)

    async def _control_push_schedule(self, request: Request) -> Reply:
        """The push schedule of a device's readings (6.1.3, 12.1.o): read it, or set it with
        "interval_s" (0 suppresses it)."""
        device = request.get("device")
        if not isinstance(device, str):
            raise ControlError('push_schedule needs "device"')
        key = f"push.{device}.interval_s"
        if request.get("interval_s") is None:
            return await self._config_command(CommandType.CONFIG_GET, request, {"key": key})
        args = {"key": key, "value": request["interval_s"]}
        return await self._config_command(CommandType.CONFIG_SET, request, args)

    async def _config_command(
        self, kind: CommandType, request: Request, args: dict[str, Any]
    ) -> Reply:
        device = request.get("device")
        if not isinstance(device, str):
            raise ControlError(f'{kind} needs "device": a device behind the hub to configure')
        return await self.command(kind, device, READ_DEADLINE_S, args)

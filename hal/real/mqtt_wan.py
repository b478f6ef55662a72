"""MQTT backend of the WAN port (DESIGN.md §4), on paho-mqtt 2.x (CallbackAPIVersion.VERSION2).

`MqttSession` bridges paho's network thread into an asyncio loop: paho reconnects on its own
thread with back-off, and every callback crosses over with `loop.call_soon_threadsafe`, so all
application state is touched by the loop's thread only. The head-end simulator uses the same
bridge. `MqttWanLink` is the hub side of the WAN on top of it (topics in `protocol.wan`).

The session is persistent (MQTT 3.1.1 clean session off, or MQTT 5 clean start off with a
session expiry) and the command subscription is QoS 1, so commands the head-end sent while the
hub was away are queued by the broker and arrive when it reconnects. MQTT 3.1.1 is the default
because every broker speaks it, the embedded amqtt 0.12 only that one.

With `MqttTls` the session connects over TLS with a client certificate and checks the broker's
(clause 17.2.14). With a `bearer` (`hal.modem.Modem`), the hub's link is up only while the
modem is attached: a detach cuts the connection without a DISCONNECT, as a lost WAN would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from hal.modem import BearerState, Modem
from hal.wan import CommandHandler, RefusalHandler, UplinkAckHandler
from hal.wan_codec import PlainCodec, WanCodec
from protocol.errors import ConfigError, DecodeError, TransientLinkError
from protocol.wan import (
    AckStatus,
    Channel,
    CommandAck,
    HubState,
    HubStatus,
    UplinkKind,
    UplinkMessage,
    WanCommand,
    check_hub_id,
    fit_text,
    parse_topic,
    peek_request_id,
    topic,
)
from protocol.wan_security import SecurityRefusal

LOGGER = logging.getLogger(__name__)
Clock = Callable[[], datetime]
#: Longest wait between two attempts to reach the broker.
RECONNECT_MAX_S = 8
#: Seconds an uplink message waits for the broker's PUBACK before the outbox tries again later.
PUBLISH_WAIT_S = 5.0
#: How long `stop()` lets cancelled command tasks wind down: a hub shutting down must not hang on
#: one (a supervisor waits for it), and a command cut short is answered again after the restart.
STOP_WAIT_S = 5.0


class MqttVersion(Enum):
    V311 = mqtt.MQTTv311
    V5 = mqtt.MQTTv5


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class MqttTls:
    """TLS with a client certificate (clause 17.2.14): the CA that signed the broker's
    certificate, and the client's own certificate and private key (PEM files)."""

    ca: Path
    cert: Path
    key: Path

    def context(self) -> ssl.SSLContext:
        """A client context that verifies the broker against `ca` (host name included) and
        presents the client's certificate. OSError/ssl.SSLError if a file is unreadable."""
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(self.ca))
        context.load_cert_chain(str(self.cert), str(self.key))
        return context


class MqttSession:
    """A persistent MQTT session whose callbacks run in an asyncio loop.

    `on_message(topic, payload)` and `on_connect()` are called in the loop's thread; `will()`
    is called (in paho's thread) before every (re)connection, so the last will carries a fresh
    timestamp. One start/close cycle per instance.
    """

    def __init__(
        self,
        host: str,
        port: int,
        client_id: str,
        *,
        subscriptions: Sequence[str],
        on_message: Callable[[str, bytes], None],
        on_connect: Callable[[], None] | None = None,
        will: Callable[[], tuple[str, bytes]] | None = None,
        version: MqttVersion = MqttVersion.V311,
        session_expiry_s: int = 7 * 24 * 3600,
        keepalive_s: int = 15,
        tls: MqttTls | None = None,
    ) -> None:
        self.host, self.port = host, port
        self._subscriptions = list(subscriptions)
        self._on_message, self._on_connect, self._will = on_message, on_connect, will
        self._version = version
        self._session_expiry_s = session_expiry_s
        self._keepalive_s = keepalive_s
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = asyncio.Event()
        self._subscribe_mid: int | None = None
        self._pending: dict[int, asyncio.Future[None]] = {}
        self._client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=version.value,
            # MQTT 3.1.1 persistence; MQTT 5 takes clean_start at connect instead (None here).
            clean_session=False if version is MqttVersion.V311 else None,
        )
        # Back-off between attempts while the broker is down: 1 s doubling to 8 s (19.1.7). A
        # broker on the rig comes back within seconds of a crash (supervised), so a long
        # back-off would only keep the hub off the WAN after it is back.
        self._client.reconnect_delay_set(min_delay=1, max_delay=RECONNECT_MAX_S)
        self._client.on_pre_connect = self._paho_pre_connect
        self._client.on_connect = self._paho_connect
        self._client.on_subscribe = self._paho_subscribe
        self._client.on_disconnect = self._paho_disconnect
        self._client.on_message = self._paho_message
        self._client.on_publish = self._paho_publish
        if tls is not None:
            try:
                self._client.tls_set_context(tls.context())
            except (OSError, ssl.SSLError) as exc:
                raise ConfigError(f"TLS files for the MQTT link cannot be used: {exc}") from None

    @property
    def ready(self) -> bool:
        """Connected and subscribed."""
        return self._ready.is_set()

    async def wait_ready(self) -> None:
        await self._ready.wait()

    @property
    def started(self) -> bool:
        return self._loop is not None

    def start(self) -> None:
        """Start connecting in paho's thread; it retries until the broker answers."""
        self._loop = asyncio.get_running_loop()
        if self._version is MqttVersion.V5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = self._session_expiry_s
            self._client.connect_async(
                self.host, self.port, self._keepalive_s, clean_start=False, properties=properties
            )
        else:  # 3.1.1: persistence came with clean_session=False in the constructor
            self._client.connect_async(self.host, self.port, self._keepalive_s)
        self._client.loop_start()

    def drop(self) -> None:
        """The bearer is gone (the modem detached): stop paho's thread and cut the connection
        without a DISCONNECT, so the broker sees a lost link and publishes the last will, as it
        would for a hub whose WAN went. `restore()` brings it back."""
        self._client.loop_stop()
        sock = self._client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._ready.clear()

    def restore(self) -> None:
        """The bearer is back: paho's thread finds the dead socket and reconnects."""
        self._client.loop_start()

    def publish(self, name: str, payload: bytes, *, retain: bool = False) -> asyncio.Future[None]:
        """Publish at QoS 1; the future resolves at the broker's PUBACK.

        While the link is down paho keeps the message and sends it after reconnecting.
        """
        assert self._loop is not None, "start() first"
        info = self._client.publish(name, payload, qos=1, retain=retain)
        if info.rc == mqtt.MQTT_ERR_QUEUE_SIZE:
            raise TransientLinkError(f"MQTT queue to {self.host}:{self.port} is full")
        future: asyncio.Future[None] = self._loop.create_future()
        # on_publish reaches the loop through call_soon_threadsafe, so it runs after this line.
        self._pending[info.mid] = future
        return future

    def close(self) -> None:
        """Disconnect cleanly (the broker drops the last will) and stop paho's thread."""
        self._client.disconnect()
        self._client.loop_stop()
        self._ready.clear()
        for future in self._pending.values():
            future.cancel()
        self._pending.clear()
        self._loop = None

    # -- paho thread -> loop ---------------------------------------------------------------------

    def _post(self, callback: Callable[..., None], *args: Any) -> None:
        loop = self._loop
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed at shutdown
                loop.call_soon_threadsafe(callback, *args)

    def _paho_pre_connect(self, client: mqtt.Client, userdata: Any) -> None:
        if self._will is not None:
            will_topic, payload = self._will()
            client.will_set(will_topic, payload, qos=1, retain=True)

    def _paho_connect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        # paho leaves Nagle on: a small PUBLISH behind our PUBACK would wait for the broker's
        # delayed ACK (~40 ms on Linux). Every message here is small and wanted now.
        sock = client.socket()
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if reason.is_failure:
            LOGGER.warning("MQTT broker %s:%d refused connection: %s", self.host, self.port, reason)
            return
        LOGGER.info(
            "MQTT connected to %s:%d (session present: %s)",
            self.host,
            self.port,
            flags.session_present,
        )
        if self._subscriptions:
            _, self._subscribe_mid = client.subscribe([(name, 1) for name in self._subscriptions])
        else:
            self._post(self._ready.set)
        if self._on_connect is not None:
            self._post(self._on_connect)

    def _paho_subscribe(
        self, client: mqtt.Client, userdata: Any, mid: int, reasons: list[ReasonCode], props: Any
    ) -> None:
        if failed := [str(r) for r in reasons if r.is_failure]:
            LOGGER.error("MQTT subscription to %s refused: %s", self._subscriptions, failed)
        elif mid == self._subscribe_mid:
            self._post(self._ready.set)

    def _paho_disconnect(
        self, client: mqtt.Client, userdata: Any, flags: Any, reason: ReasonCode, props: Any
    ) -> None:
        LOGGER.info("MQTT link to %s:%d down: %s", self.host, self.port, reason)
        self._post(self._ready.clear)

    def _paho_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self._post(self._on_message, message.topic, bytes(message.payload))

    def _paho_publish(
        self, client: mqtt.Client, userdata: Any, mid: int, reason: ReasonCode, props: Any
    ) -> None:
        self._post(self._published, mid)

    def _published(self, mid: int) -> None:
        future = self._pending.pop(mid, None)
        if future is not None and not future.done():
            future.set_result(None)


class MqttWanLink:
    """Hub side of the WAN over MQTT (`hal.wan.WanLink`), for hub `hub_id`.

    It keeps no memory of commands: every delivery is acknowledged and handed to the hub, whose
    command journal (in its store) answers a repeat without carrying it out again (19.1.6).
    """

    def __init__(
        self,
        host: str,
        port: int,
        hub_id: str,
        client_id: str | None = None,
        *,
        version: MqttVersion = MqttVersion.V311,
        clock: Clock = utc_now,
        connect_wait_s: float = 5.0,
        tls: MqttTls | None = None,
        bearer: Modem | None = None,
    ) -> None:
        self.hub_id = check_hub_id(hub_id)
        #: The modem under the link (6.1.6): the link is up only while it is attached.
        self._bearer = bearer
        self._session_running = False
        self._handler: CommandHandler | None = None
        self._on_refused: RefusalHandler | None = None
        self._on_uplink_ack: UplinkAckHandler | None = None
        #: Seals what goes up and opens what comes down (`hal.wan_codec`); plain until start().
        self._codec: WanCodec = PlainCodec()
        self._clock, self._connect_wait_s = clock, connect_wait_s
        self._session = MqttSession(
            host,
            port,
            client_id or f"smartmeter-hub-{hub_id}",
            subscriptions=[topic(hub_id, Channel.CMD), topic(hub_id, Channel.UPLINK_ACK)],
            on_message=self._on_message,
            on_connect=self._on_connect,
            will=lambda: (
                topic(hub_id, Channel.STATUS),
                self._codec.seal(Channel.STATUS, self._status(HubState.OFFLINE)),
            ),
            version=version,
            tls=tls,
        )
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def connected(self) -> bool:
        return self._session.ready and self._attached()

    def _attached(self) -> bool:
        return self._bearer is None or self._bearer.state().attached

    async def wait_connected(self, timeout: float) -> bool:
        """Wait until connected and subscribed; False if that took longer than `timeout` s."""
        try:
            async with asyncio.timeout(timeout):
                await self._session.wait_ready()
        except TimeoutError:
            return False
        return True

    async def start(
        self,
        handler: CommandHandler,
        on_refused: RefusalHandler | None = None,
        on_uplink_ack: UplinkAckHandler | None = None,
        codec: WanCodec | None = None,
    ) -> None:
        """Connect, waiting up to `connect_wait_s` for the broker; keeps retrying after that.

        `handler(command)` carries out an accepted command and answers it through the hub's
        outbox (clause 6.1.11); `on_uplink_ack` hears the head-end's acknowledgements. `codec`
        seals and opens every payload (`hal.wan_codec`; plain JSON if None).
        """
        self._handler = handler
        self._on_refused = on_refused
        self._on_uplink_ack = on_uplink_ack
        if codec is not None:
            self._codec = codec
        if self._bearer is not None:
            self._bearer.add_listener(self._bearer_changed)
        if not self._attached():
            LOGGER.warning("hub %s: the WAN bearer is not attached; link down", self.hub_id)
            return
        self._session.start()
        self._session_running = True
        if not await self.wait_connected(self._connect_wait_s):
            LOGGER.warning(
                "hub %s: MQTT broker %s:%d not reachable yet; retrying in the background",
                self.hub_id,
                self._session.host,
                self._session.port,
            )

    def _bearer_changed(self, state: BearerState) -> None:
        """Take the link down when the modem detaches and up again when it attaches."""
        if state.attached and not self._session_running:
            LOGGER.info("hub %s: WAN bearer attached; connecting", self.hub_id)
            if self._session.started:
                self._session.restore()
            else:
                self._session.start()
            self._session_running = True
        elif not state.attached and self._session_running:
            LOGGER.warning("hub %s: WAN bearer detached; link down", self.hub_id)
            self._session.drop()
            self._session_running = False

    async def stop(self) -> None:
        """Publish the retained "offline" status, then disconnect cleanly."""
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _done, stuck = await asyncio.wait(set(self._tasks), timeout=STOP_WAIT_S)
            if stuck:
                LOGGER.warning(
                    "hub %s: %d command(s) still running at stop", self.hub_id, len(stuck)
                )
        if not self._session.started:  # the bearer never attached: nothing to close
            return
        status = self._publish(Channel.STATUS, self._status(HubState.OFFLINE), retain=True)
        if self.connected:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(status, 2.0)
        self._session.close()

    async def publish_uplink(self, message: UplinkMessage, timeout: float = PUBLISH_WAIT_S) -> None:
        """Send an outbox message up and wait for the broker to take it (its PUBACK);
        TransientLinkError if it did not within `timeout` seconds."""
        if not self._session.started:
            raise TransientLinkError("the WAN bearer has not attached yet")
        # A result goes back to whoever gave its command (the codec's route for its id).
        ref = message.body.get("id") if message.kind is UplinkKind.RESULT else None
        sent = self._publish(
            Channel.UPLINK, message.to_json(), ref=ref if isinstance(ref, str) else None
        )
        # asyncio.wait, not wait_for: Python 3.11's wait_for can swallow a cancellation that
        # arrives as the PUBACK does, and the outbox's loop would then never stop.
        done, _pending = await asyncio.wait({sent}, timeout=timeout)
        if not done:
            raise TransientLinkError(
                f"uplink {message.source}#{message.seq} not taken by the broker in {timeout:g} s"
            )
        if sent.cancelled():  # the session closed under it
            raise TransientLinkError(f"uplink {message.source}#{message.seq}: the link closed")
        sent.result()

    def _publish(
        self, channel: Channel, payload: bytes, *, ref: str | None = None, retain: bool = False
    ) -> asyncio.Future[None]:
        """The one way out for everything the hub sends up (the durable outbox's messages among
        them: it keeps them until the head-end acknowledges them at application level). Each
        payload is sealed here, at every send: an outbox retry gets a new counter, so the
        head-end never refuses it as a replay (17.2.1, 19.1.7)."""
        sealed = self._codec.seal(channel, payload, ref)
        return self._session.publish(topic(self.hub_id, channel), sealed, retain=retain)

    def _status(self, state: HubState) -> bytes:
        return HubStatus(state, self._clock()).to_json()

    def _on_connect(self) -> None:
        self._publish(Channel.STATUS, self._status(HubState.ONLINE), retain=True)

    def _ack(self, request_id: str, status: AckStatus, reason: str | None = None) -> None:
        ack = CommandAck(request_id, status, None if reason is None else fit_text(reason))
        self._publish(Channel.ACK, ack.to_json(), ref=request_id)

    def _on_message(self, name: str, payload: bytes) -> None:
        """The one way in for everything the head-end sends down, opened by the codec."""
        try:
            _hub, channel = parse_topic(name)
        except DecodeError:
            return  # not one of our topics: the subscriptions make this impossible
        if channel is Channel.UPLINK_ACK:
            self._on_ack(payload)
        else:
            self._on_command(payload)

    def _on_ack(self, payload: bytes) -> None:
        try:
            ack = self._codec.open_uplink_ack(payload)
        except SecurityRefusal as exc:
            # An acknowledgement nobody sealed for us moves nothing; the codec logged it.
            LOGGER.warning("hub %s: uplink ack refused: %s", self.hub_id, exc)
            return
        except DecodeError as exc:
            LOGGER.warning("hub %s: malformed uplink ack: %s", self.hub_id, exc)
            if self._on_refused is not None:
                self._on_refused(None, str(exc))
            return
        if self._on_uplink_ack is not None:
            self._on_uplink_ack(ack)

    def _on_command(self, payload: bytes) -> None:
        try:
            command = self._codec.open_command(payload)
        except SecurityRefusal as exc:
            # 17.2.1, 18.11.j: unsigned, forged, replayed... refused; the codec logged it.
            header = exc.header
            ref = header.ref if header is not None and header.ref else peek_request_id(payload)
            if ref is not None:
                self._ack(ref, AckStatus.REJECTED, str(exc))
            return
        except DecodeError as exc:
            # Clause 18.11.j: a malformed WAN message is detected and refused, never executed.
            request_id = peek_request_id(payload)
            LOGGER.warning("hub %s: malformed command (id %s): %s", self.hub_id, request_id, exc)
            if request_id is not None:
                self._ack(request_id, AckStatus.REJECTED, str(exc))
            if self._on_refused is not None:
                self._on_refused(request_id, str(exc))
            return
        # Accepted every time it comes (a QoS 1 redelivery or a head-end retry included): the
        # hub's journal decides whether it is new (19.1.6).
        self._ack(command.id, AckStatus.ACCEPTED)
        task = asyncio.get_running_loop().create_task(self._execute(command))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, command: WanCommand) -> None:
        if self._handler is None:
            LOGGER.warning("hub %s: command %s before a handler", self.hub_id, command.id)
            return
        try:
            await self._handler(command)
        except Exception:  # the handler answers its own errors; this is a bug, logged
            LOGGER.exception("hub %s: command %s failed", self.hub_id, command.id)

"""A rig-like secured broker and bare paho clients for tests that talk to it (clause 17.2.14).

`SecureBroker` starts mosquitto or the embedded broker through `tools.broker.start_broker` with
a fresh PKI (`tools.pki`) and grants; `Client` is a synchronous paho client with a queue of what
it received, connecting with a certificate of that PKI (or deliberately without one).
"""

from __future__ import annotations

import queue
import ssl
import subprocess
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from firmware.rig import HEADEND_IDENTITY, BrokerKind, PkiPaths, Rig, TlsFiles
from hal.real.mqtt_wan import MqttTls
from tests.ports import reserve_port
from tests.programs import require_program
from tests.waiting import wait_until
from tools.broker import BrokerAccess, BrokerSpec, start_broker, stop_broker
from tools.pki import ensure_pki

HOST = "127.0.0.1"


@dataclass
class SecureBroker:
    """A broker with TLS, client certificates and `grants`; stop() it."""

    kind: BrokerKind
    port: int
    pki: PkiPaths
    process: subprocess.Popen[bytes]

    @classmethod
    def start(
        cls, kind: BrokerKind, folder: Path, grants: Mapping[str, tuple[str, ...]]
    ) -> SecureBroker:
        if kind is BrokerKind.MOSQUITTO:
            require_program("mosquitto")
        pki = ensure_pki(folder / "pki", (HOST,), tuple(grants))
        port = reserve_port()
        spec = BrokerSpec(kind, HOST, port, folder / "broker", BrokerAccess(pki.broker, grants))
        return cls(kind, port, pki, start_broker(spec))

    def tls(self, identity: str) -> MqttTls:
        files = self.pki.client(identity)
        return MqttTls(files.ca, files.cert, files.key)

    def stop(self) -> None:
        stop_broker(self.process)


def context(ca: Path, cert: Path | None = None, key: Path | None = None) -> ssl.SSLContext:
    """A client TLS context trusting `ca`, presenting `cert` and `key` if given."""
    made = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca))
    if cert is not None and key is not None:
        made.load_cert_chain(str(cert), str(key))
    return made


class Client:
    """A bare paho client; `connect` returns whether the broker let it in. `tls`: the client's
    TLS files, or a ready context, or None for plain TCP."""

    def __init__(self, port: int, tls: TlsFiles | MqttTls | ssl.SSLContext | None) -> None:
        self.port = port
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"test-{time.monotonic_ns()}"
        )
        self._outcome: queue.Queue[bool] = queue.Queue()
        self.granted: list[ReasonCode] = []
        self._subscribed = threading.Event()
        if isinstance(tls, ssl.SSLContext):
            self.client.tls_set_context(tls)
        elif tls is not None:
            self.client.tls_set_context(context(tls.ca, tls.cert, tls.key))
        self.client.on_connect = lambda c, u, f, reason, p: self._outcome.put(not reason.is_failure)
        self.client.on_connect_fail = lambda c, u: self._outcome.put(False)
        self.client.on_disconnect = lambda c, u, f, reason, p: self._outcome.put(False)
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = self._on_subscribe

    def _on_subscribe(
        self, c: object, u: object, mid: int, codes: list[ReasonCode], p: object
    ) -> None:
        self.granted = codes
        self._subscribed.set()

    def connect(self, timeout: float = 10.0) -> bool:
        """True once the broker accepted the connection; False if it refused or hung up."""
        try:
            self.client.connect(HOST, self.port)
        except (OSError, ssl.SSLError):
            return False
        self.client.loop_start()
        try:
            return self._outcome.get(timeout=timeout)
        except queue.Empty:
            return False

    def subscribe(self, *filters: str) -> list[ReasonCode]:
        self._subscribed.clear()
        self.client.subscribe([(name, 1) for name in filters])
        assert self._subscribed.wait(10), "no SUBACK"
        return self.granted

    def publish(self, name: str, payload: bytes) -> None:
        self.client.publish(name, payload, qos=1).wait_for_publish(10)

    def wait_for(self, name: str, timeout: float = 10.0) -> list[tuple[str, bytes]]:
        """Everything received up to and including the first message on `name`."""
        seen: list[tuple[str, bytes]] = []

        def arrived() -> bool:
            while not self.messages.empty():
                seen.append(self.messages.get_nowait())
            return any(topic == name for topic, _ in seen)

        wait_until(arrived, timeout, f"a message on {name}")
        return seen

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def mosquitto_tls_args(rig: Rig, identity: str = HEADEND_IDENTITY) -> list[str]:
    """mosquitto_pub/_sub options to reach `rig`'s broker as `identity` (the head-end by
    default: it may publish commands to the rig's hubs)."""
    files = rig.tls_files(identity)
    if files is None:
        return []
    return ["--cafile", str(files.ca), "--cert", str(files.cert), "--key", str(files.key)]

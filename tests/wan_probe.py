"""Tests' MQTT client on a rig's broker, and a rig with two suppliers (README "WAN security").

`WanProbe` is a bare paho client that sees what crosses the WAN and can put anything on it, as
anyone who holds a certificate the broker's ACL lets in could; it connects with `probe_client`,
over TLS with a client certificate of the rig's PKI (`tests.tls_clients`).
"""

from __future__ import annotations

import queue
import re
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from firmware.rig import HEADEND_IDENTITY, Rig
from tests.rig_files import demo_rig_copy
from tests.tls_clients import context

__all__ = ["WanProbe", "probe_client", "two_supplier_rig"]


def probe_client(rig: Rig, name: str, identity: str = HEADEND_IDENTITY) -> mqtt.Client:
    """A connected paho client on `rig`'s broker, its network loop started: over TLS with
    `identity`'s certificate from the rig's PKI (the head-end's by default: the broker's ACL
    lets it see and publish on every hub's topics), as anyone holding one could (17.2.14)."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"{name}-{time.monotonic_ns()}")
    files = rig.tls_files(identity)
    if files is not None:
        client.tls_set_context(context(files.ca, files.cert, files.key))
    client.connect(rig.broker.host, rig.broker.port)
    client.loop_start()
    return client


class WanProbe:
    """Subscribed to `filters` on the rig's broker; keeps every message it receives."""

    def __init__(self, rig: Rig, *filters: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self.seen: list[tuple[str, bytes]] = []
        subscribed = threading.Event()
        self.client = probe_client(rig, "probe")
        self.client.on_message = lambda c, u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client.on_subscribe = lambda c, u, mid, codes, p: subscribed.set()
        self.client.subscribe([(name, 1) for name in filters])
        assert subscribed.wait(5), "probe not subscribed"

    def send(self, name: str, payload: bytes) -> None:
        self.client.publish(name, payload, qos=1).wait_for_publish(5)

    def drain(self) -> list[tuple[str, bytes]]:
        """Everything received so far (also kept in `seen`)."""
        while True:
            try:
                self.seen.append(self.messages.get_nowait())
            except queue.Empty:
                return self.seen

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def two_supplier_rig(folder: Path) -> Path:
    """The demo rig (mosquitto) with electricity from supplier "alpha", gas from "beta", the IHD
    alpha's, and network operator "dno"."""
    path = demo_rig_copy(folder, broker_kind="mosquitto")
    text = path.read_text()
    for device, supplier in (("esme", "alpha"), ("gsme", "beta"), ("ihd", "alpha")):
        text = re.sub(
            rf'(?m)^name = "{device}"$', f'name = "{device}"\nsupplier = "{supplier}"', text
        )
    text += '\n[roles]\nsuppliers = ["alpha", "beta"]\nnetwork_operator = "dno"\n'
    path.write_text(text)
    return path

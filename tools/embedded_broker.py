"""Embedded MQTT broker (amqtt 0.12) for a zero-install demo: `python -m tools.embedded_broker`.

DESIGN.md §4 and §8: amqtt 0.12 works with paho-mqtt 2.2, MQTT 3.1.1 only. It keeps retained
messages and persistent sessions in memory, so unlike mosquitto it forgets queued commands when
it restarts; rigs and CI use mosquitto. Runs until SIGTERM or SIGINT, then shuts down cleanly
and exits 0.

With `--cafile --certfile --keyfile --acl` (what the rig launcher passes) it enforces what the
rig's mosquitto does (clause 17.2.14): TLS only, a client certificate from the rig's CA, its
common name as the user name, and each user's topic grants (`tools.embedded_broker_access`).
Without them it is a plain, anonymous broker, for tests of other layers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from amqtt.broker import Broker

from tools.embedded_broker_access import plugin_config

LOGGER = logging.getLogger("tools.embedded_broker")


@dataclass(frozen=True)
class Security:
    """TLS files of the listener (its CA verifies clients too) and each user's topic grants."""

    cafile: Path
    certfile: Path
    keyfile: Path
    grants: dict[str, list[str]]


class _CertificateBroker(Broker):  # type: ignore[misc]  # amqtt ships no type hints
    """amqtt's broker, but a TLS client without a certificate is refused at the handshake as
    mosquitto's `require_certificate true` does (amqtt 0.12.1 asks for one and lets the client
    go on without)."""

    @staticmethod
    def _create_ssl_context(listener: Any) -> ssl.SSLContext:
        context: ssl.SSLContext = Broker._create_ssl_context(listener)
        context.verify_mode = ssl.CERT_REQUIRED
        return context


def broker_config(host: str, port: int, security: Security | None = None) -> dict[str, Any]:
    """amqtt configuration: one listener, no $SYS chatter; with `security` TLS, client
    certificates and topic grants (17.2.14), else plain TCP with anonymous clients."""
    listener: dict[str, Any] = {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 0}
    if security is None:
        plugins: dict[str, Any] = {
            "amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}
        }
    else:
        listener |= {
            "ssl": True,
            "cafile": str(security.cafile),
            "certfile": str(security.certfile),
            "keyfile": str(security.keyfile),
        }
        plugins = plugin_config(security.grants)
    return {"listeners": {"default": listener}, "plugins": plugins}


async def serve(
    host: str, port: int, stop: asyncio.Event, security: Security | None = None
) -> None:
    """Run a broker on host:port until `stop` is set."""
    broker = _CertificateBroker(broker_config(host, port, security))
    await broker.start()
    LOGGER.info("embedded MQTT broker listening on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        await broker.shutdown()
        LOGGER.info("embedded MQTT broker stopped")


async def _main(host: str, port: int, security: Security | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(host, port, stop, security)


def _security(args: argparse.Namespace, parser: argparse.ArgumentParser) -> Security | None:
    files = (args.cafile, args.certfile, args.keyfile, args.acl)
    if all(f is None for f in files):
        return None
    if any(f is None for f in files):
        parser.error("--cafile, --certfile, --keyfile and --acl go together")
    try:
        grants = json.loads(args.acl.read_text())
    except (OSError, ValueError) as exc:
        parser.error(f"--acl {args.acl}: {exc}")
    return Security(args.cafile, args.certfile, args.keyfile, grants)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.embedded_broker", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=1883, help="TCP port to listen on")
    parser.add_argument("--log-level", default="INFO", help="level for our messages")
    parser.add_argument("--cafile", type=Path, help="CA that signed the clients' certificates")
    parser.add_argument("--certfile", type=Path, help="the broker's certificate")
    parser.add_argument("--keyfile", type=Path, help="the broker's private key")
    parser.add_argument("--acl", type=Path, help='JSON {"user": ["topic/filter/#", ...]}')
    args = parser.parse_args(argv)
    security = _security(args, parser)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # amqtt logs every packet at INFO; its warnings are enough on a bench.
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    asyncio.run(_main(args.host, args.port, security))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

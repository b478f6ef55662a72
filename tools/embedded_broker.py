"""Embedded MQTT broker (amqtt 0.12) for a zero-install demo: `python -m tools.embedded_broker`.

DESIGN.md §4 and §8: amqtt 0.12 works with paho-mqtt 2.2, MQTT 3.1.1 only. It keeps retained
messages and persistent sessions in memory, so unlike mosquitto it forgets queued commands when
it restarts; rigs and CI use mosquitto. Runs until SIGTERM or SIGINT, then shuts down cleanly
and exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from typing import Any

from amqtt.broker import Broker

LOGGER = logging.getLogger("tools.embedded_broker")


def broker_config(host: str, port: int) -> dict[str, Any]:
    """amqtt configuration: one TCP listener, anonymous clients, no $SYS chatter."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"{host}:{port}", "max_connections": 0}},
        "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
    }


async def serve(host: str, port: int, stop: asyncio.Event) -> None:
    """Run a broker on host:port until `stop` is set."""
    broker = Broker(broker_config(host, port))
    await broker.start()
    LOGGER.info("embedded MQTT broker listening on %s:%d", host, port)
    try:
        await stop.wait()
    finally:
        await broker.shutdown()
        LOGGER.info("embedded MQTT broker stopped")


async def _main(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await serve(host, port, stop)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.embedded_broker", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=1883, help="TCP port to listen on")
    parser.add_argument("--log-level", default="INFO", help="level for our messages")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    # amqtt logs every packet at INFO; its warnings are enough on a bench.
    logging.getLogger("amqtt").setLevel(logging.WARNING)
    logging.getLogger("transitions").setLevel(logging.WARNING)
    asyncio.run(_main(args.host, args.port))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

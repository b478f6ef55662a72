"""`python -m tools.headend`: run the head-end simulator until SIGTERM or SIGINT.

    python -m tools.headend --broker-host H --broker-port P --control PATH --db PATH \\
        --inventory JSON_FILE

Exit status 0 after a clean stop, 2 for a bad configuration (the message names the file and
key). The broker may come up after the head-end: the MQTT session keeps retrying.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import signal
import sys
from pathlib import Path

from hal.control_socket import ControlServer
from hal.real.mqtt_wan import MqttTls
from hal.real.wan_keys import load_ring
from protocol.errors import ConfigError
from tools.headend.field_service import FieldService
from tools.headend.field_store import FieldStore
from tools.headend.inventory import Inventory, load_inventory
from tools.headend.security import HeadendSecurity, ring_parties, roles_from_inventory
from tools.headend.service import HeadEnd, utc_now
from tools.headend.store import HeadendStore
from tools.headend.tariff_service import TariffService

LOGGER = logging.getLogger("tools.headend")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tools.headend", description="Head-end simulator on the MQTT WAN."
    )
    parser.add_argument("--broker-host", required=True, help="MQTT broker address")
    parser.add_argument("--broker-port", required=True, type=int, help="MQTT broker TCP port")
    parser.add_argument("--control", required=True, type=Path, help="control socket path")
    parser.add_argument("--db", required=True, type=Path, help="SQLite database file")
    parser.add_argument(
        "--inventory", required=True, type=Path, help='JSON file {"devices": {name: {...}}}'
    )
    parser.add_argument(
        "--factory-passwords",
        type=Path,
        help="the meters' factory passwords (JSON, the supplier's copy) to take in at start",
    )
    parser.add_argument("--tls-ca", type=Path, help="CA of the broker's certificate (17.2.14)")
    parser.add_argument("--tls-cert", type=Path, help="the head-end's client certificate")
    parser.add_argument("--tls-key", type=Path, help="the head-end's private key")
    parser.add_argument(
        "--keys",
        type=Path,
        help="the rig's WAN key folder: seal every WAN payload (README 'WAN security')",
    )
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    return parser


def tls_of(args: argparse.Namespace) -> MqttTls | None:
    """The TLS files the command line names: all three or none (ConfigError)."""
    files = (args.tls_ca, args.tls_cert, args.tls_key)
    if all(f is None for f in files):
        return None
    if any(f is None for f in files):
        raise ConfigError("--tls-ca, --tls-cert and --tls-key go together")
    return MqttTls(args.tls_ca, args.tls_cert, args.tls_key)


async def run(args: argparse.Namespace) -> None:
    inventory = load_inventory(args.inventory)
    store = HeadendStore(args.db)
    security = _security(args, inventory)
    headend = HeadEnd(
        args.broker_host,
        args.broker_port,
        inventory,
        store,
        tls=tls_of(args),
        security=security,
    )
    field = FieldService(inventory, FieldStore(args.db), headend.command, utc_now)
    if args.factory_passwords is not None:
        field.load_factory_passwords(args.factory_passwords)
    tariff = TariffService(headend.command)
    control = ControlServer(
        args.control,
        {**headend.control_handlers(), **field.handlers(), **tariff.handlers()},
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await headend.start()
    await control.start()
    LOGGER.info(
        "head-end up: broker %s:%d, control %s, %d devices",
        args.broker_host,
        args.broker_port,
        args.control,
        len(inventory.devices),
    )
    try:
        await stop.wait()
    finally:
        await control.stop()
        await headend.stop()
        field.store.close()
        store.close()
        if security is not None:
            security.close()
        LOGGER.info("head-end stopped")


def _security(args: argparse.Namespace, inventory: Inventory) -> HeadendSecurity | None:
    """The sealed WAN's keys, if the head-end was given its key folder."""
    if args.keys is None:
        return None
    data = json.loads(args.inventory.read_text())
    roles = roles_from_inventory(data, str(args.inventory), list(inventory.devices))
    ring = load_ring(args.keys, *ring_parties(roles, inventory.hubs()))
    return HeadendSecurity(ring, roles, args.db)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        asyncio.run(run(args))
    except ConfigError as exc:
        print(f"headend: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

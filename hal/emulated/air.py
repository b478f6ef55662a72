"""The virtual 2.4 GHz channel ("the air") shared by emulated NCPs.

Every frame a node transmits reaches every other node tuned to the same channel, as on a real
radio channel; the receiving MAC filters by address. A `RadioModel` gives each reception an RSSI
and an LQI from the two nodes' positions in the rig file, and loses frames near the receiver's
sensitivity; without one every link is a good one. Run it as its own
process (`python -m hal.emulated.air --port P --rig RIG`) for a rig, or use `AirChannel`
in-process in unit tests; nodes reach it through `hal.radio_link`. Capture tools
(`smartmeter han capture`) connect as monitors and get a copy of every frame on every channel.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import math
import random
import signal
import tomllib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from protocol.air_link import AirLinkDecoder, Hello, Monitor, Receive, Transmit, encode
from protocol.errors import ConfigError, DecodeError

LOGGER = logging.getLogger(__name__)
DEFAULT_RSSI = -45
DEFAULT_LQI = 255
#: Bytes a monitor may leave unread before the air drops it: a stalled capture tool must not
#: make the air (and so the whole HAN) hold an ever-growing backlog.
MONITOR_BACKLOG_LIMIT = 1 << 20

#: Log-distance path loss (ITU-R P.1238 style) at 2.4 GHz: about 40 dB lost in the first metre,
#: then 10·n dB per decade of distance; n = 3 is a typical house with internal walls.
REFERENCE_LOSS_DB = 40.0
DEFAULT_TX_POWER_DBM = 3.0
DEFAULT_PATH_LOSS_EXPONENT = 3.0
#: Below the sensitivity nothing is received; in the fade margin above it a frame is received
#: with a probability rising linearly from 0 to 1, as packet error rate does near the edge.
SENSITIVITY_DBM = -100
FADE_MARGIN_DB = 10
#: The LQI scale: EmberZNet-class NCPs report 0 near sensitivity and 255 on a strong link.
LQI_FLOOR_DBM = -100
LQI_CEILING_DBM = -40
#: Where devices stand when the rig file gives no position: 3 m apart in a line from the hub.
DEFAULT_SPACING_M = 3.0

Deliver = Callable[[Receive], object]  # what it returns is ignored
MonitorTap = Callable[[int, bytes], None]


@dataclasses.dataclass
class AirNode:
    eui64: int
    name: str
    deliver: Deliver
    frames_sent: int = 0
    frames_received: int = 0
    frames_lost: int = 0


def lqi_from_rssi(rssi: int) -> int:
    """Link quality indicator 0..255, linear in RSSI between the floor and the ceiling.

    IEEE 802.15.4-2006 clause 6.9.8 leaves the LQI scale to the implementer; a linear map of
    signal strength is what the hub's signal report (12.1.r, 20.4.1.c) needs to rank links.
    """
    span = LQI_CEILING_DBM - LQI_FLOOR_DBM
    return max(0, min(255, round((rssi - LQI_FLOOR_DBM) * 255 / span)))


@dataclasses.dataclass(frozen=True)
class RadioModel:
    """Signal strength of every link of a premises, from where its components stand.

    A node the model does not know (a test's attacker, a sniffer) gets the fixed good link of
    an air without a model, so that tests of the protocol are not at the mercy of geometry.
    """

    positions: Mapping[str, tuple[float, float]]
    #: Extra loss of a wall or floor between two components, either way round.
    attenuation_db: Mapping[frozenset[str], float] = dataclasses.field(default_factory=dict)
    tx_power_dbm: float = DEFAULT_TX_POWER_DBM
    path_loss_exponent: float = DEFAULT_PATH_LOSS_EXPONENT
    seed: int = 0

    def rssi(self, sender: str, receiver: str) -> int | None:
        """RSSI in dBm at `receiver` of a frame from `sender`; None if either is unknown."""
        if sender not in self.positions or receiver not in self.positions:
            return None
        (x1, y1), (x2, y2) = self.positions[sender], self.positions[receiver]
        # Closer than a metre the antennas are in each other's near field: no stronger signal.
        distance = max(1.0, math.hypot(x2 - x1, y2 - y1))
        loss = REFERENCE_LOSS_DB + 10 * self.path_loss_exponent * math.log10(distance)
        loss += self.attenuation_db.get(frozenset((sender, receiver)), 0.0)
        return round(self.tx_power_dbm - loss)


class AirChannel:
    """Broadcast medium: the in-process core the TCP service and tests share.

    Without a `RadioModel` every node hears every frame at DEFAULT_RSSI / DEFAULT_LQI.
    """

    def __init__(self, model: RadioModel | None = None) -> None:
        self.model = model
        self._random = random.Random(model.seed if model else 0)
        self._nodes: list[AirNode] = []
        self._monitors: list[MonitorTap] = []

    def attach(self, eui64: int, name: str, deliver: Deliver) -> AirNode:
        node = AirNode(eui64, name, deliver)
        self._nodes.append(node)
        LOGGER.info("node %s (%016x) attached to the air", name, eui64)
        return node

    def detach(self, node: AirNode) -> None:
        with contextlib.suppress(ValueError):
            self._nodes.remove(node)

    def add_monitor(self, monitor: MonitorTap) -> None:
        """A capture tap: sees every frame transmitted on any channel."""
        self._monitors.append(monitor)

    def remove_monitor(self, monitor: MonitorTap) -> None:
        """Stop calling `monitor`; a tap that was never added (or already removed) is ignored."""
        with contextlib.suppress(ValueError):
            self._monitors.remove(monitor)

    def transmit(self, sender: AirNode, frame: Transmit) -> None:
        sender.frames_sent += 1
        for monitor in list(self._monitors):
            monitor(frame.channel, frame.psdu)
        for node in list(self._nodes):
            if node is sender:
                continue
            reception = self.reception(sender.name, node.name)
            if reception is None:
                node.frames_lost += 1
                continue
            node.frames_received += 1
            node.deliver(Receive(frame.channel, *reception, frame.psdu))

    def reception(self, sender: str, receiver: str) -> tuple[int, int] | None:
        """(RSSI, LQI) of one reception, or None when the frame is lost on the way."""
        rssi = self.model.rssi(sender, receiver) if self.model else None
        if rssi is None:
            return DEFAULT_RSSI, DEFAULT_LQI
        if rssi < SENSITIVITY_DBM:
            return None
        if rssi < SENSITIVITY_DBM + FADE_MARGIN_DB:
            chance = (rssi - SENSITIVITY_DBM + 1) / (FADE_MARGIN_DB + 1)
            if self._random.random() >= chance:
                return None
        return rssi, lqi_from_rssi(rssi)

    @property
    def nodes(self) -> list[AirNode]:
        return list(self._nodes)

    @property
    def monitor_count(self) -> int:
        """How many capture taps are attached (tests wait on it; logs report it)."""
        return len(self._monitors)


class AirServer:
    """Serves an `AirChannel` over TCP to NCPs in other processes."""

    def __init__(self, channel: AirChannel, host: str, port: int) -> None:
        self.channel = channel
        self.host = host
        self.port = port
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        decoder = AirLinkDecoder()
        node: AirNode | None = None
        monitor: MonitorTap | None = None

        def deliver(message: Receive) -> None:
            if not writer.is_closing():
                writer.write(encode(message))

        def tap(channel: int, psdu: bytes) -> None:
            if writer.is_closing():
                return
            if writer.transport.get_write_buffer_size() > MONITOR_BACKLOG_LIMIT:
                LOGGER.warning("monitor fell %d bytes behind: dropped", MONITOR_BACKLOG_LIMIT)
                writer.close()
                return
            writer.write(encode(Receive(channel, DEFAULT_RSSI, DEFAULT_LQI, psdu)))

        try:
            while data := await reader.read(4096):
                for message in decoder.feed(data):
                    first = node is None and monitor is None
                    if isinstance(message, Hello) and first:
                        node = self.channel.attach(message.eui64, message.name, deliver)
                    elif isinstance(message, Monitor) and first:
                        monitor = tap
                        self.channel.add_monitor(monitor)
                        LOGGER.info("monitor attached to the air")
                    elif isinstance(message, Transmit) and node is not None:
                        self.channel.transmit(node, message)
                    else:
                        raise DecodeError(
                            "air link message",
                            "hello then transmits, or monitor alone",
                            repr(message),
                        )
        except (ConnectionError, DecodeError) as exc:
            LOGGER.warning("air link closed: %s", exc)
        finally:
            if node is not None:
                self.channel.detach(node)
                LOGGER.info("node %s left the air", node.name)
            if monitor is not None:
                self.channel.remove_monitor(monitor)
                LOGGER.info("monitor left the air")
            writer.close()


class InProcessRadioLink:
    """A `hal.radio_link.RadioLink` attached directly to an in-process `AirChannel` (tests)."""

    def __init__(self, channel: AirChannel, eui64: int, name: str) -> None:
        self._channel = channel
        self._eui64, self._name = eui64, name
        self._node: AirNode | None = None

    async def open(self, on_receive: Callable[[Receive], None]) -> None:
        loop = asyncio.get_running_loop()
        # Deliver on a later loop iteration, as a radio would: never re-enter the sender.
        self._node = self._channel.attach(
            self._eui64, self._name, lambda m: loop.call_soon(on_receive, m)
        )

    def transmit(self, channel: int, psdu: bytes) -> None:
        if self._node is not None:
            self._channel.transmit(self._node, Transmit(channel, psdu))

    async def close(self) -> None:
        if self._node is not None:
            self._channel.detach(self._node)
            self._node = None


def radio_model_from_rig(data: Mapping[str, Any], path: Path) -> RadioModel:
    """The `RadioModel` of a parsed rig file: `position` of [hub] and each [[device]], [air].

    The air lives below `devices/`, so it reads its own part of the rig file here, and
    `devices.core.rig.load_rig` calls this to validate the same keys once at start.
    """
    air = data.get("air", {})
    if not isinstance(air, dict):
        raise ConfigError(f"{path}: [air] must be a table")
    hub = data.get("hub", {})
    devices = data.get("device", [])
    if not isinstance(hub, dict) or not isinstance(devices, list):
        raise ConfigError(f"{path}: [hub] must be a table and [[device]] an array of tables")
    positions: dict[str, tuple[float, float]] = {}
    tables = [("hub", hub, (0.0, 0.0))]
    for index, table in enumerate(devices):
        default = (DEFAULT_SPACING_M * (index + 1), 0.0)
        tables.append((f"device #{index + 1}", table if isinstance(table, dict) else {}, default))
    for where, table, default in tables:
        name = table.get("name", "hub" if where == "hub" else None)
        if not isinstance(name, str):
            continue  # load_rig reports the missing name with its own message
        positions[name] = _position(path, where, table.get("position", default))
    links: dict[frozenset[str], float] = {}
    for index, link in enumerate(air.get("link", [])):
        where = f"air.link #{index + 1}"
        if not isinstance(link, dict):
            raise ConfigError(f"{path}: [{where}] must be a table")
        ends: list[str] = []
        for key in ("a", "b"):
            end = link.get(key)
            if not isinstance(end, str) or end not in positions:
                known = ", ".join(positions)
                raise ConfigError(f"{path}: [{where}] {key} = {end!r}: use one of {known}")
            ends.append(end)
        pair = frozenset(ends)
        if len(pair) != 2 or pair in links:
            raise ConfigError(f"{path}: [{where}] links two distinct components, once")
        links[pair] = _number(path, where, link, "attenuation_db", None, minimum=0.0)
    exponent = _number(path, "air", air, "path_loss_exponent", DEFAULT_PATH_LOSS_EXPONENT)
    if not 1.0 <= exponent <= 6.0:
        raise ConfigError(f"{path}: [air] path_loss_exponent must be within 1.0..6.0")
    seed = air.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"{path}: [air] seed must be int, not {seed!r}")
    return RadioModel(
        positions=positions,
        attenuation_db=links,
        tx_power_dbm=_number(path, "air", air, "tx_power_dbm", DEFAULT_TX_POWER_DBM),
        path_loss_exponent=exponent,
        seed=seed,
    )


def load_radio_model(path: Path | str) -> RadioModel:
    path = Path(path).resolve()
    try:
        return radio_model_from_rig(tomllib.loads(path.read_text()), path)
    except FileNotFoundError:
        raise ConfigError(f"rig file {path} does not exist") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _number(
    path: Path,
    where: str,
    table: Mapping[str, Any],
    key: str,
    default: float | None,
    minimum: float | None = None,
) -> float:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"{path}: [{where}] needs {key!r}")
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise ConfigError(f"{path}: [{where}] {key} must be a number, not {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{path}: [{where}] {key} must be at least {minimum}")
    return float(value)


def _position(path: Path, where: str, value: Any) -> tuple[float, float]:
    if (
        isinstance(value, tuple | list)
        and len(value) == 2
        and all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
        and all(math.isfinite(v) for v in value)
    ):
        return float(value[0]), float(value[1])
    raise ConfigError(f"{path}: [{where}] position must be [x, y] in metres, not {value!r}")


async def serve(host: str, port: int, model: RadioModel | None = None) -> None:
    server = AirServer(AirChannel(model), host, port)
    await server.start()
    LOGGER.info("air listening on %s:%d", host, server.port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description="Virtual 2.4 GHz channel for emulated NCPs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--rig", help="rig file whose positions and [air] give the radio model")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s air %(levelname)s %(message)s")
    model = load_radio_model(args.rig) if args.rig else None
    if model is not None:
        LOGGER.info("radio model: %s", _describe(model))
    asyncio.run(serve(args.host, args.port, model))


def _describe(model: RadioModel) -> str:
    names = list(model.positions)
    links = []
    for index, a in enumerate(names):
        for b in names[index + 1 :]:
            rssi = model.rssi(a, b)
            if rssi is not None:
                links.append(f"{a}-{b} {rssi} dBm (LQI {lqi_from_rssi(rssi)})")
    return ", ".join(links)


if __name__ == "__main__":
    main()

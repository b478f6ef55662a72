"""The emulated NCP as a device on a byte stream: ASH in front, the air behind.

Two byte streams, as real dongles offer: a pseudo-terminal (bellows opens `/dev/pts/N` with
pyserial exactly as it opens `/dev/ttyUSB0`) or TCP (`socket://127.0.0.1:PORT`, like a dongle
behind a serial-to-network bridge). The runner owns the transport and the timers; the ASH state
machine (`protocol.ash_ncp`), the EZSP codec and handlers and the ZigBee stack are driven by it.
One host at a time, like a UART.

Every host session finds a freshly booted dongle. A new TCP connection is a power-on: the NCP
reboots (`ZigbeeStack.reboot`: RAM state lost, tokens kept) and announces itself with an
unprompted RSTACK whose reason is RESET_POWER_ON. bellows takes any RSTACK as the end of its
start-up reset and starts at once; zigbee-herdsman's ember adapter ignores an RSTACK whose reason
is not RESET_SOFTWARE until it has sent its own RST, which the NCP answers, after rebooting
again, with RSTACK(RESET_SOFTWARE) as EmberZNet does. On a serial line (the pty) the NCP waits
for the host's RST, as a dongle that booted long ago does.

The pty's path changes with every start (`/dev/pts/N`); `start(pty_link=PATH)` publishes it
under a stable symlink, as udev's `/dev/serial/by-id/...` names a USB dongle.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import os
import tty
from collections.abc import Callable
from pathlib import Path
from typing import Any

import bellows.types as t

from hal.radio_link import RadioLink
from protocol.air_link import Receive
from protocol.ash import ResetCode
from protocol.ash_ncp import AshNcp, DataReceived, FrameError, LinkFailed, ResetRequested
from protocol.errors import ConfigError

from .ezsp_codec import SUPPORTED_VERSIONS, EzspCodec, TruncatedCommand
from .ezsp_handlers import EzspHandlers
from .state import NcpState
from .timer import Timer
from .tokens import NcpTokens
from .zigbee_stack import ZigbeeStack

LOGGER = logging.getLogger(__name__)


class HostLink(enum.Enum):
    """How the host reaches the NCP."""

    PTY = "pty"
    TCP = "tcp"


class EmulatedNcp:
    """An EZSP NCP of protocol `version` with EUI-64 `eui64`, transmitting through `radio`."""

    def __init__(
        self,
        eui64: int,
        radio: RadioLink,
        version: int = 13,
        name: str = "ncp",
        store_path: Path | None = None,
        *,
        timer: Timer | None = None,
    ) -> None:
        """`store_path` is the NCP's token file (see `tokens`); None keeps everything in RAM.
        `timer` is the ZigBee stack's clock and scheduler, the event loop's unless a test gives
        a `manual_timer.ManualTimer`; the ASH link to the host always runs on the loop's clock,
        as its peer (bellows) does."""
        if version not in SUPPORTED_VERSIONS:
            raise ValueError(
                f"EZSP protocol version {version} is not emulated; choose one of {SUPPORTED_VERSIONS}"
            )
        self.name = name
        self.version = version
        self.radio = radio
        self.state = NcpState(eui64=eui64)
        self.tokens = NcpTokens(store_path, eui64)
        # Like a chip's reboot: the tokens come back, the network stays down until networkInit.
        if self.tokens.restore(self.state):
            LOGGER.info("%s: network tokens restored (node 0x%04x)", name, self.state.node_id)
        self.stack = ZigbeeStack(self.state, radio, self._emit, self.tokens, timer)
        self.handlers = EzspHandlers(self.stack, version)
        self.codec = EzspCodec(4)
        #: Names of commands the host sent that we answered with invalidCommand.
        self.unimplemented: set[str] = set()
        #: Names of every command the host sent (for the fidelity report and tests).
        self.commands_seen: set[str] = set()
        self._server: asyncio.AbstractServer | None = None
        self._ash: AshNcp | None = None
        self._write: Callable[[bytes], None] | None = None
        self._tcp_writer: asyncio.StreamWriter | None = None
        self._pty: tuple[int, int] | None = None
        self._pty_link: Path | None = None
        self._pty_backlog = bytearray()
        self._timer: asyncio.TimerHandle | None = None
        self._last_seq = 0
        self.port = 0
        self.url = ""

    async def start(
        self,
        host_link: HostLink = HostLink.TCP,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        pty_link: Path | None = None,
    ) -> None:
        """Power on: attach to the air and open the host link; `url` is what bellows opens
        (the symlink `pty_link`, when given, for a pty)."""
        if pty_link is not None:
            _check_link_path(pty_link)
        await self.radio.open(self._receive)
        if host_link is HostLink.PTY:
            self._open_pty(pty_link)
            return
        self._server = await asyncio.start_server(self._serve, host, port)
        self.port = self._server.sockets[0].getsockname()[1]
        shown = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
        self.url = (
            f"socket://[{shown}]:{self.port}" if ":" in shown else f"socket://{shown}:{self.port}"
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            if self._tcp_writer is not None:
                self._tcp_writer.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
        if self._pty is not None:
            master, slave = self._pty
            loop = asyncio.get_running_loop()
            loop.remove_reader(master)
            loop.remove_writer(master)
            os.close(master)
            os.close(slave)
            self._pty = None
        if self._pty_link is not None:
            with contextlib.suppress(OSError):
                self._pty_link.unlink()
            self._pty_link = None
        if self._timer is not None:
            self._timer.cancel()
        await self.radio.close()
        self.tokens.close(self.state)

    def _receive(self, message: Receive) -> None:
        """A frame from the air; whatever it changed (a join, a child) goes to the tokens."""
        self.stack.receive(message)
        self.tokens.sync(self.state)

    # -- the byte stream ---------------------------------------------------------------

    def _open_pty(self, link: Path | None) -> None:
        master, slave = os.openpty()
        # Raw from the first byte: no echo, no line discipline between bellows and the NCP. We
        # keep the slave open ourselves so the master never reads EIO between host sessions.
        tty.setraw(slave)
        os.set_blocking(master, False)
        self._pty = (master, slave)
        self.url = os.ttyname(slave)
        if link is not None:
            tmp = link.with_name(f".{link.name}.{os.getpid()}")
            tmp.unlink(missing_ok=True)
            tmp.symlink_to(self.url)
            tmp.replace(link)  # atomic: a host never sees the path missing or half made
            self._pty_link, self.url = link, str(link)
        self._ash = AshNcp()
        self.codec = EzspCodec(4)
        self._write = self._pty_write
        asyncio.get_running_loop().add_reader(master, self._pty_readable)

    def _pty_readable(self) -> None:
        assert self._pty is not None and self._ash is not None
        try:
            data = os.read(self._pty[0], 4096)
        except (BlockingIOError, InterruptedError):
            return
        self._ash.receive_data(data, asyncio.get_running_loop().time())
        self._pump()

    def _pty_write(self, data: bytes) -> None:
        self._pty_backlog += data
        self._pty_flush()

    def _pty_flush(self) -> None:
        if self._pty is None:
            return
        master = self._pty[0]
        loop = asyncio.get_running_loop()
        try:
            written = os.write(master, self._pty_backlog)
        except BlockingIOError:
            written = 0
        del self._pty_backlog[:written]
        if self._pty_backlog:
            loop.add_writer(master, self._pty_flush)
        else:
            loop.remove_writer(master)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._tcp_writer is not None and not self._tcp_writer.is_closing():
            LOGGER.warning("%s: a second host tried to connect; refused", self.name)
            writer.close()
            return
        loop = asyncio.get_running_loop()
        LOGGER.info("%s: host connected: a new session on a freshly booted NCP", self.name)
        self._tcp_writer = writer
        self._write = lambda data: None if writer.is_closing() else writer.write(data)
        self._reboot_ram()  # the host finds the dongle as if just powered on
        self._ash = AshNcp(reset_code=ResetCode.RESET_POWER_ON)
        writer.write(self._ash.connection_made(loop.time()))
        try:
            while data := await reader.read(4096):
                self._ash.receive_data(data, loop.time())
                self._pump()
        except (ConnectionError, asyncio.CancelledError):
            pass  # the host went away, or the NCP is being powered off
        finally:
            LOGGER.info("%s: host disconnected", self.name)
            self._tcp_writer = None
            self._write = None
            self._ash = None
            writer.close()

    def _pump(self) -> None:
        """Process ASH events, flush bytes and re-arm the ASH timer."""
        ash, write = self._ash, self._write
        if ash is None or write is None:
            return
        loop = asyncio.get_running_loop()
        while (event := ash.next_event()) is not None:
            if isinstance(event, DataReceived):
                response = self._ezsp_frame(event.payload)
                if response is not None:
                    ash.send(response, loop.time())
            elif isinstance(event, ResetRequested):
                self._reboot_ram()
            elif isinstance(event, FrameError):
                LOGGER.debug("%s: ASH frame error: %s", self.name, event.reason)
            elif isinstance(event, LinkFailed):
                LOGGER.warning(
                    "%s: ASH link failed (reset code 0x%02x)", self.name, event.reset_code
                )
        out = ash.data_to_send()
        if out:
            write(out)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        deadline = ash.next_deadline()
        if deadline is not None:
            self._timer = loop.call_at(deadline, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._ash is not None:
            self._ash.handle_timeout(asyncio.get_running_loop().time())
            self._pump()

    def reboot(self, reset_code: int = ResetCode.RESET_WATCHDOG) -> None:
        """The chip reboots on its own (a watchdog, a brown-out): RAM state is lost, the tokens
        survive, and it announces itself with an unprompted RSTACK carrying the reset reason,
        which bellows treats as an NCP failure (bench fault injection)."""
        self._reboot_ram()
        if self._ash is None:
            return
        frame = AshNcp(reset_code=reset_code).connection_made(asyncio.get_running_loop().time())
        self._ash = AshNcp()
        if self._write is not None:
            self._write(frame)

    def _reboot_ram(self) -> None:
        """The chip restarts (power-on, host RST, watchdog): EZSP back to the legacy frame
        format, configuration, policies and values at their defaults, endpoints gone, the
        network down until networkInit; the tokens (network, keys, counters) survive."""
        self.tokens.sync(self.state)
        self.codec = EzspCodec(4)
        self.stack.reboot()
        self.handlers.reboot()

    # -- EZSP --------------------------------------------------------------------------

    def _ezsp_frame(self, frame: bytes) -> bytes | None:
        try:
            command = self.codec.parse(frame)
        except TruncatedCommand as exc:
            # EmberZNet answers a frame it cannot read with invalidCommand, never silence
            LOGGER.warning("%s: undecodable EZSP frame: %s", self.name, exc)
            return self.codec.invalid_command(exc.command, t.EzspStatus.ERROR_TRUNCATED)
        self._last_seq = command.seq
        if not command.name:
            LOGGER.warning("%s: unknown EZSP frame id 0x%04x", self.name, command.frame_id)
            return self.codec.invalid_command(command, t.EzspStatus.ERROR_INVALID_FRAME_ID)
        self.commands_seen.add(command.name)
        try:
            result = self.handlers.handle(command.name, command.params)
        except Exception:  # a bug of ours must not look like a dead dongle to the host
            LOGGER.exception(
                "%s: EZSP command %s failed inside the emulated NCP", self.name, command.name
            )
            return self.codec.invalid_command(command, t.EzspStatus.ERROR_INVALID_CALL)
        if result is None:
            self.unimplemented.add(command.name)
            LOGGER.warning(
                "%s: EZSP command %s is not implemented by the emulated NCP",
                self.name,
                command.name,
            )
            return self.codec.invalid_command(command, t.EzspStatus.ERROR_INVALID_FRAME_ID)
        self.tokens.sync(self.state)
        response = self.codec.response(command, result)
        if command.name == "version" and self.codec.version != self.version:
            self.codec.switch_version(self.version)
        return response

    def _emit(self, name: str, values: dict[str, Any]) -> None:
        """Send a callback to the host (dropped, as on a real NCP, if no host is attached)."""
        # Callbacks mark stack events (joined, join failed, left): commit their state first.
        self.tokens.sync(self.state)
        if self._ash is None or not self.codec.has_command(name) or self.codec.version < 8:
            return
        frame = self.codec.callback(self._last_seq, name, values)
        self._ash.send(frame, asyncio.get_running_loop().time())
        self._pump()


def _check_link_path(link: Path) -> None:
    """The pty symlink may replace a stale symlink, never a file or folder someone made."""
    if link.exists() and not link.is_symlink():
        raise ConfigError(f"{link} exists and is not a symlink: will not replace it with the pty")
    if not link.parent.is_dir():
        raise ConfigError(f"{link.parent} is not a folder: cannot put the pty link there")

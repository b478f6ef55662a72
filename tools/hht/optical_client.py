"""The HHT's end of the optical port: an IEC 62056-21 mode C client on a probe.

The probe is a `SerialLine`: the emulated meter's pseudo-terminal (`<run_dir>/<name>.optical`)
or a real USB optical probe (`/dev/ttyUSB0`), both opened through pyserial. The session is the
same sans-IO `Connection` the meter runs, in the HHT role, so both ends speak from one table.

Timing, as real meters need it: the client waits for each answer up to `REPLY_TIMEOUT_S`; after
the option select it changes its speed as soon as the message has left (the meter waits
`SWITCH_WAIT_S`, 0.5 s, before answering at the new rate). The echo of a head that echoes is
dropped by the connection. A garbled answer (BCC error) is asked for again with NAK, twice at
most.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass

from hal.serial_line import LineSettings, SerialLine
from protocol.errors import RemoteProtocolError, TransientLinkError
from protocol.iec62056_21.connection import Connection, Refused, Role, State
from protocol.iec62056_21.frames import (
    Ack,
    Command,
    DataMessage,
    DataReadout,
    DataSet,
    Identification,
    Message,
    ModeChar,
    Nak,
    OptionSelect,
    SignOnRequest,
)
from protocol.local_auth import Challenge, proof

__all__ = ["MeterRefused", "OpticalClient", "Session"]

REPLY_TIMEOUT_S = 5.0
NAK_RETRIES = 2
#: Quiet time that shows the line holds nothing more from an earlier session.
DRAIN_S = 0.05


class MeterRefused(RemoteProtocolError):
    """The meter answered with an error message ``(ERRnn reason)`` or broke the session off."""


@dataclass(frozen=True)
class Session:
    identification: Identification
    baud: int


class OpticalClient:
    """One probe on one meter's optical port."""

    def __init__(self, line: SerialLine, reply_timeout: float = REPLY_TIMEOUT_S) -> None:
        self.line = line
        self.reply_timeout = reply_timeout
        self.connection = Connection(Role.HHT)
        self.identification: Identification | None = None

    async def __aenter__(self) -> OpticalClient:
        await self.line.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self.connection.state in (State.PROGRAMMING, State.PASSWORD):
            with contextlib.suppress(TransientLinkError):
                await self.break_off()
        await self.line.close()

    # -- the session ---------------------------------------------------------------------

    async def sign_on(self, address: str = "") -> Identification:
        """Sign on at 300 baud and return the meter's identification."""
        self.connection = Connection(Role.HHT)
        self._speed()
        await self._drain()
        await self._send(SignOnRequest(address))
        answer = await self._receive()
        if not isinstance(answer, Identification):
            raise MeterRefused(f"expected the meter's identification, got {answer!r}")
        self.identification = answer
        return answer

    async def _drain(self) -> None:
        """Drop what is left in the line from an earlier session (a B0 after a refusal)."""
        with contextlib.suppress(TimeoutError):
            while await asyncio.wait_for(self.line.read(), DRAIN_S):
                pass

    async def readout(self, address: str = "") -> list[DataSet]:
        """The data readout (mode 0) at the rate the meter proposes."""
        ident = await self.sign_on(address)
        await self._send(OptionSelect(ident.baud, ModeChar.READOUT))
        self._speed()
        answer = await self._receive()
        self._speed()
        if not isinstance(answer, DataReadout):
            raise MeterRefused(f"expected the data readout, got {answer!r}")
        return [data_set for line in answer.lines for data_set in line]

    async def login(self, password: str, engineer: str, address: str = "") -> None:
        """Programming mode: answer the meter's P0 challenge with a proof (never the password)."""
        ident = await self.sign_on(address)
        await self._send(OptionSelect(ident.baud, ModeChar.PROGRAMMING))
        self._speed()
        refused = "the meter refused programming (locked after wrong passwords, or no password set)"
        try:
            request = await self._receive()
        except MeterRefused:
            raise MeterRefused(refused) from None
        if not isinstance(request, Command) or request.name != "P0" or request.data is None:
            self._speed()
            raise MeterRefused(refused)
        challenge = Challenge.parse(request.data.value)
        answer = proof(password, challenge, engineer)
        await self._exchange(Command("P", "2", DataSet(engineer, answer)))

    async def read(self, address: str, kind: str = "1") -> DataSet:
        """R1 (or R5) of one object, in programming mode."""
        answer = await self._exchange(Command("R", kind, DataSet(address, "")))
        if not isinstance(answer, DataMessage) or len(answer.data) != 1:
            raise MeterRefused(f"expected one data set, got {answer!r}")
        return answer.data[0]

    async def read_all(self, address: str, kind: str = "1") -> tuple[DataSet, ...]:
        """R1 (or R5) of an object whose value may span several data sets (a tariff item)."""
        answer = await self._exchange(Command("R", kind, DataSet(address, "")))
        if not isinstance(answer, DataMessage) or not answer.data:
            raise MeterRefused(f"expected data sets of {address}, got {answer!r}")
        return answer.data

    async def write(self, address: str, value: str, kind: str = "1") -> None:
        """W1 (or W5) of one object, in programming mode; the meter answers ACK."""
        answer = await self._exchange(Command("W", kind, DataSet(address, value)))
        if not isinstance(answer, Ack):
            raise MeterRefused(f"expected ACK, got {answer!r}")

    async def break_off(self) -> None:
        """B0: end the session; the meter goes back to 300 baud."""
        await self._send(Command("B", "0"))
        self._speed()

    # -- internals -----------------------------------------------------------------------

    async def _exchange(self, message: Message) -> Message:
        """Send, and return the answer; NAK a garbled answer; an error message raises."""
        await self._send(message)
        for attempt in range(NAK_RETRIES + 1):
            try:
                answer = await self._receive()
            except RemoteProtocolError:
                if attempt == NAK_RETRIES or self.connection.state is State.IDLE:
                    raise
                await self._send(Nak())
                continue
            if isinstance(answer, Nak):
                await self.line.write(self.connection.resend())
                continue
            if (
                isinstance(answer, DataMessage)
                and answer.data
                and answer.data[0].value.startswith("ERR")
            ):
                if self.connection.state is State.IDLE:
                    self._speed()
                raise MeterRefused(f"the meter refused: {answer.data[0].value}")
            return answer
        raise MeterRefused("no clean answer after repeated NAKs")

    async def _send(self, message: Message) -> None:
        await self.line.write(self.connection.send(message))

    async def _receive(self) -> Message:
        while True:
            event = self.connection.next_event()
            if event is None:
                try:
                    data = await asyncio.wait_for(self.line.read(), self.reply_timeout)
                except TimeoutError:
                    self.connection.timeout()
                    self._speed()
                    raise TransientLinkError(
                        f"no answer from the meter within {self.reply_timeout:g} s "
                        f"(is the probe on the meter's optical port, at {self.line.path}?)"
                    ) from None
                if not data:
                    raise TransientLinkError("the probe's port closed")
                self.connection.receive_data(data)
                continue
            if isinstance(event, Refused):
                if event.message is None:
                    raise RemoteProtocolError(f"garbled answer from the meter: {event.reason}")
                if isinstance(event.message, Command) and event.message.name == "B0":
                    self.connection.timeout()
                    self._speed()
                    raise MeterRefused("the meter broke the session off")
                raise RemoteProtocolError(f"unexpected answer from the meter: {event.reason}")
            if isinstance(event, Command) and event.name == "B0":
                self._speed()
                raise MeterRefused("the meter broke the session off")
            return event

    def _speed(self) -> None:
        if self.line.settings.baud != self.connection.baud:
            self.line.configure(LineSettings(self.connection.baud))

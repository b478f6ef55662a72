"""The meter's optical port: an IEC 62056-21 mode C server on the board's serial line (19.2.1).

Runs the sans-IO session (`protocol.iec62056_21.connection`, meter role) on the `SerialLine`
port, which is a pseudo-terminal in emulation and a UART behind an IR head on real hardware;
the firmware cannot tell which. What this driver adds is what the protocol object leaves to its
caller: the line, the time and the meter's decisions.

- Sign-on at 300 baud 7E1; the identification names our manufacturer id, proposes 9600 baud and
  gives the serial number. A request naming another device address is ignored.
- Timing (IEC 62056-21 6.3.14, and what real heads need): every answer waits the reaction time
  (`REACTION_S`, at least the standard's 200 ms); after the option select the meter waits
  `SWITCH_WAIT_S` before it answers at the new rate, because USB serial adapters need up to
  250 ms to change speed and some clients (`iec62056-21-dzg`) reopen their port meanwhile. The
  line changes speed only after the last byte at the old speed has left (`write` drains). A
  session that hears nothing valid for `INACTIVITY_S` ends, back at 300 baud.
- Data readout (mode 0): every object of the data set, open to anyone with a probe, as the
  display is: it carries no key or password (17.2.20).
- Programming (mode 1): P0 carries a challenge, P2 (or P1) the engineer's code and proof
  (`protocol.local_auth`: no password crosses the port, 17.2.20); wrong proofs are counted and
  lock programming with a B.6.7 event (`LocalAccess`, 18.11.d); R1/R5 read, W1/W5 write the
  configuration items, writes that affect metering only with the seal broken (17.2.21.a), each
  write logged (17.2.21.e); B0 ends the session. Refusals are error messages ``(ERRnn reason)``;
  a garbled message (BCC error) is answered NAK.

The port runs as a task of its own, apart from the HAN, the WAN and the metering loop, and
starts again after any failure, so the readout keeps working when they fail (20.5.4.2).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from typing import Any

from firmware.clock_waits import sleep_real, wait_on_clock
from hal.peripherals import TamperInput, TamperSwitches
from hal.ports import Clock
from hal.serial_line import IEC_62056_21_SIGN_ON, LineSettings, SerialLine
from protocol.errors import TransientLinkError
from protocol.iec62056_21.connection import Connection, Refused, Role, State
from protocol.iec62056_21.frames import (
    Ack,
    BaudChar,
    Command,
    DataMessage,
    DataReadout,
    DataSet,
    Identification,
    Message,
    Nak,
    OptionSelect,
    SignOnRequest,
)
from protocol.local_auth import NONCE_BYTES

from .local_access import LocalAccess
from .optical_objects import (
    ERR_FAULT,
    ERR_LOCKED,
    ERR_NOT_WRITABLE,
    ERR_PASSWORD,
    ERR_SEAL_INTACT,
    ERR_UNSUPPORTED,
    ObjectTable,
    WriteRefused,
)

__all__ = ["INACTIVITY_S", "MANUFACTURER", "REACTION_S", "SWITCH_WAIT_S", "OpticalPort"]

LOGGER = logging.getLogger(__name__)
MANUFACTURER = "EMU"
PROPOSED_BAUD = BaudChar.B9600
REACTION_S = 0.2
SWITCH_WAIT_S = 0.5
INACTIVITY_S = 60.0
RETRY_S = 5.0
_IN_SESSION = {State.PASSWORD, State.PASSWORD_CHECK, State.PROGRAMMING, State.ANSWER}


def error_message(code: int, reason: str) -> DataMessage:
    """``(ERRnn reason)``: the reason cut to what a data set value may hold."""
    text = "".join(ch if " " <= ch <= "~" and ch not in "()*/!" else " " for ch in reason)
    return DataMessage((DataSet("", f"ERR{code:02d} {text}"[:128].rstrip()),))


class OpticalPort:
    """The server of one meter's optical port."""

    def __init__(
        self,
        line: SerialLine,
        clock: Clock,
        table: ObjectTable,
        access: LocalAccess,
        serial: str,
        tamper: TamperSwitches,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self.line, self.clock, self.table, self.access = line, clock, table, access
        self.serial = serial
        self._tamper = tamper
        self._random = random_bytes
        self.connection = Connection(Role.METER)
        self._nonce = b""
        self._engineer: str | None = None
        self.sessions = 0

    # -- the task ----------------------------------------------------------------------

    async def run(self) -> None:
        """Serve the port for ever; a failure restarts it after `RETRY_S` (20.5.4.2)."""
        while True:
            try:
                await self._serve()
            except TransientLinkError as exc:
                LOGGER.info("optical port unavailable (%s); retrying in %g s", exc, RETRY_S)
            except Exception:
                LOGGER.exception("optical port failed; restarting it")
            await sleep_real(self.clock, RETRY_S)

    async def _serve(self) -> None:
        self.connection = Connection(Role.METER)
        self._line_speed()
        while True:
            try:
                if self.connection.state is State.IDLE:
                    data = await self.line.read()
                else:
                    timeout = INACTIVITY_S * self.clock.scale
                    data = await wait_on_clock(self.clock, self.line.read(), timeout)
            except TimeoutError:
                LOGGER.info("optical session ended: nothing heard for %g s", INACTIVITY_S)
                self._end()
                continue
            if not data:
                raise TransientLinkError("the optical port closed")
            self.connection.receive_data(data)
            while (event := self.connection.next_event()) is not None:
                await self._handle(event)

    def seal_broken(self) -> bool:
        tamper = self._tamper
        return TamperInput.SEAL in tamper.inputs and tamper.active(TamperInput.SEAL)

    def status(self) -> dict[str, Any]:
        return {
            "state": self.connection.state.value,
            "baud": self.connection.baud,
            "line": str(self.line.settings),
            "engineer": self._engineer,
            "sessions": self.sessions,
            "seal_broken": self.seal_broken(),
        }

    # -- sending -----------------------------------------------------------------------

    async def _send(self, message: Message) -> None:
        data = self.connection.send(message)
        await sleep_real(self.clock, REACTION_S)
        await self.line.write(data)
        self._line_speed()

    def _line_speed(self) -> None:
        """Follow the session's rate (after `write` drained, so no byte changes speed)."""
        if self.line.settings.baud != self.connection.baud:
            self.line.configure(LineSettings(self.connection.baud))

    def _end(self) -> None:
        self.connection.timeout()
        self._engineer = None
        if self.line.settings != IEC_62056_21_SIGN_ON:
            self.line.configure(IEC_62056_21_SIGN_ON)

    # -- what the meter answers ----------------------------------------------------------

    async def _handle(self, event: Message | Refused) -> None:
        state = self.connection.state
        match event:
            case Refused(message=None):
                if state in _IN_SESSION:
                    await self._send(Nak())  # garbled (BCC error): the HHT sends it again
            case Refused(message=SignOnRequest() | OptionSelect()):
                pass  # out of turn, or an unsupported mode: the session times out
            case Refused():
                if state is not State.IDLE:
                    LOGGER.info("optical session broken off: %s", event.reason)
                    await self._send(Command("B", "0"))
                    self._end()
            case SignOnRequest(address=address):
                if address and address != self.serial:
                    self._end()  # a request for another meter on the same bus
                    return
                self._engineer = None
                identification = Identification(MANUFACTURER, PROPOSED_BAUD, self.serial[:16])
                await self._send(identification)
            case OptionSelect():
                await self._option_selected()
            case Command(command="P"):
                await self._password(event)
            case Command(command="B"):
                self._end()
            case Command():
                await self._command(event)
            case Nak():
                data = self.connection.resend()
                await sleep_real(self.clock, REACTION_S)
                await self.line.write(data)
            case _:
                pass  # an ACK or data from the HHT outside a session: nothing to answer

    async def _option_selected(self) -> None:
        self.sessions += 1
        await sleep_real(self.clock, SWITCH_WAIT_S)
        self._line_speed()
        if self.connection.state is State.READOUT:
            readout = DataReadout(tuple(self.table.readout()))
            await self._send(readout)
            return
        locked = self.access.locked_until()
        challenge = self.access.challenge(self._random(NONCE_BYTES))
        if locked is not None or challenge is None:
            why = f"locked until {locked.isoformat()}" if locked else "no password set"
            LOGGER.info("programming refused: %s", why)
            await self._send(Command("B", "0"))
            self._end()
            return
        self._nonce = challenge.nonce
        await self._send(Command("P", "0", DataSet("", challenge.encode())))

    async def _password(self, command: Command) -> None:
        data = command.data or DataSet()
        if self.access.locked_until() is None and self.access.check(
            self._nonce, data.address, data.value
        ):
            self._engineer = data.address or "unnamed"
            LOGGER.info("programming session opened by engineer %s", self._engineer)
            await self._send(Ack())
            return
        if self.access.locked_until() is not None:
            LOGGER.warning("optical port locked after repeated wrong passwords")
            await self._send(error_message(ERR_LOCKED, "too many wrong passwords"))
            self._end()  # the session is over: a new sign-on finds programming locked
            return
        await self._send(error_message(ERR_PASSWORD, "wrong password"))

    async def _command(self, command: Command) -> None:
        try:
            answer = self._carry_out(command)
        except WriteRefused as exc:
            answer = error_message(exc.code, str(exc))
        except Exception as exc:  # a fault behind one object must not end the session
            LOGGER.exception("optical command %s failed", command.name)
            answer = error_message(ERR_FAULT, f"internal fault {type(exc).__name__}")
        await self._send(answer)

    def _carry_out(self, command: Command) -> Message:
        data = command.data or DataSet()
        if command.command == "R" and command.type in "15":
            return DataMessage(self.table.answer_of(self.table.find(data.address)))
        if command.command == "W" and command.type in "15":
            obj = self.table.find(data.address)
            if obj.write is None:
                raise WriteRefused(ERR_NOT_WRITABLE, f"{obj.obis} ({obj.name}) is read only")
            if obj.seal and not self.seal_broken():
                raise WriteRefused(ERR_SEAL_INTACT, f"{obj.name} affects metering: break the seal")
            obj.write(data.value, self._engineer or "unnamed")
            return Ack()
        raise WriteRefused(ERR_UNSUPPORTED, f"{command.name} is not supported")

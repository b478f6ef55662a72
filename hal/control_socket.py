"""Local control socket: JSON-lines requests and replies over a Unix-domain socket.

Every component (meters, IHD, hub, head-end simulator) exposes one of these for the bench and for
tests, separate from the WAN and HAN security domains (DESIGN.md §6, "bench control"). A request is
one JSON object per line with a "cmd" key; the reply is one JSON object per line with "ok" true and
the handler's fields, or "ok" false and an "error" message. Handlers are looked up by command name,
so a component declares exactly what its bench port supports and anything else is refused by name.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from protocol.errors import SmartMeterError

LOGGER = logging.getLogger(__name__)

Request = dict[str, Any]
Reply = dict[str, Any]
Handler = Callable[[Request], Awaitable[Reply]]
MAX_LINE = 1 << 20


class ControlError(SmartMeterError):
    """A control request failed; the message is shown to the person at the bench."""


class ControlServer:
    """Serves JSON-lines requests on a Unix socket, one handler per command name."""

    def __init__(self, path: Path, handlers: Mapping[str, Handler]) -> None:
        self.path = path
        self._handlers = dict(handlers)
        self._server: asyncio.AbstractServer | None = None

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)
        self._server = await asyncio.start_unix_server(
            self._serve, path=str(self.path), limit=MAX_LINE
        )

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.path)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = await self.dispatch(line)
                writer.write(json.dumps(reply).encode() + b"\n")
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()

    async def dispatch(self, line: bytes) -> Reply:
        try:
            request = json.loads(line)
        except json.JSONDecodeError as exc:
            return {"ok": False, "error": f"request is not JSON: {exc}"}
        if not isinstance(request, dict) or not isinstance(request.get("cmd"), str):
            return {"ok": False, "error": 'request must be a JSON object with a "cmd" string'}
        handler = self._handlers.get(request["cmd"])
        if handler is None:
            known = ", ".join(sorted(self._handlers))
            return {"ok": False, "error": f"unknown command {request['cmd']!r}; known: {known}"}
        try:
            return {"ok": True, **await handler(request)}
        except (ControlError, ValueError, KeyError, TypeError) as exc:
            return {"ok": False, "error": str(exc) or type(exc).__name__}
        except Exception as exc:  # the bench must get an answer, and the component must survive
            LOGGER.exception("control command %s failed", request["cmd"])
            return {"ok": False, "error": f"internal error: {exc!r}"}


async def request(path: Path, cmd: str, timeout: float = 15.0, **fields: Any) -> Reply:
    """Send one request to a control socket and return its reply (raises ControlError on failure)."""
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_unix_connection(str(path), limit=MAX_LINE)
            try:
                writer.write(json.dumps({"cmd": cmd, **fields}).encode() + b"\n")
                await writer.drain()
                line = await reader.readline()
            finally:
                writer.close()
    except (FileNotFoundError, ConnectionRefusedError) as exc:
        raise ControlError(f"nothing is listening on {path}: is the component running?") from exc
    except OSError as exc:  # e.g. the component died while answering
        raise ControlError(f"{path}: {exc.strerror or exc}") from exc
    except TimeoutError as exc:
        raise ControlError(f"no answer from {path} within {timeout:g} s") from exc
    if not line:
        raise ControlError(f"{path} closed the connection without answering")
    reply: Reply = json.loads(line)
    if not reply.get("ok"):
        raise ControlError(reply.get("error", "request failed"))
    return reply


def request_sync(path: Path, cmd: str, timeout: float = 15.0, **fields: Any) -> Reply:
    """Blocking form of `request`, for command-line tools."""
    return asyncio.run(request(path, cmd, timeout, **fields))

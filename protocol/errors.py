"""The project's exception root and its few meaningful branches.

Every error that crosses a module boundary is one of these, so callers can tell a frame that came
in malformed from the outside (RemoteProtocolError, DecodeError) from our own misuse of a protocol
object (LocalProtocolError) and from a link that dropped and may come back (TransientLinkError).
"""

from __future__ import annotations


class SmartMeterError(Exception):
    """Root of every error raised by this project."""


class ConfigError(SmartMeterError):
    """A configuration file or value is invalid; the message names the file and the key."""


class LocalProtocolError(SmartMeterError):
    """We tried to do something the protocol does not allow in the current state."""


class RemoteProtocolError(SmartMeterError):
    """The peer sent something the protocol does not allow."""


class DecodeError(RemoteProtocolError):
    """Bytes from outside could not be decoded.

    Carries what was being decoded, what was expected and what came, so a log line or a bench
    report says exactly why a frame was refused. The message shows at most `SHOWN_MAX`
    characters of what came (`got` keeps all of it): a message is logged and may be sent back to
    the peer, and neither should grow with the size of the input.
    """

    SHOWN_MAX = 320

    def __init__(self, what: str, expected: str, got: bytes | str) -> None:
        self.what = what
        self.expected = expected
        self.got = got
        shown = got.hex() if isinstance(got, bytes | bytearray) else got
        if len(shown) > self.SHOWN_MAX:
            shown = f"{shown[: self.SHOWN_MAX]}... ({len(shown)} characters)"
        super().__init__(f"cannot decode {what}: expected {expected}, got {shown}")


class TransientLinkError(SmartMeterError):
    """A link (serial line, socket, broker) is down for now; retrying later may succeed."""

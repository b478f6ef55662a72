"""Running `construct` parsers and builders with the project's error types.

A malformed frame from outside is the peer's fault (`DecodeError`, carrying what was expected
and what came); a field out of range while building is ours (`LocalProtocolError`). Every codec
in protocol/ goes through these two functions so that construct's own exceptions never escape.
"""

from __future__ import annotations

from typing import Any

import construct as c

from .errors import DecodeError, LocalProtocolError


def parse_struct(struct: c.Construct, data: bytes, what: str, expected: str) -> Any:
    """Run a construct parser, turning its exceptions into our `DecodeError`."""
    try:
        return struct.parse(data)
    except (c.ConstructError, ValueError) as exc:
        reason = str(exc).replace("\n", "; ")
        raise DecodeError(what, f"{expected} ({reason})", bytes(data)) from exc


def build_struct(struct: c.Construct, obj: Any, what: str) -> bytes:
    """Run a construct builder; a field out of range is our own mistake, not the peer's."""
    try:
        return bytes(struct.build(obj))
    except (c.ConstructError, ValueError, TypeError) as exc:
        raise LocalProtocolError(f"cannot build {what}: {exc}") from exc

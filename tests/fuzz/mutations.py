"""What the fuzz tests share: the settings profile, mutations of valid inputs, the one refusal a
decoder may raise, and the count of inputs each decoder took.

Random octets alone rarely get past a decoder's first check (a CRC, a frame type), so every
decoder is also fed valid encodings with a few mutations each: bit flips, octets set to values
that break length and count fields (0, 1, 0x7F, 0x80, 0xFF ...), truncation, extension, octets
inserted, deleted or repeated. Where a checksum guards the frame, mutations are fed both as they
are and with the checksum made right again (`sealed_mutations`), so they reach the parser.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from protocol.errors import DecodeError

__all__ = [
    "FED",
    "PROFILE",
    "decode",
    "fuzz_settings",
    "fuzzed",
    "mutated",
    "sealed_mutations",
]

T = TypeVar("T")

#: The shared hypothesis profile of the fuzz tests. No deadline: a loaded 2-core CI machine
#: makes per-example timings meaningless, and the example counts bound the time instead.
PROFILE = "fuzz"
settings.register_profile(
    PROFILE,
    max_examples=500,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.large_base_example,
    ],
)


#: Multiplies every decoder's number of examples, for a longer campaign than CI's
#: (`FUZZ_SCALE=50 python -m tests.fuzz.count`).
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def fuzz_settings(max_examples: int) -> settings:
    """The fuzz profile with this decoder's number of examples (chosen so that all the fuzz
    tests together stay well under a minute), times `SCALE`."""
    return settings(settings.get_profile(PROFILE), max_examples=max(1, int(max_examples * SCALE)))


#: Inputs fed to each decoder in this process, by (decoder, entry point); `tests.fuzz.count`
#: reports them.
FED: Counter[tuple[str, str]] = Counter()


def decode(
    decoder: str,
    entry: Callable[..., T],
    *args: Any,
    allowed: tuple[type[Exception], ...] = (DecodeError,),
    **kwargs: Any,
) -> T | None:
    """Call a decoder's entry point: its result, or None when it refused the input with one of
    the `allowed` errors. Anything else escapes and fails the test."""
    FED[decoder, entry.__qualname__] += 1
    try:
        return entry(*args, **kwargs)
    except allowed:
        return None


# -- mutations ----------------------------------------------------------------------------------

# Octet values that break length, count and enumeration fields.
_EDGES = st.sampled_from([0x00, 0x01, 0x02, 0x7E, 0x7F, 0x80, 0x81, 0xFE, 0xFF])
Mutation = Callable[[st.DrawFn, bytearray], bytearray]


def _index(draw: st.DrawFn, data: bytearray, end: int = 0) -> int:
    return draw(st.integers(0, len(data) - 1 + end))


def _flip_bit(draw: st.DrawFn, data: bytearray) -> bytearray:
    if data:
        data[_index(draw, data)] ^= 1 << draw(st.integers(0, 7))
    return data


def _set_octet(draw: st.DrawFn, data: bytearray) -> bytearray:
    if data:
        data[_index(draw, data)] = draw(_EDGES | st.integers(0, 0xFF))
    return data


def _truncate(draw: st.DrawFn, data: bytearray) -> bytearray:
    return data[: draw(st.integers(0, len(data)))]


def _extend(draw: st.DrawFn, data: bytearray) -> bytearray:
    return data + draw(st.binary(min_size=1, max_size=32))


def _insert(draw: st.DrawFn, data: bytearray) -> bytearray:
    at = _index(draw, data, end=1)
    return data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]


def _delete(draw: st.DrawFn, data: bytearray) -> bytearray:
    if not data:
        return data
    at = _index(draw, data)
    return data[:at] + data[at + draw(st.integers(1, 4)) :]


def _repeat(draw: st.DrawFn, data: bytearray) -> bytearray:
    if not data:
        return data
    start = _index(draw, data)
    end = draw(st.integers(start + 1, min(len(data), start + 16)))
    return data[:end] + data[start:end] * draw(st.integers(1, 8)) + data[end:]


MUTATIONS: tuple[Mutation, ...] = (
    _flip_bit,
    _set_octet,
    _truncate,
    _extend,
    _insert,
    _delete,
    _repeat,
)


@st.composite
def mutated(draw: st.DrawFn, valid: st.SearchStrategy[bytes]) -> bytes:
    """A valid encoding with one to four mutations."""
    data = bytearray(draw(valid))
    for _ in range(draw(st.integers(1, 4))):
        data = draw(st.sampled_from(MUTATIONS))(draw, data)
    return bytes(data)


def fuzzed(valid: st.SearchStrategy[bytes], max_size: int = 64) -> st.SearchStrategy[bytes]:
    """Random octets, valid encodings, and valid encodings mutated."""
    return st.one_of(st.binary(max_size=max_size), valid, mutated(valid))


def sealed_mutations(
    bodies: st.SearchStrategy[bytes], seal: Callable[[bytes], bytes], max_size: int = 64
) -> st.SearchStrategy[bytes]:
    """For a frame a checksum guards: random octets, sealed valid bodies mutated after sealing
    (the checksum catches them), and bodies mutated then sealed (the parser sees them)."""
    return st.one_of(
        st.binary(max_size=max_size),
        st.binary(max_size=max_size).map(seal),
        bodies.map(seal),
        mutated(bodies.map(seal)),
        mutated(bodies).map(seal),
    )

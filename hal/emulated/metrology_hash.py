"""Deterministic randomness for the emulated measuring elements: a counter-based hash.

A profile draws its noise from (seed, purpose, time slot) through splitmix64, never from hidden
state, so every process and every run sees the same value at the same instant.
"""

from __future__ import annotations

__all__ = ["unit_interval"]

_MASK64 = (1 << 64) - 1


def unit_interval(*values: int) -> float:
    """Deterministic uniform number in [0, 1) from integers (splitmix64 over each value)."""
    state = 0x9E3779B97F4A7C15
    for value in values:
        state = (state ^ (value & _MASK64)) + 0x9E3779B97F4A7C15 & _MASK64
        z = state
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9 & _MASK64
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB & _MASK64
        state = z ^ (z >> 31)
    return state / 2**64

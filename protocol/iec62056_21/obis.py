"""OBIS identifiers (IEC 62056-61) as the optical port's data sets name them.

A full identifier is ``A-B:C.D.E*F`` (A the medium: 0 abstract, 1 electricity, 7 gas; B the
channel; C the quantity; D its processing; E its tariff or index; F the billing period, 255 for
the current values). A readout names each object ``A-B:C.D.E`` (at most 16 characters, as a data
set address must be); a read or write may name it that way, in full, or by its reduced form
``C.D.E`` when that is unambiguous on the meter. C from 128 to 199 is manufacturer specific
(IEC 62056-61 4.5): our objects there are listed in the meter's data set (`devices/meter`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from protocol.errors import DecodeError

__all__ = ["Obis"]

_FULL = re.compile(r"(\d{1,3})-(\d{1,3}):(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:\*(\d{1,3}))?")
_REDUCED = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})")


@dataclass(frozen=True, order=True)
class Obis:
    a: int
    b: int
    c: int
    d: int
    e: int
    f: int = 255

    @classmethod
    def parse(cls, text: str) -> Obis:
        """``A-B:C.D.E[*F]`` (F defaults to 255); DecodeError otherwise."""
        match = _FULL.fullmatch(text.strip())
        if match is None:
            raise DecodeError("OBIS identifier", "A-B:C.D.E or A-B:C.D.E*F", text)
        parts = [int(group) if group is not None else 255 for group in match.groups()]
        if any(part > 255 for part in parts):
            raise DecodeError("OBIS identifier", "values group values of 0-255", text)
        return cls(*parts)

    @staticmethod
    def reduced_of(text: str) -> tuple[int, int, int] | None:
        """(C, D, E) of a reduced identifier ``C.D.E``, None if `text` is not one."""
        match = _REDUCED.fullmatch(text.strip())
        return None if match is None else (int(match[1]), int(match[2]), int(match[3]))

    @property
    def reduced(self) -> tuple[int, int, int]:
        return self.c, self.d, self.e

    def __str__(self) -> str:
        """The readout's name, ``A-B:C.D.E`` (``*F`` only when F is not 255)."""
        text = f"{self.a}-{self.b}:{self.c}.{self.d}.{self.e}"
        return text if self.f == 255 else f"{text}*{self.f}"

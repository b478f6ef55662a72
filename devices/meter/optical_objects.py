"""The meter's data set on the optical port: every object, its OBIS name, how to read and write it.

What a data readout lists and what programming mode reads (R1/R5) and writes (W1/W5), IEC
62056-21 over IEC 62056-61 names:

| OBIS          | object                                   | access                          |
|---------------|------------------------------------------|---------------------------------|
| 0-0:96.1.0    | serial number (6.3.2, 12.1.x)            | read                            |
| 0-0:96.1.1    | MPAN or MPRN (12.1.w)                    | read, write                     |
| 0-0:96.1.2    | EUI-64, the ZigBee MAC address (12.1.x)  | read                            |
| 0-0:96.1.3    | variant code                             | read                            |
| 0-0:0.2.0     | firmware version                         | read                            |
| 0-0:1.0.0     | clock, UTC (12.1.f)                      | read, write with the seal broken|
| 0-0:0.9.1/2   | UK local time and date (hhmmss, YYMMDD)  | read                            |
| (registers)   | every `Reading` of every source          | read                            |
| 0-0:96.3.10   | supply state (section 11)                | read                            |
| 0-0:96.7.21   | power ups counted                        | read                            |
| 0-0:128.10.N  | events of Appendix B section N (0: all)  | read                            |
| 0-0:128.0.0   | payment mode, credit/prepayment (12.1.p) | read, write                     |
| 0-0:128.0.1   | supplier (12.1.z)                        | read, write                     |
| 0-0:128.0.2   | display message, e.g. 'Welcome' (20.2.8) | read, write                     |
| 0-0:128.1.0   | local-access password verifier           | write only (never read, 17.2.20)|
| 0-0:128.1.1   | programming locked until (18.11.d)       | read                            |
| 0-0:128.2.0   | local changes logged (17.2.21.e)         | read                            |
| 0-0:128.3.N   | tariff item N (12.1.a-e, q, aa), JSON    | read, write with the seal broken|
| 0-0:128.4.N   | tariff item N suppressed (1) or not (0)  | read, write with the seal broken|
| 0-0:128.5.N   | active price, tariff state (readout)     | read                            |

The tariff's objects are added by `optical_tariff` (`ObjectTable.extend`, and a reading
source); a read answer longer than one data set is split over several (`answer_of`).

The install code and the HAN keys are not objects: no key crosses the port (17.2.20). A read
that fails (a fault in the part that keeps the value) gives ``ERR`` for that object alone, so
the rest of the readout still comes out (20.5.4.2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from protocol.errors import SmartMeterError
from protocol.iec62056_21.frames import VALUE_MAX, DataSet
from protocol.iec62056_21.json_value import read_parts
from protocol.iec62056_21.obis import Obis

from .readings import Reading

__all__ = ["DataObject", "ObjectTable", "WriteRefused"]

LOGGER = logging.getLogger(__name__)


class WriteRefused(SmartMeterError):
    """A read or write the meter refuses; `code` goes into the error message ``(ERRnn)``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code


#: Error codes of our error messages (IEC 62056-21 leaves them to the manufacturer).
ERR_UNKNOWN_OBJECT = 1
ERR_NOT_WRITABLE = 2
ERR_NOT_READABLE = 3
ERR_BAD_VALUE = 4
ERR_SEAL_INTACT = 5
ERR_PASSWORD = 6
ERR_LOCKED = 7
ERR_UNSUPPORTED = 8
ERR_FAULT = 9


@dataclass(frozen=True)
class DataObject:
    obis: Obis
    name: str
    #: (value, unit) now; None for a write-only object.
    read: Callable[[], tuple[str, str]] | None
    #: Applies a checked value as `engineer`; returns the value it replaced (for the log).
    write: Callable[[str, str], str] | None = None
    #: Writing it affects metering: only with the seal broken (17.2.21.a).
    seal: bool = False
    #: Listed in the data readout.
    readout: bool = True


def _from_reading(reading: Reading) -> DataObject:
    return DataObject(reading.obis, reading.name, lambda: (reading.value, reading.unit))


class ObjectTable:
    """The identity and clock objects (`head`), the readings of the meter's sources at the
    time of asking, then the state and configuration objects (`tail`)."""

    def __init__(
        self,
        head: list[DataObject],
        readings: Callable[[], list[Reading]],
        tail: list[DataObject],
    ) -> None:
        self._head, self._readings, self._tail = head, readings, tail

    def objects(self) -> list[DataObject]:
        try:
            dynamic = [_from_reading(reading) for reading in self._readings()]
        except Exception:  # a faulty register source must not silence the port (20.5.4.2)
            LOGGER.exception("the register sources failed")
            dynamic = []
        ids, merged = set(), []
        for obj in [*self._head, *dynamic, *self._tail]:
            if obj.obis not in ids:
                ids.add(obj.obis)
                merged.append(obj)
        return merged

    def find(self, address: str) -> DataObject:
        """The object a data set address names: ``A-B:C.D.E[*F]`` or an unambiguous ``C.D.E``."""
        objects = self.objects()
        reduced = Obis.reduced_of(address)
        if reduced is not None:
            matches = [obj for obj in objects if obj.obis.reduced == reduced]
        else:
            try:
                wanted = Obis.parse(address)
            except SmartMeterError:
                raise WriteRefused(ERR_UNKNOWN_OBJECT, f"{address!r} is no OBIS name") from None
            matches = [obj for obj in objects if obj.obis == wanted]
        if len(matches) != 1:
            why = "is ambiguous" if matches else "is not an object of this meter"
            raise WriteRefused(ERR_UNKNOWN_OBJECT, f"{address} {why}")
        return matches[0]

    @staticmethod
    def line_of(obj: DataObject) -> tuple[DataSet, ...]:
        """The object as a line of the readout (a long value over several data sets, as a
        read answers it): ``ERR`` if it cannot be read."""
        try:
            return _read(obj)
        except WriteRefused as exc:
            LOGGER.info("reading %s for the readout refused: %s", obj.obis, exc)
            return (DataSet(str(obj.obis), "ERR"),)

    def extend(self, objects: list[DataObject]) -> None:
        """More objects after the others (a tariff's items, `optical_tariff`)."""
        self._tail = [*self._tail, *objects]

    @staticmethod
    def answer_of(obj: DataObject) -> tuple[DataSet, ...]:
        """The answer to a read (R1/R5): a value longer than one data set is split over
        several of the same address (`json_value.read_parts`); a refusal raises WriteRefused."""
        return _read(obj)

    def readout(self) -> list[tuple[DataSet, ...]]:
        """Every readable object of the readout, in order, one line each."""
        return [self.line_of(obj) for obj in self.objects() if obj.readout and obj.read]


def _read(obj: DataObject) -> tuple[DataSet, ...]:
    """`obj` read now, as data sets: split over several when it is longer than one. WriteRefused if it is write only or refuses; any other fault gives ``ERR`` for this
    object alone (20.5.4.2), logged."""
    if obj.read is None:
        raise WriteRefused(ERR_NOT_READABLE, f"{obj.obis} ({obj.name}) cannot be read")
    try:
        value, unit = obj.read()
        if len(value) > VALUE_MAX and not unit:
            return read_parts(str(obj.obis), value)
        shown = DataSet(str(obj.obis), value, unit)
        shown.encode()  # what a data set cannot carry must not cost the whole readout
    except WriteRefused:
        raise
    except Exception:
        LOGGER.exception("reading %s failed", obj.obis)
        return (DataSet(str(obj.obis), "ERR"),)
    return (shown,)

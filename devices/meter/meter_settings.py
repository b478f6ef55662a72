"""The meter's configuration items of clause 12.1 that exist so far, kept in non-volatile memory.

- payment mode, credit or prepayment (12.1.p, "mode of operation"); the head-end chooses it and
  the installation applies it (20.2.8);
- MPAN (electricity, 13 digits) or MPRN (gas, 6 to 10 digits) (12.1.w, consumer data);
- supplier (12.1.z): the supplier's name, at most 16 characters;
- the message the display shows under the readings: 'Welcome' after an installation (20.2.8).

Each item is checked before it is kept (`SettingError` says why); every change is saved at once.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from typing import Any

from hal.ports import NonVolatileStore, Tx
from protocol.errors import SmartMeterError

__all__ = ["PaymentMode", "SettingError", "Settings", "SettingsStore"]

NAMESPACE = "meter_settings"
MESSAGE_MAX = 16


class SettingError(SmartMeterError):
    """A configuration value the meter does not accept; the message says why."""


class PaymentMode(enum.Enum):
    CREDIT = "credit"
    PREPAYMENT = "prepayment"


@dataclass(frozen=True)
class Settings:
    payment_mode: PaymentMode = PaymentMode.CREDIT
    mpxn: str = ""
    supplier: str = ""
    message: str = ""


_MPAN = re.compile(r"\d{13}")
_MPRN = re.compile(r"\d{6,10}")
_TEXT = re.compile(r"[A-Za-z0-9 .,'&-]*")


def check_mpxn(value: str, electricity: bool) -> str:
    """An MPAN (13 digits) for an electricity meter, an MPRN (6-10 digits) for gas."""
    pattern, what = (
        (_MPAN, "an MPAN of 13 digits") if electricity else (_MPRN, "an MPRN of 6-10 digits")
    )
    if not pattern.fullmatch(value):
        raise SettingError(f"{value!r} is not {what}")
    return value


def check_text(value: str, what: str) -> str:
    if len(value) > MESSAGE_MAX or not _TEXT.fullmatch(value):
        raise SettingError(f"{what} must be at most {MESSAGE_MAX} letters, digits or spaces")
    return value


def check_mode(value: str) -> PaymentMode:
    try:
        return PaymentMode(value.lower())
    except ValueError:
        raise SettingError(f"payment mode {value!r} is not credit or prepayment") from None


class SettingsStore:
    """The settings as last saved."""

    def __init__(self, store: NonVolatileStore) -> None:
        self._store = store
        saved: dict[str, Any] = store.items(NAMESPACE)
        self.settings = Settings(
            payment_mode=PaymentMode(saved.get("payment_mode", PaymentMode.CREDIT.value)),
            mpxn=str(saved.get("mpxn", "")),
            supplier=str(saved.get("supplier", "")),
            message=str(saved.get("message", "")),
        )

    def update(self, changes: dict[str, Any], tx: Tx | None = None) -> Settings:
        """Apply and save `changes` (already checked), in `tx` when given."""
        fields = dict(self.settings.__dict__, **changes)
        self.settings = Settings(**fields)
        for key, value in changes.items():
            saved = value.value if isinstance(value, enum.Enum) else value
            self._store.put(NAMESPACE, key, saved, tx=tx)
        return self.settings

    def as_dict(self) -> dict[str, str]:
        s = self.settings
        return {
            "payment_mode": s.payment_mode.value,
            "mpxn": s.mpxn,
            "supplier": s.supplier,
            "message": s.message,
        }

"""The password policy of Appendix F (F.1.f, F.1.g.1-10), for every local-access password.

Clause 17.2.21.b.1: local-access passwords are strong and complex as Appendix F defines. The
checker names every rule a password breaks, with the reason, so a head-end, an HHT or a test
can say exactly why a password was refused:

- F.1.f   at least 10 characters, letters of both cases and digits only, with at least two
          digits that do not stand next to each other ("non-consecutive numbers");
- F.1.g.1 no dictionary word or real (first) name;          F.1.g.2 no date or calendar name;
- F.1.g.3 no family name or the user's initials;            F.1.g.4 no vehicle registration;
- F.1.g.5 no meter or hardware serial number;               F.1.g.6 no company name or reference;
- F.1.g.7 no telephone number;                              F.1.g.8 no user, group or system id;
- F.1.g.9 no character three times in a row;                F.1.g.10 not all digits or all letters.

Word lists are short built-in ones (the common words, names and surnames an attacker tries
first); `PasswordContext` adds what is specific to a device and a person: serial numbers, user
ids, names, initials, telephone numbers, vehicle registrations. Matching ignores case and reads
common digit-for-letter swaps (0->o, 1->i/l, 3->e, 4->a, 5->s, 7->t) back as letters, so
``Sm1thJones`` is still a surname. `generate_password` draws passwords that pass, from
randomness the caller hands in (sans-IO).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .password_words import COMPANIES, DICTIONARY, SURNAMES, SYSTEM_CODES

__all__ = [
    "PasswordContext",
    "Violation",
    "check_password",
    "generate_password",
]

MIN_LENGTH = 10

_MONTHS = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_CALENDAR = frozenset(
    [
        *_MONTHS,
        *_DAYS,
        *(m[:3] for m in _MONTHS if m != "may"),
        "sept",
        "tues",
        "thur",
        "thurs",
        "christmas",
        "easter",
        "xmas",
        "newyear",
        "today",
        "tomorrow",
        "yesterday",
        "weekend",
    ]
)
#: UK registrations: the current style (AB12CDE) anywhere; the prefix (A123BCD) and suffix
#: (ABC123D) styles, which any random mix of letters and digits contains, at either end.
_VEHICLE = re.compile(r"[a-z]{2}\d{2}[a-z]{3}|^[a-z]\d{1,3}[a-z]{3}|[a-z]{3}\d{1,3}[a-z]$")
#: Seven digits or more read as a telephone number; 0 then 9+ digits as a UK one.
_PHONE = re.compile(r"\d{7,}|0\d{9,}|44\d{9,}")
_YEAR = re.compile(r"(19|20)\d\d")
_SWAPS = str.maketrans("0134578", "oieastb")
_SWAPS_L = str.maketrans("0134578", "oleastb")


@dataclass(frozen=True)
class Violation:
    """One Appendix F rule a password breaks."""

    rule: str
    reason: str


@dataclass(frozen=True)
class PasswordContext:
    """What a password must not be based on, beyond the built-in lists: the device's serial
    numbers and ids (F.1.g.5), the user's ids (F.1.g.8), names and initials (F.1.g.1, 3),
    telephone numbers (F.1.g.7), vehicle registrations (F.1.g.4), company references (F.1.g.6)."""

    serials: tuple[str, ...] = ()
    user_ids: tuple[str, ...] = ()
    names: tuple[str, ...] = ()
    initials: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    vehicles: tuple[str, ...] = ()
    companies: tuple[str, ...] = ()


def _plain(text: str) -> str:
    """Lower case, letters and digits only: how a reference is compared."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def _readings(password: str) -> tuple[str, ...]:
    """The password lower-cased, and with digit-for-letter swaps read back (two ways for 1)."""
    low = password.lower()
    return (low, low.translate(_SWAPS), low.translate(_SWAPS_L))


def _contains_word(password: str, words: Iterable[str], minimum: int = 3) -> str | None:
    readings = _readings(password)
    for word in words:
        plain = _plain(word)
        if len(plain) >= minimum and any(plain in reading for reading in readings):
            return plain
    return None


def _contains_part(
    password: str, references: Iterable[str], chunk: int = 5, shortest: int = 3
) -> str | None:
    """A reference, or any `chunk` characters of it, inside the password (serials, ids)."""
    low = password.lower()
    for reference in references:
        plain = _plain(reference)
        if len(plain) <= chunk:
            if len(plain) >= shortest and plain in low:
                return plain
            continue
        for at in range(len(plain) - chunk + 1):
            if plain[at : at + chunk] in low:
                return plain[at : at + chunk]
    return None


def _non_consecutive_digits(password: str) -> bool:
    """Two digits with something else between them (F.1.f's "non-consecutive numbers")."""
    positions = [i for i, ch in enumerate(password) if ch.isdigit()]
    return any(b - a > 1 for a, b in itertools.pairwise(positions))


def _is_date(digits: str) -> bool:
    """A run of digits that reads as a year, a ddmm/mmdd day or a full date."""
    if _YEAR.search(digits):
        return True
    for at in range(len(digits) - 3):
        first, second = int(digits[at : at + 2]), int(digits[at + 2 : at + 4])
        if (1 <= first <= 31 and 1 <= second <= 12) or (1 <= first <= 12 and 1 <= second <= 31):
            return True
    return False


def check_password(password: str, context: PasswordContext | None = None) -> list[Violation]:
    """Every Appendix F rule `password` breaks (empty: the password may be used)."""
    ctx = context or PasswordContext()
    found: list[Violation] = []

    def breaks(rule: str, reason: str) -> None:
        found.append(Violation(rule, reason))

    if len(password) < MIN_LENGTH:
        breaks("F.1.f", f"shorter than {MIN_LENGTH} characters ({len(password)})")
    if not password.isascii() or not password.isalnum():
        breaks("F.1.f", "characters other than letters and digits")
    if not any(ch.islower() for ch in password):
        breaks("F.1.f", "no lower-case letter")
    if not any(ch.isupper() for ch in password):
        breaks("F.1.f", "no upper-case letter")
    if sum(ch.isdigit() for ch in password) < 2:
        breaks("F.1.f", "fewer than two digits")
    elif not _non_consecutive_digits(password):
        breaks("F.1.f", "its digits all stand next to each other")
    if word := _contains_word(password, [*DICTIONARY, *ctx.names], minimum=4):
        breaks("F.1.g.1", f"contains the dictionary word or name {word!r}")
    digit_runs = re.findall(r"\d{4,}", password)
    if word := _contains_word(password, _CALENDAR):
        breaks("F.1.g.2", f"contains the calendar name {word!r}")
    elif any(_is_date(run) for run in digit_runs):
        breaks("F.1.g.2", "contains digits that read as a date or a year")
    if word := _contains_word(password, [*SURNAMES, *ctx.names], minimum=4):
        breaks("F.1.g.3", f"contains the family name {word!r}")
    elif initials := _contains_part(password, ctx.initials, chunk=8, shortest=2):
        breaks("F.1.g.3", f"contains the initials {initials!r}")
    low = password.lower()
    if _VEHICLE.search(low) or _contains_part(password, ctx.vehicles):
        breaks("F.1.g.4", "contains a vehicle registration number")
    if serial := _contains_part(password, ctx.serials):
        breaks("F.1.g.5", f"contains part of the serial number {serial!r}")
    if word := _contains_word(password, [*COMPANIES, *ctx.companies]):
        breaks("F.1.g.6", f"contains the company reference {word!r}")
    if _PHONE.search(password) or _contains_part(password, ctx.phones, chunk=6):
        breaks("F.1.g.7", "contains a telephone number")
    if word := _contains_word(password, SYSTEM_CODES) or _contains_part(password, ctx.user_ids):
        breaks("F.1.g.8", f"contains the user, group or system code {word!r}")
    if run := re.search(r"(.)\1\1", password):
        breaks("F.1.g.9", f"more than two identical characters in a row ({run.group(0)!r})")
    if password.isdigit() or password.isalpha():
        breaks("F.1.g.10", "all digits" if password.isdigit() else "all letters")
    return found


#: Letters and digits a generated password draws from: no 0/O, 1/l/I, 5/S to read by eye.
_ALPHABET = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRTUVWXYZ2346789"


def generate_password(
    random_bytes: Callable[[int], bytes],
    context: PasswordContext | None = None,
    length: int = 12,
) -> str:
    """A password of `length` characters that passes `check_password`; `random_bytes(n)` is
    the caller's source of randomness (e.g. `secrets.token_bytes`)."""
    if length < MIN_LENGTH:
        raise ValueError(f"a password has at least {MIN_LENGTH} characters")
    while True:
        draw = random_bytes(length * 2)
        # Rejection sampling keeps every character equally likely.
        limit = 256 - 256 % len(_ALPHABET)
        chars = [_ALPHABET[b % len(_ALPHABET)] for b in draw if b < limit][:length]
        if len(chars) == length and not check_password("".join(chars), context):
            return "".join(chars)

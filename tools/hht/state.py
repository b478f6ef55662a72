"""What the HHT keeps between runs: the engineer's identity and authorisation (D.1.7).

A JSON file, readable by its owner only, written whole and renamed into place so that a power
cut (or a flat battery) never leaves half a file: the HHT comes back with what it had (D.1.7).
It holds the engineer's code and token issued by the head-end, the role (D.2.2) and the end of
the authorisation (D.1.3) as last confirmed by the head-end, and the last jobs done. The HHT
refuses to work once the authorisation has expired, until the head-end revalidates it (D.1.4);
a disabled engineer (D.1.5) is refused by the head-end on the next request.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from protocol.errors import SmartMeterError

__all__ = ["HhtState", "NotAuthorised", "load_state", "save_state"]

STATE_ENV = "SMARTMETER_HHT_STATE"
JOBS_KEPT = 50


class NotAuthorised(SmartMeterError):
    """The HHT holds no valid authorisation; the message says what to do."""


@dataclass
class HhtState:
    engineer: str = ""
    token: str = ""
    role: str = ""
    expires_at: str = ""
    verified_at: str = ""
    jobs: list[dict[str, Any]] = field(default_factory=list)

    def require(self, now: datetime | None = None) -> None:
        """Raise NotAuthorised unless an engineer is logged in and not expired (D.1.3)."""
        if not self.engineer or not self.token:
            raise NotAuthorised(
                "no engineer on this HHT: `smartmeter hht login --engineer CODE --token TOKEN`"
            )
        expires = datetime.fromisoformat(self.expires_at)
        if expires <= (now or datetime.now(UTC)):
            raise NotAuthorised(
                f"the authorisation of engineer {self.engineer} expired at {self.expires_at}: "
                "ask the head-end to revalidate it, then `smartmeter hht status`"
            )

    def add_job(self, job: dict[str, Any]) -> None:
        self.jobs = [*self.jobs, job][-JOBS_KEPT:]


def load_state(path: Path) -> HhtState:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return HhtState()
    except (OSError, ValueError) as exc:
        raise SmartMeterError(f"{path}: the HHT's state cannot be read: {exc}") from None
    known = set(HhtState.__dataclass_fields__)
    return HhtState(**{key: value for key, value in data.items() if key in known})


def save_state(path: Path, state: HhtState) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(asdict(state), file, indent=2)
        file.flush()
        os.fsync(file.fileno())
    os.replace(temporary, path)

"""The HHT's link to the head-end: every request signed in with the engineer's code and token.

In the field this is the HHT's mobile data connection to the supplier's systems; on a rig it is
the head-end simulator's control socket. The head-end refuses any request of an engineer who is
unknown, disabled or expired, or lacks the role (Appendix D).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hal.control_socket import request_sync

from .state import HhtState

__all__ = ["HeadendLink"]

#: The head-end waits up to 10 s for a hub (6.1.11); the socket outlives that.
TIMEOUT_S = 20.0


class HeadendLink:
    def __init__(self, control: Path, state: HhtState) -> None:
        self._control = control
        self._state = state

    def call(self, cmd: str, **fields: Any) -> dict[str, Any]:
        reply = request_sync(
            self._control,
            cmd,
            TIMEOUT_S,
            engineer=self._state.engineer,
            token=self._state.token,
            **fields,
        )
        return {key: value for key, value in reply.items() if key != "ok"}

    def verify(self) -> dict[str, Any]:
        return self.call("hht_verify")

    def record(self, device: str) -> dict[str, Any]:
        return self.call("device_record", device=device)

    def password(self, device: str) -> str:
        return str(self.call("job_password", device=device)["password"])

    def hand_install_code(self, device: str, install_code: str, eui64: str) -> dict[str, Any]:
        return self.call("hand_install_code", device=device, install_code=install_code, eui64=eui64)

    def device_status(self, device: str) -> dict[str, Any]:
        return dict(self.call("hub_device_status", device=device)["data"])

    def display_message(self, device: str, text: str) -> dict[str, Any]:
        return self.call("display_message", device=device, text=text)

    def read(self, device: str) -> dict[str, Any]:
        return self.call("read", device=device, timeout_s=10.0)

    def sync(self, device: str, kind: str, data: dict[str, Any]) -> dict[str, Any]:
        return self.call("record_sync", device=device, kind=kind, data=data)

    def remove(self, device: str) -> dict[str, Any]:
        return self.call("remove", device=device, timeout_s=15.0)

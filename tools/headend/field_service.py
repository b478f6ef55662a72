"""The head-end's side of field work: engineers and their HHTs, meters' passwords, installations.

Control commands (the head-end's control socket; `smartmeter headend engineer ...` and the HHT):

- Engineers (Appendix D): `engineer_issue` {code, role, days} gives an engineer a code (D.2.1),
  a role, "read" or "configure" (D.2.2), and a token for their HHT, valid for `days` (D.1.3);
  `engineer_revalidate` {code, days} starts a full period again (D.1.4); `engineer_disable`
  {code} stops it at once (D.1.5); `engineers` lists them. Every HHT request carries the
  engineer's code and token and is refused when the engineer is unknown, disabled, expired or
  lacks the role: the HHT cannot act without the head-end (D.1.2, D.1.9).
- `hht_verify`: the engineer's role and expiry, for the HHT to keep (D.1.7).
- `device_record` {device}: what the head-end holds of a component, for the HHT to check the
  one in front of the installer against (20.2.6, D.1.9): serial, EUI-64, kind, variant, hub,
  and the account (payment mode, MPAN/MPRN).
- `job_password` {device}: the meter's local-access password, to a configure engineer only, for
  the job in hand (F.1.d, 17.2.21.b: out-of-band password communication).
- `hand_install_code` {device, install_code, eui64}: the install code an HHT read from the
  nameplate, checked against the records and handed to the device's hub over the WAN (17.2.9,
  20.4.2.b; C.8); `hub_device_status` and `display_message` pass through to the hub.
- `record_sync` {device, kind, data}: what an installation, a replacement, a decommissioning
  or a home move synchronised (20.2.4, 20.5.1); `installations` lists them.
- `set_account` {device, payment_mode, mpxn}: the head-end's choices for a meter (20.2.8).
- `reset_password` {device}: a new local-access password for a meter, drawn to meet Appendix F
  and unique to it, sent through its hub (17.2.21.b.2); kept (sealed) only once the hub has
  handed it over, and never written to the head-end's command log.
"""

from __future__ import annotations

import enum
import json
import logging
import secrets
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from hal.control_socket import ControlError, Handler, Reply, Request
from protocol.errors import ConfigError
from protocol.password_policy import PasswordContext, generate_password
from protocol.wan import CommandType
from tools.headend.field_store import FieldStore, token_hash
from tools.headend.inventory import Device, Inventory

__all__ = ["EngineerRole", "FieldService"]

LOGGER = logging.getLogger(__name__)
MAX_DAYS = 366
Command = Callable[..., Awaitable[Reply]]
Clock = Callable[[], datetime]
HUB_DEADLINE_S = 10.0
#: SE's Password field (Device Management) holds 10 octets, Appendix F's minimum length.
PASSWORD_LENGTH = 10


class EngineerRole(enum.StrEnum):
    READ = "read"  # D.2.2 1): read data
    CONFIGURE = "configure"  # D.2.2 2): change the configuration


def _text(request: Request, key: str, limit: int = 64) -> str:
    value = request.get(key)
    if not isinstance(value, str) or not 0 < len(value) <= limit:
        raise ControlError(f'"{key}" must be text of 1 to {limit} characters')
    return value


def default_mpxn(device: Device) -> str:
    """The account's MPAN (13 digits) or MPRN (10), until the supplier sets one."""
    digits = f"{int(device.eui64.replace(':', '').replace('-', ''), 16) % 10**9:09d}"
    return f"1900{digits}" if device.kind.value == "esme" else f"7{digits}"


class FieldService:
    def __init__(
        self, inventory: Inventory, store: FieldStore, command: Command, clock: Clock
    ) -> None:
        self.inventory, self.store = inventory, store
        self._command, self._clock = command, clock

    def load_factory_passwords(self, path: Path) -> int:
        """Take the meters' factory passwords (the supplier's copy) into the store, once."""
        try:
            passwords = json.loads(path.read_text())
        except FileNotFoundError:
            return 0
        except (OSError, ValueError) as exc:
            raise ConfigError(f"{path}: not a password list: {exc}") from None
        taken = 0
        for device, password in passwords.items():
            if isinstance(password, str) and self.store.password(device) is None:
                self.store.put_password(device, password, self._clock(), "factory")
                taken += 1
        return taken

    def handlers(self) -> dict[str, Handler]:
        return {
            "engineer_issue": self._engineer_issue,
            "engineer_revalidate": self._engineer_revalidate,
            "engineer_disable": self._engineer_disable,
            "engineers": self._engineers,
            "hht_verify": self._hht_verify,
            "device_record": self._device_record,
            "job_password": self._job_password,
            "hand_install_code": self._hand_install_code,
            "hub_device_status": self._hub_device_status,
            "display_message": self._display_message,
            "record_sync": self._record_sync,
            "installations": self._installations,
            "set_account": self._set_account,
            "reset_password": self._reset_password,
        }

    # -- engineers -----------------------------------------------------------------------

    def _days(self, request: Request) -> timedelta:
        days = request.get("days", 30)
        if isinstance(days, bool) or not isinstance(days, int | float) or not 0 < days <= MAX_DAYS:
            raise ControlError(f"days must be a number from 0 to {MAX_DAYS}")
        return timedelta(days=float(days))

    async def _engineer_issue(self, request: Request) -> Reply:
        code = _text(request, "code", 16)
        if not code.isalnum():
            raise ControlError("an engineer code is letters and digits only")
        try:
            role = EngineerRole(request.get("role", "read"))
        except ValueError:
            raise ControlError("role must be read or configure") from None
        token = secrets.token_hex(24)  # hex: never read as an option on a command line
        expires = self._clock() + self._days(request)
        self.store.put_engineer(code, role.value, token, expires, self._clock())
        LOGGER.info("engineer %s issued (%s) until %s", code, role, expires.isoformat())
        return {"code": code, "role": role.value, "token": token, "expires_at": expires.isoformat()}

    async def _engineer_revalidate(self, request: Request) -> Reply:
        code = _text(request, "code", 16)
        if self.store.engineer(code) is None:
            raise ControlError(f"no engineer {code}")
        expires = self._clock() + self._days(request)
        self.store.update_engineer(code, expires_at=expires.isoformat(), disabled=0)
        return {"code": code, "expires_at": expires.isoformat()}

    async def _engineer_disable(self, request: Request) -> Reply:
        code = _text(request, "code", 16)
        if self.store.engineer(code) is None:
            raise ControlError(f"no engineer {code}")
        self.store.update_engineer(code, disabled=1)
        LOGGER.warning("engineer %s disabled", code)
        return {"code": code, "disabled": True}

    async def _engineers(self, request: Request) -> Reply:
        return {"engineers": self.store.engineers()}

    def engineer(self, request: Request, needs: EngineerRole = EngineerRole.READ) -> dict[str, Any]:
        """The engineer a request comes from, verified (D.1.2-D.1.5), with the role it needs."""
        code, token = _text(request, "engineer", 16), _text(request, "token", 128)
        record = self.store.engineer(code)
        if record is None or not secrets.compare_digest(record["token_hash"], token_hash(token)):
            raise ControlError(f"HHT refused: engineer {code} is not known with this token")
        if record["disabled"]:
            raise ControlError(f"HHT refused: engineer {code} was disabled by the head-end")
        if datetime.fromisoformat(record["expires_at"]) <= self._clock():
            raise ControlError(
                f"HHT refused: the authorisation of engineer {code} expired at "
                f"{record['expires_at']}; ask for it to be revalidated"
            )
        if needs is EngineerRole.CONFIGURE and record["role"] != EngineerRole.CONFIGURE:
            raise ControlError(f"engineer {code} may read only: this needs the configure role")
        return record

    async def _hht_verify(self, request: Request) -> Reply:
        record = self.engineer(request)
        return {"code": record["code"], "role": record["role"], "expires_at": record["expires_at"]}

    # -- devices -------------------------------------------------------------------------

    def _device(self, request: Request) -> Device:
        try:
            return self.inventory.device(_text(request, "device"))
        except LookupError as exc:
            raise ControlError(str(exc)) from None

    def account(self, device: Device) -> dict[str, str]:
        return self.store.account(device.name) or {
            "payment_mode": "credit",
            "mpxn": default_mpxn(device) if device.kind.value in ("esme", "gsme") else "",
        }

    async def _device_record(self, request: Request) -> Reply:
        self.engineer(request)
        device = self._device(request)
        return {
            "device": device.name,
            "kind": device.kind.value,
            "hub_id": device.hub_id,
            "eui64": device.eui64,
            "serial": device.serial,
            "variant": device.variant,
            "account": self.account(device),
        }

    async def _job_password(self, request: Request) -> Reply:
        engineer = self.engineer(request, EngineerRole.CONFIGURE)
        device = self._device(request)
        password = self.store.password(device.name)
        if password is None:
            raise ControlError(f"the head-end holds no local-access password for {device.name}")
        self.store.record(device.name, "password-issued", engineer["code"], {}, self._clock())
        return {"device": device.name, "password": password}

    async def _hand_install_code(self, request: Request) -> Reply:
        engineer = self.engineer(request, EngineerRole.CONFIGURE)
        device = self._device(request)
        eui64 = _text(request, "eui64", 32)
        if eui64.lower() != device.eui64.lower():
            raise ControlError(
                f"the nameplate's EUI-64 {eui64} is not {device.name}'s ({device.eui64}) in "
                "the head-end's records: wrong component?"
            )
        reply = await self._command(
            CommandType.INSTALL_CODE,
            device.name,
            HUB_DEADLINE_S,
            {"install_code": _text(request, "install_code", 64)},
            secret=True,  # key material: not in the command log (17.2.10)
        )
        self.store.record(device.name, "install-code", engineer["code"], {}, self._clock())
        return reply

    async def _hub_device_status(self, request: Request) -> Reply:
        self.engineer(request)
        device = self._device(request)
        return await self._command(CommandType.DEVICE_STATUS, device.name, HUB_DEADLINE_S, {})

    async def _display_message(self, request: Request) -> Reply:
        self.engineer(request, EngineerRole.CONFIGURE)
        device = self._device(request)
        text = _text(request, "text", 32)
        return await self._command(
            CommandType.DISPLAY_MESSAGE, device.name, HUB_DEADLINE_S, {"text": text}
        )

    async def _record_sync(self, request: Request) -> Reply:
        engineer = self.engineer(request, EngineerRole.CONFIGURE)
        device = self._device(request)
        kind, data = _text(request, "kind", 32), request.get("data")
        if not isinstance(data, dict):
            raise ControlError('"data" must be an object')
        number = self.store.record(device.name, kind, engineer["code"], data, self._clock())
        return {"device": device.name, "kind": kind, "record": number}

    async def _installations(self, request: Request) -> Reply:
        device = request.get("device")
        if device is not None and not isinstance(device, str):
            raise ControlError("device must be a name")
        return {"records": self.store.records(device, int(request.get("limit", 20)))}

    async def _set_account(self, request: Request) -> Reply:
        device = self._device(request)
        account = self.account(device)
        mode = request.get("payment_mode", account["payment_mode"])
        mpxn = request.get("mpxn", account["mpxn"])
        if mode not in ("credit", "prepayment") or not isinstance(mpxn, str):
            raise ControlError("payment_mode is credit or prepayment; mpxn is text")
        self.store.put_account(device.name, mode, mpxn)
        return {"device": device.name, "payment_mode": mode, "mpxn": mpxn}

    async def _reset_password(self, request: Request) -> Reply:
        device = self._device(request)
        if device.kind.value not in ("esme", "gsme"):
            raise ControlError(f"{device.name} has no local-access password")
        context = PasswordContext(serials=(device.serial, device.eui64), user_ids=(device.name,))
        password = generate_password(secrets.token_bytes, context, length=PASSWORD_LENGTH)
        reply = await self._command(
            CommandType.LOCAL_PASSWORD,
            device.name,
            HUB_DEADLINE_S,
            {"password": password},
            secret=True,
        )
        self.store.put_password(device.name, password, self._clock(), "reset")
        LOGGER.info("local-access password of %s reset", device.name)
        return {"device": device.name, "reset": True, "request_id": reply["request_id"]}

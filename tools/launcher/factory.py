"""The factory's part in a rig: each meter's local-access password, set once, before first start.

A real meter leaves the factory with a password unique to it (17.2.21.d, F.1.c) that meets
Appendix F (17.2.21.b.1), and the supplier receives it securely (F.1.d). Here the launcher is
the factory: the first time a rig starts, it draws a password for every meter that has none
(`protocol.password_policy.generate_password`), writes the meter's record (only the verifier,
`Rig.factory_path`, which the wiring hands the meter's firmware as its board's
`factory_verifier`) and adds the password to the supplier's copy, `factory/passwords.json`,
readable by its owner only, which the head-end takes into its own store at start. Neither is
written again, so restarts keep the passwords; delete `run_dir` for new ones.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from firmware.rig import DeviceKind, Rig
from protocol.ieee802154 import eui64_to_str
from protocol.local_auth import SALT_BYTES, make_verifier
from protocol.nameplate import serial_number
from protocol.password_policy import PasswordContext, generate_password

__all__ = ["provision_meters", "supplier_passwords_path"]

METERS = (DeviceKind.ESME, DeviceKind.GSME)


def supplier_passwords_path(rig: Rig) -> Path:
    return rig.run_dir / "factory" / "passwords.json"


def _write_private(path: Path, data: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(data, file, indent=2)
        file.write("\n")


def provision_meters(rig: Rig) -> Path:
    """Give every meter of the rig without one a factory password; the supplier's copy's path."""
    copy_path = supplier_passwords_path(rig)
    try:
        passwords: dict[str, str] = json.loads(copy_path.read_text())
    except FileNotFoundError:
        passwords = {}
    changed = False
    for name, device in rig.devices.items():
        record = rig.factory_path(name)
        if device.kind not in METERS or (record.exists() and name in passwords):
            continue
        context = PasswordContext(
            serials=(serial_number(device.kind.value, device.eui64), eui64_to_str(device.eui64)),
            user_ids=(name,),
        )
        password = generate_password(secrets.token_bytes, context)
        verifier = make_verifier(password, secrets.token_bytes(SALT_BYTES))
        _write_private(record, {"device": name, "verifier": verifier.to_json()})
        passwords[name] = password
        changed = True
    if changed or not copy_path.exists():
        _write_private(copy_path, passwords)
    return copy_path

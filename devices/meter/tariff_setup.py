"""The tariff a meter starts with: the rig's `tariff` file (a JSON tariff document).

Read once by the meter's composition root (`devices/esme/__main__.py`, `devices/gsme/...`): a
meter that already holds a tariff in its store keeps it (the head-end may have changed it
since), so the file only seeds a new meter. A bad file is a `ConfigError` naming it.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware.rig import DeviceConfig
from protocol.errors import ConfigError, DecodeError
from protocol.tariff import tariff_from_json
from protocol.tariff.model import Tariff

__all__ = ["TariffSetup", "tariff_setup"]


@dataclass(frozen=True)
class TariffSetup:
    """What a meter's tariff starts from: the rig's tariff (or none) and the profile period."""

    initial: Tariff | None = None
    profile_minutes: int = 30


def tariff_setup(config: DeviceConfig) -> TariffSetup:
    if config.tariff is None:
        return TariffSetup(None, config.profile_minutes)
    try:
        tariff = tariff_from_json(config.tariff.read_bytes(), str(config.tariff))
    except OSError as exc:
        raise ConfigError(f"{config.name}: cannot read tariff {config.tariff}: {exc}") from None
    except DecodeError as exc:
        raise ConfigError(f"{config.name}: tariff {config.tariff}: {exc}") from None
    return TariffSetup(tariff, config.profile_minutes)

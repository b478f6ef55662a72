"""`python -m devices.esme --rig RIGFILE --name NAME`: the electricity meter as a process."""

from __future__ import annotations

from devices.core.firmware import DeviceContext
from devices.core.process import main
from devices.core.rig import DeviceConfig, DeviceKind
from devices.esme.firmware import EsmeFirmware
from hal.emulated.metrology import ConstantLoad, HouseholdProfile
from hal.ports import ElectricityMetrology, PortError
from protocol.errors import ConfigError


def build(context: DeviceContext, config: DeviceConfig) -> EsmeFirmware:
    """The ESME with the measuring element the rig asks for: a household profile or watts."""
    metrology: ElectricityMetrology
    if config.load == "household":
        metrology = HouseholdProfile(config.seed)
    else:
        try:
            metrology = ConstantLoad(float(config.load))
        except PortError as exc:
            raise ConfigError(f"device {config.name!r}: load = {config.load}: {exc}") from None
    return EsmeFirmware(context, metrology)


if __name__ == "__main__":
    raise SystemExit(main(DeviceKind.ESME, build))

"""`python -m devices.esme --rig RIGFILE --name NAME`: the electricity meter as a process."""

from __future__ import annotations

from devices.core.firmware import DeviceContext
from devices.core.process import main
from devices.core.rig import DeviceConfig, DeviceKind
from devices.esme.firmware import EsmeFirmware
from hal.emulated.metrology import ConstantLoad, HouseholdProfile
from hal.ports import ElectricityMetrology


def build(context: DeviceContext, config: DeviceConfig) -> EsmeFirmware:
    """The ESME with the measuring element the rig asks for: a household profile or watts."""
    metrology: ElectricityMetrology = (
        HouseholdProfile(config.seed) if config.load == "household" else ConstantLoad(float(config.load))
    )
    return EsmeFirmware(context, metrology)


if __name__ == "__main__":
    raise SystemExit(main(DeviceKind.ESME, build))

"""`python -m devices.gsme --rig RIGFILE --name NAME`: the gas meter as a process."""

from __future__ import annotations

from devices.core.firmware import DeviceContext
from devices.core.process import main
from devices.core.rig import DeviceConfig, DeviceKind
from devices.gsme.firmware import GsmeFirmware
from hal.emulated.metrology import ConstantFlow, HouseholdGasProfile
from hal.ports import GasMetrology


def build(context: DeviceContext, config: DeviceConfig) -> GsmeFirmware:
    """The GSME with the measuring element the rig asks for: a household gas profile, or a
    constant flow (for a gas meter the rig's numeric `load` is read as m3/h)."""
    metrology: GasMetrology = (
        HouseholdGasProfile(config.seed) if config.load == "household" else ConstantFlow(float(config.load))
    )
    return GsmeFirmware(context, metrology)


if __name__ == "__main__":
    raise SystemExit(main(DeviceKind.GSME, build))

"""`python -m devices.gsme --rig RIGFILE --name NAME`: the gas meter as a process."""

from __future__ import annotations

from devices.core.firmware import DeviceContext
from devices.core.process import main
from devices.core.rig import DeviceConfig, DeviceKind
from devices.gsme.firmware import GsmeFirmware, flow_for_power
from hal.emulated.metrology import ConstantFlow, HouseholdGasProfile
from hal.ports import GasMetrology, PortError
from protocol.errors import ConfigError


def build(context: DeviceContext, config: DeviceConfig) -> GsmeFirmware:
    """The GSME with the measuring element the rig asks for: a household gas profile, or the
    constant flow that burns the rig's `load` watts (the rig file states loads in watts)."""
    metrology: GasMetrology
    if config.load == "household":
        metrology = HouseholdGasProfile(config.seed)
    else:
        try:
            metrology = ConstantFlow(flow_for_power(float(config.load)))
        except PortError as exc:
            raise ConfigError(f"device {config.name!r}: load = {config.load}: {exc}") from None
    return GsmeFirmware(context, metrology)


if __name__ == "__main__":
    raise SystemExit(main(DeviceKind.GSME, build))

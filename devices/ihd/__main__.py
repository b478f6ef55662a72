"""`python -m devices.ihd --rig RIGFILE --name NAME`: the in-home display as a process."""

from __future__ import annotations

from devices.core.firmware import DeviceContext
from devices.core.process import main
from devices.core.rig import DeviceConfig, DeviceKind
from devices.ihd.firmware import IhdFirmware


def build(context: DeviceContext, config: DeviceConfig) -> IhdFirmware:
    return IhdFirmware(context)


if __name__ == "__main__":
    raise SystemExit(main(DeviceKind.IHD, build))

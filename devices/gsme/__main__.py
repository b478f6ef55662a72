"""`python -m devices.gsme --rig RIG --name NAME`: the gas meter as a process.

The composition root of the GSME: its board (ports) comes from the rig through
`firmware.wiring.gas_meter_board`, its firmware sees only that board.
"""

from __future__ import annotations

from collections.abc import Sequence

from devices.core.process import run_device
from devices.gsme.firmware import GsmeFirmware
from devices.meter.tariff_setup import tariff_setup
from firmware.rig import DeviceKind
from firmware.wiring import gas_meter_board


def main(argv: Sequence[str] | None = None) -> int:
    return run_device(
        DeviceKind.GSME,
        GsmeFirmware,
        gas_meter_board,
        lambda identity, board, config: GsmeFirmware(identity, board, tariff_setup(config)),
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())

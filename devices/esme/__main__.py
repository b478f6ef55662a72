"""`python -m devices.esme --rig RIG --name NAME`: the electricity meter as a process.

The composition root of the ESME: its board (ports) comes from the rig through
`firmware.wiring.electricity_meter_board`, its firmware sees only that board.
"""

from __future__ import annotations

from collections.abc import Sequence

from devices.core.process import run_device
from devices.esme.firmware import EsmeFirmware
from devices.meter.tariff_setup import tariff_setup
from firmware.rig import DeviceKind
from firmware.wiring import electricity_meter_board


def main(argv: Sequence[str] | None = None) -> int:
    return run_device(
        DeviceKind.ESME,
        EsmeFirmware,
        electricity_meter_board,
        lambda identity, board, config: EsmeFirmware(identity, board, tariff_setup(config)),
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())

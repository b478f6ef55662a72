"""`python -m devices.ihd --rig RIG --name NAME`: the in-home display as a process.

The composition root of the IHD: its board (ports) comes from the rig through
`firmware.wiring.display_board`, its firmware sees only that board.
"""

from __future__ import annotations

from collections.abc import Sequence

from devices.core.process import run_device
from devices.ihd.firmware import IhdFirmware
from firmware.rig import DeviceKind
from firmware.wiring import display_board


def main(argv: Sequence[str] | None = None) -> int:
    return run_device(
        DeviceKind.IHD,
        IhdFirmware,
        display_board,
        lambda identity, board, _config: IhdFirmware(identity, board),
        argv,
    )


if __name__ == "__main__":
    raise SystemExit(main())

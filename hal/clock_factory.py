"""Pick a component's clock from the rig: the system clock, or the rig's shared simulated clock.

Every process of a rig must agree on the simulated time, so they all take the epoch and scale
from the rig file and the start instant from the launcher, through `SMARTMETER_START_WALL`.
"""

from __future__ import annotations

import os
import time
from datetime import datetime

from hal.emulated.clock import SimulatedClock
from hal.ports import Clock
from hal.real.clock import SystemClock

START_WALL_ENV = "SMARTMETER_START_WALL"


def rig_clock(simulated: bool, epoch: datetime, scale: float) -> Clock:
    if not simulated:
        return SystemClock()
    start_wall = float(os.environ.get(START_WALL_ENV, time.time()))
    return SimulatedClock(epoch, start_wall, scale)

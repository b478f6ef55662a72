"""Real-hardware HAL backends.

The non-volatile store has one implementation for both worlds: a SQLite file, on the rig's storage
here (DESIGN.md §1). It is re-exported so configuration can name `hal.real` uniformly.
"""

from hal.emulated.sqlite_store import SqliteStore
from hal.real.clock import SystemClock

__all__ = ["SqliteStore", "SystemClock"]

"""The hub's Time cluster server (ZCL 0x000A, 3.12): the HAN's reference clock.

A declaration (`protocol.se.Time`) bound to the hub's clock port, served by the firmware's ZCL
engine. Devices read Time (UTC seconds since 2000-01-01), TimeStatus and the UK time-zone
attributes from it: the hub keeps UTC (clause 15.5) and says how UK civil time (GMT, and BST in
summer) follows from it, so a device can show local time (15.6.a) without a zone database.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from firmware.zcl.cluster_server import AttributeBinding, ClusterServer
from hal.ports import Clock
from protocol.se import Time

__all__ = ["TIME_STATUS", "ZIGBEE_EPOCH", "time_server", "uk_summer_time", "zigbee_time"]

ZIGBEE_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
#: TimeStatus (ZCL 3.12.2.2.2): Master (bit 0), Synchronized (bit 1) and MasterZoneDst (bit 2):
#: the hub is the HAN's time authority, for the time and for the zone and DST alike.
TIME_STATUS = 0x07
#: BST is GMT + 1 h (clause 15.6.a).
DST_SHIFT_S = 3600


def zigbee_time(now: datetime) -> int:
    """UTCTime: whole seconds since 2000-01-01 00:00 UTC."""
    return int((now - ZIGBEE_EPOCH).total_seconds())


def _last_sunday(year: int, month: int) -> datetime:
    first_of_next = datetime(year + (month == 12), month % 12 + 1, 1, 1, tzinfo=UTC)
    last_day = first_of_next - timedelta(days=1)
    return last_day - timedelta(days=(last_day.weekday() + 1) % 7)


def uk_summer_time(year: int) -> tuple[datetime, datetime]:
    """When BST starts and ends in `year`: the last Sundays of March and October, 01:00 UTC."""
    return _last_sunday(year, 3), _last_sunday(year, 10)


def time_server(clock: Clock) -> ClusterServer:
    """The Time server cluster of the hub, read from `clock`."""

    def dst(now: datetime) -> tuple[datetime, datetime]:
        return uk_summer_time(now.year)

    def local_time() -> int:
        now = clock.now()
        start, end = dst(now)
        return zigbee_time(now) + (DST_SHIFT_S if start <= now < end else 0)

    bindings = {
        "time": lambda: zigbee_time(clock.now()),
        "time_status": lambda: TIME_STATUS,
        "time_zone": lambda: 0,  # GMT
        "dst_start": lambda: zigbee_time(dst(clock.now())[0]),
        "dst_end": lambda: zigbee_time(dst(clock.now())[1]),
        "dst_shift": lambda: DST_SHIFT_S,
        "standard_time": lambda: zigbee_time(clock.now()),
        "local_time": local_time,
    }
    return ClusterServer(Time, {name: AttributeBinding(read) for name, read in bindings.items()})

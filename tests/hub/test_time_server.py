"""The hub's Time server: the Time declaration bound to the hub's clock, read through the
platform's ZCL engine and parsed by zigpy (clauses 15.5, 15.6.a)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from unittest import mock

import pytest
from zigpy.zcl import foundation

from firmware.zcl.frame import ZclFrame, general_command
from firmware.zcl.server import ZclServer
from hal.emulated.clock import ManualClock
from hub.time_server import TIME_STATUS, time_server, uk_summer_time, zigbee_time
from protocol.se import Time

GC = foundation.GeneralCommand


def read_all(now: datetime) -> dict[str, int]:
    """Every Time attribute as the hub answers a Read Attributes of all of them."""
    server = ZclServer([time_server(ManualClock(now))])
    values: dict[int, int] = {}
    # Asked again for what did not fit one frame, as a client does (ZCL 2.5.2.3).
    while ids := [i for i in range(8) if i not in values]:
        request = general_command(1, GC.Read_Attributes, attribute_ids=ids)
        reply = server.handle(0x000A, ZclFrame.parse(request), source=(0x1234, 1))
        response: Any  # zigpy makes each command's schema class (and its fields) at run time
        _header, response = Time(mock.MagicMock()).deserialize(reply or b"")
        assert all(r.status == foundation.Status.SUCCESS for r in response.status_records)
        assert response.status_records, "every answer carries at least one record"
        values.update({r.attrid: r.value.value for r in response.status_records})
    return {Time.attributes[attrid].name: value for attrid, value in values.items()}


def test_uk_summer_time_runs_between_the_last_sundays_of_march_and_october() -> None:
    assert uk_summer_time(2026) == (
        datetime(2026, 3, 29, 1, tzinfo=UTC),
        datetime(2026, 10, 25, 1, tzinfo=UTC),
    )
    assert uk_summer_time(2027) == (
        datetime(2027, 3, 28, 1, tzinfo=UTC),
        datetime(2027, 10, 31, 1, tzinfo=UTC),
    )


@pytest.mark.req("15.1")
@pytest.mark.parametrize(
    ("now", "shift"),
    [
        (datetime(2026, 1, 15, 12, tzinfo=UTC), 0),  # GMT
        (datetime(2026, 7, 1, 12, tzinfo=UTC), 3600),  # BST
        (datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC), 0),  # a second before the change
        (datetime(2026, 3, 29, 1, tzinfo=UTC), 3600),
        (datetime(2026, 10, 25, 1, tzinfo=UTC), 0),  # back to GMT
    ],
)
def test_the_hub_serves_utc_and_how_uk_local_time_follows(now: datetime, shift: int) -> None:
    values = read_all(now)
    assert values["time"] == zigbee_time(now) == values["standard_time"]
    assert values["local_time"] == zigbee_time(now) + shift
    assert values["time_zone"] == 0 and values["dst_shift"] == 3600
    start, end = uk_summer_time(now.year)
    assert (values["dst_start"], values["dst_end"]) == (zigbee_time(start), zigbee_time(end))
    assert values["time_status"] == TIME_STATUS


def test_no_device_may_set_the_hubs_clock() -> None:
    clock = ManualClock(datetime(2026, 1, 15, tzinfo=UTC))
    server = ZclServer([time_server(clock)])
    value = foundation.TypeValue(
        type=foundation.DataTypeId.UTC, value=Time.AttributeDefs.time.type(0)
    )
    request = general_command(2, GC.Write_Attributes, attributes=[foundation.Attribute(0, value)])
    reply = server.handle(0x000A, ZclFrame.parse(request), source=(0x1234, 1))
    response: Any  # as in read_all
    _header, response = Time(mock.MagicMock()).deserialize(reply or b"")
    assert [r.status for r in response.status_records] == [foundation.Status.READ_ONLY]
    assert clock.now() == datetime(2026, 1, 15, tzinfo=UTC)

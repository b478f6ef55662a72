"""The consumer's answers to critical peak events, on their way to the head-end (16.11.8).

The IHD sends CPPEventResponse to the meter, the price server of its tariff; the meter records
the answer and passes it on to the hub's Energy Service Interface, which serves this one
command of the Price cluster (0x0700) and logs the answer as an event (2107 accepted, 2108
rejected) naming the meter. Events go up the WAN as soon as the link lets them, so the
head-end hears of every answer without asking.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zigpy.zcl import foundation

from firmware.zcl.cluster_server import ClusterServer, CommandRequest, ZclStatusError
from protocol.event_codes import EventCode
from protocol.se import Price
from protocol.se.price_types import CppAuth

__all__ = ["cpp_relay"]

Record = Callable[[EventCode, dict[str, Any]], None]


def cpp_relay(record: Record, name_of: Callable[[int], str | None]) -> ClusterServer:
    """The hub's Price server: CPPEventResponse only, from the meters of its HAN."""

    def answer(request: CommandRequest) -> None:
        device = name_of(request.source[0])
        auth = request.args.cpp_auth
        if device is None or auth not in (CppAuth.Accepted, CppAuth.Rejected):
            raise ZclStatusError(foundation.Status.NOT_AUTHORIZED, "not a meter's CPP answer")
        code = (
            EventCode.CPP_EVENT_ACCEPTED
            if auth == CppAuth.Accepted
            else EventCode.CPP_EVENT_REJECTED
        )
        record(code, {"device": device, "id": int(request.args.issuer_event_id)})

    return ClusterServer(Price, {}, {"cpp_event_response": answer})

"""A credit since the last bill on the HAN: Metering's BillToDateReceived (0x0A10).

The meter's cost since the last bill (14.4) is one signed figure: export at a negative rate and
the generation discount (16.22) can take it below zero. Smart Energy's BillToDateDelivered is
unsigned, so a credit reads as 0 there (`tariff_han`). Its counterpart BillToDateReceived, the
bill for the energy the premises delivered to the grid, is unsigned too, and carries the credit:
Delivered holds the figure when it is a charge, Received its magnitude when it is a credit, the
other zero, so Delivered - Received is the meter's figure exactly (to the millionth, cut toward
zero). The IHD reads both (`devices.ihd.price_view`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from devices.meter.tariff.results import Registers
from firmware.zcl.cluster_server import AttributeBinding
from protocol.se.types import TrailingDigit

from .price_publish import PRICE_TRAILING_DIGIT, utc_time

__all__ = ["credit_bindings", "credit_micro"]

_UINT32_MAX = (1 << 32) - 1


def credit_micro(cost_since_bill_nano: int) -> int:
    """The credit (a cost below zero) in millionths, cut toward zero, within uint32; 0 for a
    charge."""
    return min((-cost_since_bill_nano) // 1000, _UINT32_MAX) if cost_since_bill_nano < 0 else 0


def credit_bindings(
    registers: Callable[[], Registers], now: Callable[[], datetime]
) -> dict[str, AttributeBinding]:
    """BillToDateReceived, its time stamp and trailing digit (six digits, as Delivered's)."""
    digit = TrailingDigit(reserved=0, digits=PRICE_TRAILING_DIGIT)
    return {
        "bill_to_date_received": AttributeBinding(
            lambda: credit_micro(registers().cost_since_bill.value)
        ),
        "bill_to_date_time_stamp_received": AttributeBinding(lambda: utc_time(now())),
        "bill_received_trailing_digit": AttributeBinding(lambda: digit),
    }

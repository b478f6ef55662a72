"""What the IHD shows of a meter's price (16.17, 16.18) and a CPP notice (16.11.10)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devices.ihd.price_view import PriceInfo, money_text, price_lines
from protocol.se.price_types import CppAuth

NOW = datetime(2026, 1, 15, 6, tzinfo=UTC)


def published(price: int, tier: int, label: bytes, currency: int = 826) -> SimpleNamespace:
    return SimpleNamespace(
        price=price,
        currency=currency,
        rate_label=label,
        extended_price_tier=0,
        price_trailing_digit_and_price_tier=SimpleNamespace(price_tier=tier, trailing_digit=6),
    )


@pytest.mark.req("16.17", "16.18")
def test_the_price_is_shown_as_money_with_its_rate_and_tier() -> None:
    info = PriceInfo()
    info.take_price(published(305670, 1, b"Day"), NOW)
    info.cost_today, info.cost_today_digits = 1_234_567, 6
    info.bill, info.bill_digits = 45_675_000, 6
    assert info.lines("electricity") == [
        "Elec £0.30567/kWh Day (T1)",
        "Elec today £1.23 bill £45.68",
    ]
    info.take_price(published(250000, 1, b"Tag", currency=978), NOW)
    assert info.lines("electricity")[0] == "Elec €0.25/kWh Tag (T1)"
    assert info.describe()["price"] == "0.25"


@pytest.mark.req("16.11.10", "16.11.9")
def test_a_cpp_notice_asks_only_when_the_consumer_may_answer() -> None:
    info = PriceInfo()
    info.take_price(published(142130, 2, b"Night"), NOW)
    start = (
        datetime(2026, 1, 15, 17, tzinfo=UTC) - datetime(2000, 1, 1, tzinfo=UTC)
    ).total_seconds()
    for auth, shown in ((CppAuth.Pending, "60 min: accept?"), (CppAuth.Forced, "60 min forced")):
        notice = SimpleNamespace(
            issuer_event_id=7, start_time=int(start), duration_in_minutes=60, cpp_auth=auth
        )
        info.take_cpp(notice)
        assert price_lines({"electricity": info})[-1] == f"CPP 15/01 17:00 {shown}"


@pytest.mark.req("16.17")
@given(value=st.integers(0, 2**32 - 1), digits=st.integers(0, 9))
def test_money_is_exact_decimal_text(value: int, digits: int) -> None:
    from decimal import Decimal

    text = money_text(value, digits, 826)
    assert text.startswith("£") and Decimal(text[1:]) == Decimal(value).scaleb(-digits)
    assert len(text.partition(".")[2]) >= 2

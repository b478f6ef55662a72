"""Appendix F's password rules, one test per rule, with passwords chosen by hand.

Each test names passwords that pass every rule and others that break the rule under test,
and checks that the refusal names the rule (F.1.f, F.1.g.1 ... F.1.g.10) with a reason.
"""

from __future__ import annotations

import secrets

import pytest

from protocol.password_policy import PasswordContext, check_password, generate_password

GOOD = ["Kx7pQm4vRt", "xQ7bNk4pTw", "Tz8hWq2yVr", "mP3vXk9qZd"]
CONTEXT = PasswordContext(
    serials=("EM00001001", "00:0d:6f:00:00:00:10:01"),
    user_ids=("ENG0042",),
    names=("Gareth", "Williams"),
    initials=("GW",),
    phones=("07700900123",),
    vehicles=("KY19ABC",),
    companies=("British Gas",),
)


def rules_broken(password: str) -> set[str]:
    return {violation.rule for violation in check_password(password, CONTEXT)}


@pytest.mark.parametrize("password", GOOD)
def test_strong_passwords_pass_every_rule(password: str) -> None:
    assert check_password(password, CONTEXT) == []


def refused_by(rule: str, passwords: list[str]) -> None:
    for password in passwords:
        violations = [v for v in check_password(password, CONTEXT) if v.rule == rule]
        assert violations, f"{password!r} should break {rule}"
        assert all(v.reason for v in violations)
    for password in GOOD:
        assert rule not in rules_broken(password)


@pytest.mark.req("F.1.f")
def test_f1f_length_cases_and_two_separate_digits() -> None:
    refused_by(
        "F.1.f", ["Kx7pQm4v", "kx7pqm4vrt", "KX7PQM4VRT", "KxWpQm4vRt", "KxpQmv47Rt", "Kx7p-m4vRt"]
    )


@pytest.mark.req("F.1.g.1")
def test_f1g1_no_dictionary_word_or_real_name() -> None:
    refused_by("F.1.g.1", ["Dragon7xQ4w", "x7Sunsh1neQ4", "Q7wGareth4xz", "pa55W0rd7Qx"])


@pytest.mark.req("F.1.g.2")
def test_f1g2_no_date_or_calendar() -> None:
    refused_by("F.1.g.2", ["Xq7WMarch3zK", "Qx7Monday4w", "Kq2019xW7b", "Zx1503Wq7b"])


@pytest.mark.req("F.1.g.3")
def test_f1g3_no_family_name_or_initials() -> None:
    refused_by("F.1.g.3", ["Smith7qW9z", "x7QJones4wz", "Williams7Q4x", "Kx7GWm4vRt"])


@pytest.mark.req("F.1.g.4")
def test_f1g4_no_vehicle_registration() -> None:
    refused_by("F.1.g.4", ["AB12CDEfg9", "K123BCDz9x", "Qx4ky19abcW"])


@pytest.mark.req("F.1.g.5")
def test_f1g5_no_serial_number() -> None:
    refused_by("F.1.g.5", ["Em00001001Qx", "xQ7b00001001", "Wq4D6f00z7aQ"])


@pytest.mark.req("F.1.g.6")
def test_f1g6_no_company_reference() -> None:
    refused_by("F.1.g.6", ["Centrica7Qx4", "Q7wBritishGas4", "Xo7vOctopus4Z"])


@pytest.mark.req("F.1.g.7")
def test_f1g7_no_telephone_number() -> None:
    refused_by("F.1.g.7", ["Q07700900123x", "Xq7w9001234Zk", "Wz8x900123qK"])


@pytest.mark.req("F.1.g.8")
def test_f1g8_no_user_group_or_system_code() -> None:
    refused_by("F.1.g.8", ["Eng0042Qx7w", "Qx7wAdmin4Zk", "xK7Engineer4Q"])


@pytest.mark.req("F.1.g.9")
def test_f1g9_no_character_three_times_in_a_row() -> None:
    refused_by("F.1.g.9", ["Kx7pQQQ4vRt", "Kx777pQm4vR", "zzzKx7pQm4v"])
    assert "F.1.g.9" not in rules_broken("Kx7pQQm4vRt")  # two in a row is allowed


@pytest.mark.req("F.1.g.10")
def test_f1g10_not_all_digits_or_all_letters() -> None:
    refused_by("F.1.g.10", ["KxpQmvRtWzbN", "4729183650", "TzhWqyVrKm"])


def test_generated_passwords_pass_and_differ() -> None:
    drawn = {generate_password(secrets.token_bytes, CONTEXT) for _ in range(20)}
    assert len(drawn) == 20
    assert all(check_password(password, CONTEXT) == [] for password in drawn)

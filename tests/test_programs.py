"""Programs the tests need fail the test when missing, saying what to install; never a skip."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.programs import find_program, require_program


def test_a_missing_program_fails_the_test_with_the_package_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("tests.programs.find_program", lambda name: None)
    with pytest.raises(pytest.fail.Exception, match=r"tshark is not installed \(apt-get install"):
        require_program("tshark")
    with pytest.raises(pytest.fail.Exception, match="apt-get install mosquitto-clients"):
        require_program("mosquitto_sub")


def test_sbin_folders_are_searched_past_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    program = tmp_path / "mosquitto"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    monkeypatch.setenv("PATH", "/nonexistent")
    monkeypatch.setattr("tests.programs._SBIN", (str(tmp_path),))
    assert find_program("mosquitto") == str(program)
    assert find_program("smartmeter-no-such-program") is None

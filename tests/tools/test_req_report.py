"""`make req-report` (tools/req_report.py): clauses against the tests' `req` markers."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools import req_report
from tools.req_report import Clause, main, read_catalogue, render

CATALOGUE = """id,section,kind,scope,components,summary
6.1.9,Arch,shall,software,ESME,HAN uses ZigBee.
6.1.11,Arch,shall,software,HUB,Reads within 10 s.
11.6.a,Switch,shall,emulated-hw,ESME,"10,000 operations."
4.1,EU,shall,out,ALL,Directives.
18.11.j,Events,should,software,ALL,Malformed messages detected.
"""


@pytest.fixture
def clauses(tmp_path: Path) -> Path:
    path = tmp_path / "clauses.csv"
    path.write_text(CATALOGUE)
    return path


def test_only_software_and_emulated_hardware_shall_clauses_are_counted(clauses: Path) -> None:
    catalogue = read_catalogue(clauses)
    assert catalogue["11.6.a"] == Clause("11.6.a", "shall", "emulated-hw", "10,000 operations.")
    text, unknown = render(
        catalogue,
        {"tests/a.py::test_one": {"6.1.11", "18.11.j"}, "tests/b.py::test_two": {"6.1.11"}},
    )
    assert unknown == []
    lines = text.splitlines()
    # 6.1.9 sorts before 6.1.11; the `out` clause 4.1 and the `should` 18.11.j are not counted.
    ids = [line.split()[0] for line in lines if line[:1].isdigit()]
    assert ids == ["6.1.9", "6.1.11", "11.6.a"]
    at = lines.index(next(line for line in lines if line.startswith("6.1.11 ")))
    assert lines[at + 1 : at + 3] == [
        f"{'':<13}tests/a.py::test_one",
        f"{'':<13}tests/b.py::test_two",
    ]
    assert lines[lines.index(next(x for x in lines if x.startswith("6.1.9 "))) + 1].strip() == "—"
    assert "covered: 1/3 clauses claimed by at least one test" in text
    assert "18.11.j (should/software)" in text


def test_an_unknown_clause_is_an_error_and_fails_with_check(
    clauses: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(req_report, "collect_tags", lambda tests: {"tests/a.py::test": {"99.9"}})
    assert main(["--clauses", str(clauses)]) == 0
    assert main(["--clauses", str(clauses), "--check"]) == 1
    out = capsys.readouterr().out
    assert "ERROR: tags name clauses that are not in the catalogue" in out
    assert "99.9: tests/a.py::test" in out


def test_a_missing_catalogue_is_one_clear_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--clauses", str(tmp_path / "nowhere.csv")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "clause catalogue not found" in err

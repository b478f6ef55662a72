"""Requirement coverage from the test suite's `req` markers: `python -m tools.req_report`.

A `@pytest.mark.req("13.37")` on a test is a claim: the test fails if the component that must
have the behaviour of clause 13.37 loses it. This report collects those markers without running
a test (pytest's collection, in process) and sets them against the clause catalogue
(`requirements/clauses.csv`, one row per clause with its kind and scope). It lists every clause
the product must meet — kind `shall`, scope `software` or `emulated-hw` — with the tests that
claim it, then how many of them at least one test claims. Tags naming a clause the catalogue does
not have are listed apart as errors; `--check` makes them fail the run.

Parametrized cases of one test function are shown once, without their parameter suffix.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
#: Where the clause catalogue lives, next to the repository (the shared requirements folder).
DEFAULT_CLAUSES = REPO.parent / "shared" / "requirements" / "clauses.csv"
#: Kinds and scopes of the clauses the report counts: what the product itself must do.
COUNTED_KIND = "shall"
COUNTED_SCOPES = ("software", "emulated-hw")


class ReportError(Exception):
    """The report cannot be made (no catalogue, the test suite does not collect)."""


@dataclass(frozen=True)
class Clause:
    id: str
    kind: str
    scope: str
    summary: str


def read_catalogue(path: Path) -> dict[str, Clause]:
    """Every clause of `clauses.csv` by id (columns id, section, kind, scope, components, summary)."""
    if not path.is_file():
        raise ReportError(f"clause catalogue not found: {path} (give its path with --clauses)")
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    missing = {"id", "kind", "scope", "summary"} - set(rows[0] if rows else {})
    if missing:
        raise ReportError(f"{path}: no column {', '.join(sorted(missing))}")
    return {row["id"]: Clause(row["id"], row["kind"], row["scope"], row["summary"]) for row in rows}


class _MarkerCollector:
    """pytest plugin: remembers the `req` clauses of every collected test item."""

    def __init__(self) -> None:
        self.tags: dict[str, set[str]] = {}

    def pytest_collection_modifyitems(self, items: list[object]) -> None:
        for item in items:
            clauses = {
                str(arg)
                for mark in item.iter_markers("req")  # type: ignore[attr-defined]
                for arg in mark.args
            }
            if clauses:
                test = re.sub(r"\[.*\]$", "", item.nodeid)  # type: ignore[attr-defined]
                self.tags.setdefault(test, set()).update(clauses)


def collect_tags(tests: Path) -> dict[str, set[str]]:
    """Test (node id without parameters) -> the clauses its `req` markers name; runs no test."""
    import pytest  # a dev dependency: only this tool needs it

    collector = _MarkerCollector()
    output = io.StringIO()
    args = ["--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", str(REPO), str(tests)]
    with contextlib.redirect_stdout(output):
        status = pytest.main(args, plugins=[collector])
    if status != 0:
        raise ReportError(
            f"collecting the tests failed (pytest exit {int(status)}):\n{output.getvalue()}"
        )
    return collector.tags


def clause_sort_key(clause_id: str) -> tuple[tuple[int, int | str], ...]:
    """Order 6.1.9 before 6.1.11 and 18.11.f before 18.11.j."""
    return tuple((0, int(part)) if part.isdigit() else (1, part) for part in clause_id.split("."))


def render(catalogue: dict[str, Clause], tags: dict[str, set[str]]) -> tuple[str, list[str]]:
    """The report's text, and the unknown clause ids the tags name."""
    claims: dict[str, list[str]] = {}
    for test, clause_ids in tags.items():
        for clause_id in clause_ids:
            claims.setdefault(clause_id, []).append(test)
    counted = sorted(
        (c for c in catalogue.values() if c.kind == COUNTED_KIND and c.scope in COUNTED_SCOPES),
        key=lambda c: clause_sort_key(c.id),
    )
    lines = [f"Clauses of kind '{COUNTED_KIND}', scope {' or '.join(COUNTED_SCOPES)}:", ""]
    for clause in counted:
        lines.append(f"{clause.id:<10} {clause.scope:<11} {clause.summary[:70]}")
        tests = sorted(claims.get(clause.id, []))
        lines.extend(f"{'':<10}   {test}" for test in tests or ["—"])
    covered = sum(1 for clause in counted if clause.id in claims)
    lines += ["", f"covered: {covered}/{len(counted)} clauses claimed by at least one test"]
    other = sorted(
        (c for c in claims if c in catalogue and catalogue[c] not in counted), key=clause_sort_key
    )
    if other:
        lines.append(
            "also tagged (catalogue clauses outside that count): "
            + ", ".join(f"{c} ({catalogue[c].kind}/{catalogue[c].scope})" for c in other)
        )
    unknown = sorted((c for c in claims if c not in catalogue), key=clause_sort_key)
    if unknown:
        lines += ["", "ERROR: tags name clauses that are not in the catalogue (unknown clause):"]
        for clause_id in unknown:
            lines.extend(f"  {clause_id}: {test}" for test in sorted(claims[clause_id]))
    return "\n".join(lines), unknown


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.req_report", description=__doc__)
    parser.add_argument("--clauses", type=Path, default=DEFAULT_CLAUSES, help="clauses.csv path")
    parser.add_argument("--tests", type=Path, default=REPO / "tests", help="test folder")
    parser.add_argument("--check", action="store_true", help="exit 1 on an unknown clause id")
    parser.add_argument(
        "--tags", action="store_true", help="also list every tagged test with its clauses"
    )
    args = parser.parse_args(argv)
    try:
        catalogue = read_catalogue(args.clauses)
        tags = collect_tags(args.tests)
    except ReportError as exc:
        print(f"req-report: {exc}", file=sys.stderr)
        return 2
    text, unknown = render(catalogue, tags)
    print(text)
    if args.tags:
        print("\nTagged tests:")
        for test in sorted(tags):
            print(f"  {test}: {', '.join(sorted(tags[test], key=clause_sort_key))}")
    return 1 if args.check and unknown else 0


if __name__ == "__main__":
    sys.exit(main())

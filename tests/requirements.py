"""The requirements the tests check against: `../shared/requirements` next to the repository.

The folder holds the requirements text (`000_*.txt`) and our clause catalogue (`clauses.csv`);
`make req-report` reads the same catalogue (tools/req_report.py). Tests that need it fail, with
the path they looked at, when it is absent: they never skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.req_report import DEFAULT_CLAUSES

REQUIREMENTS_DIR = DEFAULT_CLAUSES.parent


def requirements_file(pattern: str) -> Path:
    """The one file of the requirements folder matching `pattern` (e.g. "clauses.csv")."""
    found = sorted(REQUIREMENTS_DIR.glob(pattern))
    if len(found) != 1:
        pytest.fail(
            f"expected one {pattern} in {REQUIREMENTS_DIR} (the shared requirements folder next "
            f"to the repository), found {len(found)}",
            pytrace=False,
        )
    return found[0]

"""pytest plugin: a `req` tag must sit on the test function that proves the clause.

A `@pytest.mark.req(...)` claims that this test fails if the component loses the clause's
behaviour (`make req-report` lists the claims). A module's `pytestmark` or a class decorator
spreads that claim over every test beside it, whether it proves the clause or not, so collection
fails when a test inherits a `req` marker instead of carrying its own.
"""

from __future__ import annotations

import pytest

MESSAGE = (
    "req tags must be on the test function that proves the clause, not on its module "
    "(pytestmark) or class"
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    inherited: dict[str, None] = {}  # an ordered set: parametrized cases are named once
    for item in items:
        own = {id(mark) for mark in item.own_markers if mark.name == "req"}
        for mark in item.iter_markers("req"):
            if id(mark) not in own:
                test = item.nodeid.split("[", 1)[0]
                inherited[f"  {test}: req({', '.join(map(str, mark.args))})"] = None
    if inherited:
        raise pytest.UsageError(f"{MESSAGE}; inherited by:\n" + "\n".join(inherited))

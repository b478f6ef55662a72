"""The `req` tag placement rule (tests/req_placement.py) as `make check` meets it."""

from __future__ import annotations

import pytest

from tests.req_placement import MESSAGE

INI = """
[pytest]
markers =
    req(*clauses): requirement clauses
addopts = --strict-markers -p tests.req_placement
asyncio_default_fixture_loop_scope = function
"""


def run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.makeini(INI)
    pytester.makepyfile(test_tagged=source)
    return pytester.runpytest_inprocess("-p", "no:cacheprovider")


def test_a_module_level_tag_fails_collection(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.req("1.1")

        def test_one():
            pass
        """,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{MESSAGE}*", "*test_tagged.py::test_one: req(1.1)"])


def test_a_class_level_tag_fails_collection(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        @pytest.mark.req("1.1")
        class TestThing:
            @pytest.mark.parametrize("n", [1, 2])
            def test_one(self, n):
                pass
        """,
    )
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{MESSAGE}*", "*test_tagged.py::TestThing::test_one: req(1.1)"])


def test_tags_on_the_function_and_its_parameters_pass(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
        import pytest

        pytestmark = pytest.mark.skipif(False, reason="other markers may sit on a module")

        class TestThing:
            @pytest.mark.req("1.1")
            def test_one(self):
                pass

        @pytest.mark.parametrize("n", [1, pytest.param(2, marks=pytest.mark.req("1.2"))])
        def test_two(n):
            pass
        """,
    )
    result.assert_outcomes(passed=3)

"""How many inputs each decoder took: `python -m tests.fuzz.count [pytest arguments]`.

Runs the fuzz tests in this process (quietly, as CI does) and prints, per decoder and entry
point, the number of inputs fed to it (`tests.fuzz.mutations.FED`, counted by the tests
themselves, so hypothesis' replayed and shrunk examples count as inputs too), the time each
decoder's tests took, and the totals. A decoder's line adds up its entry points: a ZCL frame
that `ZclFrame.parse` accepts and two servers then handle counts three times. Exits with
pytest's status.
"""

from __future__ import annotations

import sys
import time
from collections import Counter, defaultdict
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


class _Timer:
    """pytest plugin: the time spent in each fuzz module's tests (setup, call and teardown)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        module = report.nodeid.split("::", 1)[0]
        self.seconds[module] = self.seconds.get(module, 0.0) + report.duration


def _decoders() -> dict[str, str]:
    """Module path -> decoder name, from each module's DECODER constant."""
    names = {}
    for path in sorted(HERE.glob("test_fuzz_*.py")):
        for line in path.read_text().splitlines():
            if line.startswith("DECODER = "):
                names[path.name] = line.split("=", 1)[1].strip().strip('"')
    return names


def main(argv: list[str]) -> int:
    timer = _Timer()
    started = time.monotonic()
    status = pytest.main(["-q", "-p", "no:cacheprovider", str(HERE), *argv], plugins=[timer])
    elapsed = time.monotonic() - started
    # Imported after the run, so pytest imports hypothesis first and can rewrite its asserts.
    from tests.fuzz.mutations import FED

    by_decoder: defaultdict[str, Counter[str]] = defaultdict(Counter)
    for (decoder, entry), count in FED.items():
        by_decoder[decoder][entry] += count
    seconds: defaultdict[str, float] = defaultdict(float)
    modules = _decoders()
    for nodeid, spent in timer.seconds.items():
        seconds[modules.get(Path(nodeid).name, nodeid)] += spent
    print(f"\n{'decoder / entry point':<58} {'inputs':>8} {'seconds':>8}")
    for decoder in sorted(by_decoder):
        entries = by_decoder[decoder]
        print(f"{decoder:<58} {sum(entries.values()):>8} {seconds[decoder]:>8.1f}")
        for entry, count in sorted(entries.items()):
            print(f"  {entry:<56} {count:>8}")
    print(f"{'total':<58} {sum(FED.values()):>8} {sum(seconds.values()):>8.1f}")
    print(f"wall time with collection: {elapsed:.1f} s")
    return int(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

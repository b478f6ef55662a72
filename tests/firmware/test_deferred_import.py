"""Deferred imports: found at once, bound where expected, run only when first used."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from firmware.deferred_import import defer, is_loaded

REPO = Path(__file__).resolve().parents[2]


def _package(root: Path, name: str) -> None:
    """A package whose submodule `heavy` counts its runs, and `user`, which imports it."""
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("RUNS = []\n")
    (package / "heavy.py").write_text(f"import {name}\n{name}.RUNS.append('heavy')\nVALUE = 42\n")
    (package / "user.py").write_text(
        f"import {name}.heavy\n\ndef value():\n    return {name}.heavy.VALUE\n"
    )


def test_deferred_module_runs_at_first_use(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _package(tmp_path, "deferred_pkg_a")
    monkeypatch.syspath_prepend(str(tmp_path))
    defer("deferred_pkg_a.heavy")
    import deferred_pkg_a
    import deferred_pkg_a.user

    assert "deferred_pkg_a.heavy" in sys.modules
    assert not is_loaded("deferred_pkg_a.heavy")
    assert deferred_pkg_a.RUNS == []
    # bound on its package, as an import binds it: the importer's code works unchanged
    assert deferred_pkg_a.user.value() == 42
    assert deferred_pkg_a.RUNS == ["heavy"]
    assert is_loaded("deferred_pkg_a.heavy")


def test_is_loaded_does_not_lean_on_lazy_loaders_private_class(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`is_loaded` knows from the loader it wrapped, not from the name CPython's LazyLoader
    happens to give its still-lazy modules' class (which another version may rename)."""
    _package(tmp_path, "deferred_pkg_c")
    monkeypatch.syspath_prepend(str(tmp_path))
    defer("deferred_pkg_c.heavy")
    import deferred_pkg_c.heavy

    lazy_class = type(sys.modules["deferred_pkg_c.heavy"])  # type() does not load it
    name = lazy_class.__name__
    lazy_class.__name__ = "RenamedLazyModule"  # monkeypatch cannot undo this on a type
    try:
        assert not is_loaded("deferred_pkg_c.heavy")
        assert deferred_pkg_c.heavy.VALUE == 42
        assert is_loaded("deferred_pkg_c.heavy")
        assert is_loaded("textwrap")  # an ordinary import: loaded
    finally:
        lazy_class.__name__ = name


def test_missing_deferred_module_fails_at_import(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _package(tmp_path, "deferred_pkg_b")
    monkeypatch.syspath_prepend(str(tmp_path))
    defer("deferred_pkg_b.absent")
    with pytest.raises(ModuleNotFoundError):
        import deferred_pkg_b.absent  # noqa: F401


def test_hub_start_up_leaves_zigpy_ota_providers_unloaded() -> None:
    """The hub's entry point (its start-up up to reading the rig, here a missing one) and its
    zigpy configuration (OTA off) never run zigpy's OTA image providers, nor import aiohttp
    for them; and the deferral is main()'s doing, not a side effect of importing the module."""
    script = textwrap.dedent(
        """
        import sys
        import hub.__main__
        print("hub.firmware" in sys.modules, "zigpy.ota.providers" in sys.modules)
        status = hub.__main__.main(["--rig", "/nonexistent/rig.toml"])
        import zigpy.config as zc
        from firmware.deferred_import import is_loaded
        from hub.han.network import ZIGPY_OTA_OFF
        zc.ZIGPY_SCHEMA({zc.CONF_OTA: ZIGPY_OTA_OFF})
        print(status, "hub.firmware" in sys.modules, "zigpy.ota.providers" in sys.modules)
        print(is_loaded("zigpy.ota.providers"), "aiohttp" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, check=True
    )
    imported, started, loaded = result.stdout.splitlines()
    assert imported.split() == ["False", "False"]  # importing hub.__main__ does nothing
    assert started.split() == ["2", "True", "True"]  # main() imported the hub, the providers
    assert loaded.split() == ["False", "False"]  # ...lazily: never run

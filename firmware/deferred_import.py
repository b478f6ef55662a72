"""Modules a process imports but may never use, loaded only when first used.

A firmware process pays for every module it imports at each start, on a machine where every
component of a premises starts at once. Some of what the ZigBee stack imports serves features
a component has switched off (the hub runs no zigpy OTA, so zigpy's OTA image providers, which
bring in aiohttp and jsonschema, are dead weight). `defer` makes such a module lazy: an import
of it still finds it at once (ModuleNotFoundError at the import, as before), and binds it where
the importer expects it, but its body runs only when one of its attributes is first used, by
`importlib.util.LazyLoader`. Only a module nothing reads at import time may be deferred: a
`from module import name` at the top of another module loads it there and then.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from collections.abc import Sequence
from types import ModuleType

__all__ = ["defer", "is_loaded"]


class _DeferringFinder(importlib.abc.MetaPathFinder):
    """Finds the deferred modules as the path finder would, behind a lazy loader, and
    records which of those it found have run their body since."""

    def __init__(self) -> None:
        self.names: set[str] = set()
        self.found: set[str] = set()
        self.executed: set[str] = set()

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.names:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec  # not there: the import fails now, as it would have
        self._record_execution(spec.loader)
        spec.loader = importlib.util.LazyLoader(spec.loader)
        self.found.add(fullname)
        return spec

    def _record_execution(self, loader: importlib.abc.Loader) -> None:
        # LazyLoader runs the body through the original loader's exec_module at the first
        # use: wrapping that (this loader object serves this one module) tells us when,
        # without leaning on how LazyLoader marks a module still lazy.
        run = loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run(module)
            self.executed.add(module.__name__)

        loader.exec_module = exec_module  # type: ignore[method-assign]


_FINDER = _DeferringFinder()


def defer(*names: str) -> None:
    """Load these modules only when they are first used (from their next import on)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)
    _FINDER.names.update(names)


def is_loaded(name: str) -> bool:
    """Whether a module's body has run (False for one imported, deferred and not used yet)."""
    if name not in sys.modules:
        return False
    return name not in _FINDER.found or name in _FINDER.executed

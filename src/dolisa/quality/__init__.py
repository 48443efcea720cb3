"""Data quality: the report gate (Great Expectations suites on pandas, over the marts) and its
Data Docs. The file and row rules at the door are not here: they run in SQL while loading
(`dolisa.parse`), from the contract's description.

The suites themselves live outside the package, in the project's top-level
`expectations/` folder (reviewable expectation code). `load_expectations()` imports
that folder by path as the module `dolisa_expectations`; set
`DOLISA_EXPECTATIONS_DIR` to use another copy of it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

EXPECTATIONS_MODULE = "dolisa_expectations"


def expectations_dir() -> Path:
    """`$DOLISA_EXPECTATIONS_DIR`, else `<project root>/expectations`."""
    env = os.environ.get("DOLISA_EXPECTATIONS_DIR")
    if env:
        return Path(env).resolve()
    from dolisa.settings import PROJECT_ROOT

    return PROJECT_ROOT / "expectations"


def load_expectations(submodule: str | None = None) -> ModuleType:
    """The `expectations/` package (or one of its modules, e.g. "report_gate"), imported once."""
    pkg = sys.modules.get(EXPECTATIONS_MODULE)
    if pkg is None:
        folder = expectations_dir()
        init = folder / "__init__.py"
        if not init.is_file():
            raise FileNotFoundError(f"no expectations package at {folder} (set DOLISA_EXPECTATIONS_DIR)")
        spec = importlib.util.spec_from_file_location(
            EXPECTATIONS_MODULE, init, submodule_search_locations=[str(folder)]
        )
        pkg = importlib.util.module_from_spec(spec)
        sys.modules[EXPECTATIONS_MODULE] = pkg
        try:
            spec.loader.exec_module(pkg)
        except BaseException:
            del sys.modules[EXPECTATIONS_MODULE]
            raise
    if submodule is None:
        return pkg
    return importlib.import_module(f"{EXPECTATIONS_MODULE}.{submodule}")

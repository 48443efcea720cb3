"""The package production installs holds what production runs (issue 12.4): the demo hub and
generator, the benchmark and the report samples live beside it, in demo/dolisa_demo."""

from __future__ import annotations

import re
from pathlib import Path

from setuptools import find_packages

ROOT = Path(__file__).resolve().parents[2]


def test_the_wheel_packages_hold_no_demo_code():
    packages = find_packages(where=str(ROOT / "src"))  # what pyproject's packages.find ships
    assert "dolisa" in packages
    assert not [p for p in packages if p.startswith("dolisa.hub") or "demo" in p]
    shipped = {p.relative_to(ROOT / "src").as_posix() for p in (ROOT / "src" / "dolisa").rglob("*.py")}
    assert not shipped & {"dolisa/bench.py", "dolisa/report/sample.py"}
    assert not [s for s in shipped if s.startswith("dolisa/hub/")]


def test_the_product_never_imports_the_demo_package():
    offenders = []
    for f in (ROOT / "src" / "dolisa").rglob("*.py"):
        text = f.read_text(encoding="utf-8")
        offenders += [f.relative_to(ROOT).as_posix()
                      for _ in re.finditer(r"^[ \t]*(?:from|import)[ \t]+dolisa_demo\b", text, re.M)]
    # the one exception: `dolisa hub ...` hands over to the demo package when it is installed
    assert offenders == ["src/dolisa/cli.py"], offenders


def test_the_demo_package_is_importable_beside_it():
    from dolisa_demo.hub import generate, start_server  # noqa: F401
    from dolisa_demo.report_sample import sample_frames  # noqa: F401
    import dolisa_demo.bench  # noqa: F401

"""The nightly's cost does not grow with history: `dbt docs generate` runs only when the
dbt project changed."""

from __future__ import annotations

import shutil

from dolisa import dbt

try:
    from . import dbt_fixtures as fx
except ImportError:  # tests/ run as rootdir-relative modules
    import dbt_fixtures as fx  # type: ignore[no-redef]


def test_docs_are_generated_only_when_the_project_changed(tmp_path, monkeypatch):
    wh = tmp_path / "warehouse" / "dolisa.duckdb"
    target = tmp_path / "dbt" / "target"
    fx.make_warehouse(wh)
    dbt.run_dbt(["seed"], warehouse=wh, target_path=target)  # models read the catalogue seed when compiled
    assert dbt.docs_generate_if_changed(warehouse=wh, target_path=target) is True
    assert (target / "index.html").exists() and (target / "catalog.json").exists()
    assert dbt.docs_generate_if_changed(warehouse=wh, target_path=target) is False  # nothing changed
    project = tmp_path / "project"
    shutil.copytree(dbt.project_dir(), project, ignore=shutil.ignore_patterns("target", "logs"))
    monkeypatch.setenv(dbt.PROJECT_DIR_ENV, str(project))
    yml = project / "models" / "marts" / "core" / "_core__models.yml"
    yml.write_text(yml.read_text(encoding="utf-8") + "\n# a changed description\n", encoding="utf-8")
    assert dbt.docs_generate_if_changed(warehouse=wh, target_path=target) is True
    assert dbt.docs_generate_if_changed(warehouse=wh, target_path=target) is False

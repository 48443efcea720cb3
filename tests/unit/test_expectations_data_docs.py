"""A Data Docs site is written for a run's validation results."""

from __future__ import annotations

from dolisa import contract
from dolisa.quality import door_gate, load_expectations
from dolisa.quality.data_docs import build_data_docs

samples = load_expectations("samples")


def test_data_docs_site_has_index(tmp_path):
    results = []
    for ds, declared in (("rice_relief", 3), ("job_placements", 4)):
        df = samples.valid_frame(ds, "2021-06", 3)
        name = f"040-2021-06-v1/{ds}.csv"
        r = door_gate.validate_file(ds, "2021-06", df, contract.dataset(ds).column_names, declared,
                                    batch_name=name)
        results.append((name, r.result_json))
    index = build_data_docs(tmp_path / "site", results)
    assert index == tmp_path / "site" / "index.html" and index.is_file()
    pages = sorted((tmp_path / "site" / "validations").rglob("*.html"))
    assert len(pages) == 2
    assert "040-2021-06-v1_job_placements.csv" in index.read_text(encoding="utf-8")
    assert (tmp_path / "site" / "expectations" / "door__rice_relief.html").is_file()


def test_incremental_build_keeps_earlier_results_in_the_index(tmp_path):
    def result(ds, name):
        df = samples.valid_frame(ds, "2021-06", 2)
        return name, door_gate.validate_file(ds, "2021-06", df, contract.dataset(ds).column_names, 2,
                                             batch_name=name).result_json

    first = result("rice_relief", "040-2021-06-v1/rice_relief.csv")
    second = result("rice_relief", "040-2021-06-v2/rice_relief.csv")
    site = tmp_path / "site"
    build_data_docs(site, [first])
    index = build_data_docs(site, [second], listed=[first])
    text = index.read_text(encoding="utf-8")
    assert "040-2021-06-v1_rice_relief.csv" in text and "040-2021-06-v2_rice_relief.csv" in text
    assert len(list((site / "validations").rglob("*.html"))) == 2

"""The door gate as the loader calls it: on a file parsed by `dolisa.parse` into DuckDB."""

from __future__ import annotations

import json

import duckdb

from dolisa.parse import parse_file
from dolisa.quality.door_gate import LoaderGate

HEADER = "placement_id,citizen_id,full_name,sex,birth_date,placed_on,destination,employer_name,country_code"
ROWS = [
    "P1,012345678901,Nông Văn A,Nam,1990-01-02,2021-06-03,DOMESTIC,,",
    "P2,012345678902,Lục Thị B,nữ,02/03/1995,2021-06-04,abroad,,jp",
    "P3,012345678903,Hoàng C,M,1991-01-01,2021-06-05,ABROAD,,",          # country missing
    "P4,012345678904,Bế D,F,1992-01-01,2021-07-01,PLANET,,",              # outside month, unknown code
    "P1,012345678901,Nông Văn A,Nam,1990-01-02,2021-06-03,DOMESTIC,,",    # identical duplicate of row 1
]


def test_loader_gate_on_parsed_file(tmp_path):
    from dolisa.settings import paths

    f = tmp_path / "job_placements.csv"
    f.write_text("\n".join([HEADER, *ROWS]) + "\n", encoding="utf-8")
    con = duckdb.connect()
    pf = parse_file(con, f, "job_placements", "2021-06", declared_rows=len(ROWS), table="parsed_0")
    gate = LoaderGate(paths(tmp_path / "home"))
    v = gate(con, pf, "2021-06", len(ROWS), batch_name="040-2021-06-v1/job_placements.csv")

    assert v.file_reasons == []  # 5 records declared, identical duplicate counted as a record
    assert v.suite == "door__job_placements" and not v.success
    result = json.loads(open(v.result_path, encoding="utf-8").read())
    failing = {}
    for r in result["results"]:
        for item in (r["result"].get("unexpected_index_list") or []):
            failing.setdefault(item["source_row"], set()).add(r["expectation_config"]["meta"]["reason"])
    assert failing == {
        3: {"country_code: required when destination = ABROAD"},
        4: {"placed_on: outside the submission month", "destination: unknown code"},
    }
    # the parser already gives these rows (same columns) their reasons: nothing is added twice
    assert v.row_reasons == {}
    index = gate.flush()
    assert index.is_file() and index.parent == paths(tmp_path / "home").data_docs

"""Door gate, file level: the suite `door__files`, run once per landed month on a frame
with one row per file of every version landed for that month.

Frame columns (built by `dolisa.load` from what `dolisa.parse.read_file` found):

    file_key         which file (index into the batch)
    read_error       why the file could not be read (not UTF-8 with the byte offset,
                     unreadable XLSX, not RFC 4180 CSV), or None
    missing_columns  contract columns absent from the header, comma-separated, or None
    records          data records read (None when unreadable)
    declared_rows    the hub's `rows` for the file

Every rule here is FILE severity: a failure rejects the whole submission version the
file belongs to, and the last accepted version of that unit and month stays in force.
"""

from __future__ import annotations

import great_expectations.expectations as gxe

from ._rules import FILE, Rule, suite_from_rules

SUITE_NAME = "door__files"


def rules() -> list[Rule]:
    return [
        Rule("file_readable", FILE, "file: unreadable (not UTF-8, not RFC 4180 CSV, or not an XLSX workbook)",
             gxe.ExpectColumnValuesToBeNull(column="read_error")),
        Rule("header_has_contract_columns", FILE, "header: missing contract column(s)",
             gxe.ExpectColumnValuesToBeNull(column="missing_columns")),
        Rule("record_count_equals_declared", FILE, "rows: record count differs from the declared rows",
             gxe.ExpectColumnPairValuesToBeEqual(column_A="records", column_B="declared_rows",
                                                 ignore_row_if="either_value_is_missing")),
    ]


def build_suite():
    return suite_from_rules(SUITE_NAME, rules(), meta={"gate": "door", "level": "file", "contract_version": 1})

"""What goes into a unit's feedback sheet (dolisa.feedback.collect) on a small warehouse
whose marts are written by hand: only what is new since the unit's earlier sheets, the
deadline that passes between two nights, and the cap on listed rows of one file. The
whole chain (real hub, dbt, SMTP) is tests/integration/test_feedback.py."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from dolisa import contract, feedback

TZ = dt.timezone(dt.timedelta(hours=7))


@pytest.fixture
def con():
    c = duckdb.connect()
    c.execute("create schema marts")
    c.execute("""create table marts.fct_submission_versions (submission_id varchar, unit_code varchar, period varchar,
        version int, submitted_at timestamptz, landed_at timestamptz, submission_status varchar,
        rejection_reason varchar, is_in_force boolean, is_after_deadline boolean, rows_loaded bigint,
        rows_quarantined bigint)""")
    c.execute("""create table marts.fct_submission_files (submission_id varchar, dataset varchar, file_name varchar,
        file_status varchar, rejection_reason varchar, rows_in bigint, rows_loaded bigint, rows_quarantined bigint)""")
    c.execute("""create table marts.fct_quarantined_row_reasons (submission_id varchar, unit_code varchar,
        period varchar, version int, dataset varchar, file_name varchar, source_row bigint, reason varchar)""")
    c.execute("""create table marts.fct_submission_status (unit_code varchar, period varchar, month_start_on date,
        deadline_at timestamptz, is_missing boolean, first_accepted_submitted_at timestamptz)""")
    at = dt.datetime(2021, 7, 3, 9, 0, tzinfo=TZ)
    c.execute("insert into marts.fct_submission_versions values "
              "('040-2021-06-v1', '040', '2021-06', 1, ?, ?, 'accepted', null, true, false, 5, 1200)", [at, at])
    c.execute("insert into marts.fct_submission_files values "
              "('040-2021-06-v1', 'job_placements', 'job_placements.csv', 'accepted', null, 1205, 5, 1200)")
    reason = contract.reason("required", column="placed_on")
    c.execute("insert into marts.fct_quarantined_row_reasons select '040-2021-06-v1', '040', '2021-06', 1, "
              "'job_placements', 'job_placements.csv', r, ? from range(1, 1201) t(r)", [reason])
    for unit, missing in (("040", False), ("053", True)):
        c.execute("insert into marts.fct_submission_status values (?, '2021-06', date '2021-06-01', "
                  "timestamptz '2021-07-06 00:00:00+07', ?, ?)", [unit, missing, None if missing else at])
    yield c
    c.close()


def night(day: int) -> dt.datetime:
    return dt.datetime(2021, 7, day, 2, 30, tzinfo=TZ)


def test_only_what_is_new_and_the_deadline_that_passed(con, tmp_path):
    tmp_path = tmp_path / "reports" / "feedback"
    first = {fb.unit_code: fb for fb in feedback.collect(con, night(5), tmp_path)}
    assert sorted(first) == ["040"]  # 053's June is not due yet: nothing new for 053
    for fb in first.values():
        feedback.write(fb, tmp_path)
    second = {fb.unit_code: fb for fb in feedback.collect(con, night(6), tmp_path)}
    assert sorted(second) == ["053"]  # 040: nothing new; 053: the deadline passed with nothing received
    assert second["053"].new_overdue == ["2021-06"]
    assert second["053"].missing == [{"period": "2021-06", "deadline": "2021-07-05", "overdue": True}]
    for fb in second.values():
        feedback.write(fb, tmp_path)
    assert feedback.collect(con, night(7), tmp_path) == []  # told once
    # a rerun of the night of the 6th writes the same sheet again (earlier nights only count)
    again = feedback.collect(con, night(6), tmp_path)
    assert [fb.as_dict() for fb in again] == [fb.as_dict() for fb in second.values()]


def test_a_file_of_bad_rows_lists_the_first_rows_and_says_how_many(con, tmp_path):
    (fb,) = feedback.collect(con, night(5), tmp_path)
    assert len(fb.rows) == feedback.MAX_ROWS_PER_FILE and fb.rows[0]["row"] == 1
    assert fb.rows[0]["column"] == "placed_on" and fb.rows[0]["rule"] == "required"
    assert fb.rows_not_listed == [{"submission_id": "040-2021-06-v1", "period": "2021-06", "version": 1,
                                   "file_name": "job_placements.csv", "rows_quarantined": 1200,
                                   "rows_listed": feedback.MAX_ROWS_PER_FILE}]
    subject, text = feedback.render_text(fb)
    assert "có 1200 dòng bị cách ly; phiếu chỉ liệt kê 1000 dòng đầu" in text
    assert f"… và {feedback.MAX_ROWS_PER_FILE - feedback.MAX_ROWS_IN_EMAIL} dòng khác" in text
    assert "Thành phố Cao Bằng" in subject


def test_a_folder_outside_the_reader_zones_is_refused_before_anything_is_opened(tmp_path):
    import stat

    from dolisa.settings import reader_dir

    tmp_path.chmod(0o700)
    with pytest.raises(ValueError, match="not inside a reader zone"):
        reader_dir(tmp_path / "feedback" / "040")
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700 and not (tmp_path / "feedback").exists()
    assert stat.S_IMODE(reader_dir(tmp_path / "reports" / "feedback").stat().st_mode) == 0o755
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o700  # nothing above the zone is opened


def test_a_revision_after_the_deadline_is_not_called_late(con, tmp_path):
    """Late is the month's first accepted version after the deadline (contract §1): 040's
    June came on time; its revision in September is not late. 053's June, first sent after
    the deadline, is."""
    sept = dt.datetime(2021, 9, 2, 10, 0, tzinfo=TZ)
    con.execute("insert into marts.fct_submission_versions values "
                "('040-2021-06-v2', '040', '2021-06', 2, ?, ?, 'accepted', null, true, true, 5, 0), "
                "('053-2021-06-v1', '053', '2021-06', 1, ?, ?, 'accepted', null, true, true, 5, 0)",
                [sept, sept, sept, sept])
    con.execute("update marts.fct_submission_status set is_missing = false, first_accepted_submitted_at = ? "
                "where unit_code = '053'", [sept])
    got = {fb.unit_code: fb for fb in feedback.collect(con, dt.datetime(2021, 9, 3, 2, 30, tzinfo=TZ), tmp_path)}
    by_id = {v["submission_id"]: v for fb in got.values() for v in fb.versions}
    assert by_id["040-2021-06-v1"]["after_deadline"] is False
    assert by_id["040-2021-06-v2"]["revises_accepted"] is True
    assert by_id["053-2021-06-v1"]["revises_accepted"] is False
    text_040 = feedback.render_text(got["040"])[1]
    text_053 = feedback.render_text(got["053"])[1]
    assert "bản sửa đổi nhận sau hạn, không tính là nộp muộn" in text_040 and ", nộp sau hạn" not in text_040
    assert ", nộp sau hạn" in text_053 and "bản sửa đổi" not in text_053


def test_the_sheet_prints_on_its_pages_and_lists_only_the_files_with_a_problem(tmp_path):
    """Issue 31: p.1 ran off the portrait page, wrapped rows were not heightened (dates clipped),
    "Tệp job_placements.csv: Tệp job_placements.csv: ..." named the file twice, and five pages
    listed files with no problem."""
    import openpyxl

    from dolisa.report.messages_vi import reason_vi

    reason = contract.reason("missing_columns", file="job_placements.csv", columns="destination")
    assert feedback._without_file("Tệp job_placements.csv: thiếu cột bắt buộc destination",
                                  "job_placements.csv") == "thiếu cột bắt buộc destination"
    ok = [{"submission_id": "045-2021-04-v1", "period": "2021-04", "version": 1, "file_name": f"{ds}.csv",
           "dataset": ds, "status": "accepted", "status_vi": "đã nạp", "rows_in": 10, "rows_loaded": 10,
           "rows_quarantined": 0, "reason_vi": "", "fix_vi": ""} for ds in contract.datasets()]
    bad = {"submission_id": "045-2021-04-v2", "period": "2021-04", "version": 2, "file_name": "job_placements.csv",
           "dataset": "job_placements", "status": "rejected", "status_vi": "bị từ chối", "rows_in": None,
           "rows_loaded": None, "rows_quarantined": None,
           "reason_vi": feedback._without_file(reason_vi(reason), "job_placements.csv"),
           "fix_vi": "Thêm cột destination vào dòng tiêu đề của tệp, rồi gửi lại thành một phiên bản mới."}
    versions = [{"submission_id": f"045-2021-04-v{v}", "period": "2021-04", "version": v,
                 "submitted_at": "2021-05-20T15:30:00+07:00", "status": "accepted" if v == 1 else "rejected",
                 "status_vi": "được chấp nhận" if v == 1 else "bị từ chối", "in_force": v == 1,
                 "after_deadline": v == 2, "revises_accepted": v == 2, "rows_loaded": 110 if v == 1 else 0,
                 "rows_quarantined": 0, "reason_vi": "" if v == 1 else "Tệp job_placements.csv: thiếu cột bắt buộc "
                 "destination", "fix_vi": "" if v == 1 else bad["fix_vi"]} for v in (1, 2)]
    fb = feedback.UnitFeedback("045", "Huyện Hà Quảng", dt.date(2021, 7, 10), versions=versions, files=ok + [bad])
    path = tmp_path / fb.xlsx_name
    feedback.write_xlsx(fb, path)
    wb = openpyxl.load_workbook(path)
    summary = wb["Tóm tắt"]
    assert summary.page_setup.orientation == "portrait" and int(summary.page_setup.paperSize) == 9
    assert summary.sheet_properties.pageSetUpPr.fitToPage and summary.column_dimensions["A"].width <= 95
    for ws in wb:
        assert int(ws.page_setup.paperSize) == 9 and ws.sheet_properties.pageSetUpPr.fitToPage, ws.title
    files = wb["Tệp"]
    listed = [r for r in files.iter_rows(min_row=5, values_only=True) if r[2]]
    assert [r[2] for r in listed] == ["job_placements.csv"]  # only the file with a problem
    assert listed[0][7] == "thiếu cột bắt buộc destination"  # the file is not named twice
    assert files["A3"].value == f"{len(ok)} tệp khác của các phiên bản trên không có lỗi nên không liệt kê ở đây."
    # every row whose text wraps is as tall as its lines (LibreOffice keeps the default height)
    versions_ws = wb["Phiên bản"]
    wrapped = [r for r in range(5, versions_ws.max_row + 1) if len(str(versions_ws.cell(r, 5).value or "")) > 26]
    assert wrapped and all((versions_ws.row_dimensions[r].height or 0) >= 2 * feedback.LINE_POINTS for r in wrapped)
    _, text = feedback.render_text(fb)
    assert "tệp job_placements.csv: thiếu cột bắt buộc destination" in text
    assert "Tệp job_placements.csv: Tệp job_placements.csv" not in text

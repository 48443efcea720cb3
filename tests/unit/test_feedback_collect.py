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

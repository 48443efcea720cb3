"""The deferred ledger raw/_deferred.json (read by the report gate): per-period replacement,
first_deferred_at kept and runs counted for an entry deferred again, owner-only, atomic."""

from __future__ import annotations

import datetime as dt
import json
import stat

from dolisa.extract import DEFERRED_LEDGER, entry_problems, listing_problems, read_deferred, update_deferred

T0 = dt.datetime(2021, 7, 5, 19, 30, tzinfo=dt.timezone.utc)


def d(unit, period, sid=None, reason="gave up"):
    return {"unit_code": unit, "period": period, "submission_id": sid, "version": 2 if sid else None,
            "what": "version" if sid else "listing", "reason": reason}


def test_no_file_until_something_is_deferred(tmp_path):
    update_deferred(tmp_path, "2021-06", [], T0)
    assert not (tmp_path / DEFERRED_LEDGER).exists() and read_deferred(tmp_path) == []


def test_period_entries_replaced_others_kept_runs_counted(tmp_path):
    update_deferred(tmp_path, "2021-05", [d("042", "2021-05")], T0)
    update_deferred(tmp_path, "2021-06", [d("040", "2021-06", "040-2021-06-v2"), d("043", "2021-06", "043-2021-06-v1")], T0)
    later = T0 + dt.timedelta(days=1)
    update_deferred(tmp_path, "2021-06", [d("040", "2021-06", "040-2021-06-v2", "HTTP 503")], later)
    got = read_deferred(tmp_path)
    assert [(e["unit_code"], e["period"], e["submission_id"]) for e in got] == [
        ("042", "2021-05", None), ("040", "2021-06", "040-2021-06-v2")]  # 043 landed since: gone
    e = got[1]
    assert e["runs"] == 2 and e["first_deferred_at"] == T0.isoformat() and e["last_attempt_at"] == later.isoformat()
    assert e["reason"] == "HTTP 503" and e["what"] == "version" and e["version"] == 2
    path = tmp_path / DEFERRED_LEDGER
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert json.loads(path.read_text())["format"] == 1
    update_deferred(tmp_path, "2021-06", [], later)
    update_deferred(tmp_path, "2021-05", [], later)
    assert read_deferred(tmp_path) == [] and path.exists()  # nothing outstanding
    assert [p.name for p in tmp_path.iterdir()] == [DEFERRED_LEDGER]  # no temp file left


GOOD = {"submission_id": "040-2021-06-v1", "version": 1, "submitted_at": "2021-07-03T16:20:00+07:00",
        "files": [{"dataset": "job_placements", "name": "job_placements.csv", "media_type": "text/csv",
                   "bytes": 10, "rows": 1, "sha256": "a" * 64}]}


def test_entry_problems():
    assert entry_problems(GOOD) == []
    bad = json.loads(json.dumps(GOOD))
    bad["files"][0].update(bytes=True, rows=-1, sha256="xyz", name="job_placements.csv\n")
    bad["version"] = 1.0
    got = " | ".join(entry_problems(bad))
    for words in ("bytes True", "rows -1", "sha256", "'job_placements.csv\\n'", "version 1.0"):
        assert words in got, words


def test_listing_problems():
    a, b = dict(GOOD), dict(GOOD, submission_id="040-2021-06-v2", version=2)
    assert listing_problems([a, b]) == []
    assert "oldest first" in listing_problems([b, a])[0]
    assert any("more than once" in p for p in listing_problems([a, a]))
    assert listing_problems([a, "junk", {"version": "x"}, b]) == []  # malformed entries are judged one by one

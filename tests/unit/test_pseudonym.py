"""The loader's pseudonym function is HMAC-SHA256 of the citizen id, exactly (RFC 2104)."""

from __future__ import annotations

import hashlib
import hmac

import duckdb
import pytest

from dolisa import pseudonym


@pytest.mark.parametrize("secret", [b"k" * 16, b"0123456789abcdef" * 4, b"x" * 65, "khóa bí mật-ünï".encode() * 9])
def test_hasher_is_hmac_sha256(secret):
    key = pseudonym.Key(secret, "configured")
    h = key.hasher()
    for cid in ("001203004005", "012345678", "", "Nguyễn"):
        want = hmac.new(secret, cid.encode("utf-8"), hashlib.sha256).hexdigest()
        assert h(cid) == want == key.pseudonym(cid)
    assert h(None) is None


def test_sql_function_keys_each_id_as_python_does():
    key = pseudonym.Key(b"a sentinel key of the test", "configured")
    con = duckdb.connect()
    pseudonym.register(con, key)
    ids = ["001203004005", "012345678", None]
    got = con.execute(f"select {pseudonym.SQL_FUNCTION}(i) from unnest(?) t(i)", [ids]).fetchall()
    assert [g[0] for g in got] == [key.pseudonym(i) for i in ids]

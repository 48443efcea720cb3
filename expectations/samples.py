"""Valid example frames in the parser's output shape, derived from the contract.

`valid_frame(dataset, period, n)` returns `n` rows that pass `door__<dataset>`: the
executable statement of the frame shape `dolisa.quality.door_gate` expects from
`dolisa.parse` (see that module's docstring), used by the unit tests and by the
overhead benchmark (`python -m dolisa.quality.door_gate`). Tests take a
valid frame and break one cell.
"""

from __future__ import annotations

import datetime as dt


def _value(ds, c, period: str, i: int):
    from dolisa import contract

    start, end = contract.month_start(period), contract.month_end(period)
    if c.name == ds.record_id:
        return f"R{i:06d}"
    if c.required_when:
        (k, v), = c.required_when.items()
        first = ds.column(k).codes[0] if ds.column(k).codes else None
        if first != v:
            return None
    t = c.type
    if t == "text":
        return f"{c.name} {i}"
    if t == "citizen_id":
        return f"{1_000_000_000 + i:012d}"
    if t == "sex":
        return "MF"[i % 2]
    if t == "date":
        if c.event_date:
            return start + dt.timedelta(days=i % (end - start).days + 0)
        if c.max_age_years:
            return dt.date(end.year - 5, 1, 1)
        return dt.date(1980, 1, 1) + dt.timedelta(days=i % 3650)
    if t == "integer":
        lo = c.min if c.min is not None else 0
        hi = c.max if c.max is not None else lo + 1000
        return lo + i % (hi - lo + 1)
    if t == "boolean":
        return i % 2 == 0
    if t == "code":
        return c.codes[0]
    if t == "country":
        return "JP"
    raise ValueError(t)


def _raw(v):
    if v is None:
        return None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dt.date):
        return v.strftime("%d/%m/%Y")
    return str(v)


def valid_frame(dataset: str, period: str, n: int = 3):
    """`n` valid rows of `dataset` for `period`: source_row, typed columns, `<col>__raw`."""
    import pandas as pd

    from dolisa import contract

    ds = contract.dataset(dataset)
    data: dict = {"source_row": pd.array(range(1, n + 1), dtype="int64")}
    for c in ds.columns:
        values = [_value(ds, c, period, i) for i in range(n)]
        if c.type == "date":
            data[c.name] = pd.Series(pd.to_datetime(pd.Series(values, dtype=object)), dtype="datetime64[us]")
        elif c.type == "integer":
            data[c.name] = pd.array(values, dtype="Int64")
        elif c.type == "boolean":
            data[c.name] = pd.array(values, dtype="boolean")
        else:
            data[c.name] = pd.Series(values, dtype=object)
        data[f"{c.name}__raw"] = pd.Series([_raw(v) for v in values], dtype=object)
    return pd.DataFrame(data)

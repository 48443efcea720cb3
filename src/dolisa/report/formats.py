"""Vietnamese number formatting for the human-facing report files.

Pure functions, no I/O. Conventions follow the department's own half-year
report (``shared/reference/000_d544923548a3d98b.txt``):

* thousands are grouped with ``.`` and the decimal mark is ``,``:
  ``1.700 người``, ``16.835 người``, ``30,9%``, ``1,6 tỷ đồng``;
* a percentage carries one decimal, and a ``,0`` is *not* printed — the report
  writes "đạt 130% so với cùng kỳ", "18% kế hoạch", "33% kế hoạch" next to
  "30,9%" — so ``fmt_pct(130.0) == '130%'``, in the sentences and in the table
  cells alike (a cell reading 130,0% beside a sentence reading 130% made the
  reader wonder which was right; issue 31). ``always_decimal=True`` (``'130,0%'``)
  remains for whoever needs a column of fixed width;
* money is printed in ``triệu đồng`` / ``tỷ đồng``: "11 tỷ đồng",
  "1,6 tỷ đồng", "406 triệu đồng", but "5.721 triệu đồng" (not "5,7 tỷ"): an
  amount of a milliard or more is printed in tỷ only when that loses nothing
  against the triệu figure (whole hundreds of triệu), otherwise in whole triệu;
  amounts below one triệu are printed in đồng;
* rounding is half away from zero (675 / 1 200 = 56,25% → ``56,3%``), done on
  the decimal representation of the number (``decimal.ROUND_HALF_UP``), so
  0.285 rounds to 0.29 as a person would expect, not to the binary float's 0.28;
* a missing value (``None``, ``NaN``, ``pd.NA``) is printed as ``empty``
  (default ``''``; the tables of the xlsx/docx use ``'—'``).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from numbers import Number
from typing import Any

THOUSANDS_SEP = "."
DECIMAL_SEP = ","
TRIEU = 1_000_000
TY = 1_000_000_000

__all__ = [
    "is_missing",
    "round_half_away",
    "to_decimal",
    "fmt_number",
    "fmt_int",
    "fmt_pct",
    "fmt_money",
    "fmt_money_trieu",
    "fmt_value",
    "fmt_share",
]


def is_missing(x: Any) -> bool:
    """True for None, NaN, pandas NA/NaT and the empty string."""
    if x is None:
        return True
    if isinstance(x, str):
        return x.strip() == ""
    try:
        import pandas as pd

        return bool(pd.isna(x))
    except (TypeError, ValueError):  # not a scalar
        return False


def to_decimal(x: Any) -> Decimal:
    """Exact decimal of what the number *looks like* (``repr`` of a float)."""
    if isinstance(x, Decimal):
        return x
    if isinstance(x, bool):
        return Decimal(int(x))
    if isinstance(x, int):
        return Decimal(x)
    if isinstance(x, str):
        return Decimal(x.strip())
    if isinstance(x, Number) or hasattr(x, "__float__"):
        # numpy integers -> int, everything else through the shortest repr
        try:
            if float(x).is_integer() and abs(float(x)) < 2**53:
                return Decimal(int(float(x)))
        except (OverflowError, ValueError):
            pass
        return Decimal(repr(float(x)))
    raise TypeError(f"not a number: {x!r}")


def _quantize(d: Decimal, ndigits: int) -> Decimal:
    exp = Decimal(1).scaleb(-ndigits)  # 10 ** -ndigits
    try:
        return d.quantize(exp, rounding=ROUND_HALF_UP)
    except InvalidOperation:  # pragma: no cover - absurdly large numbers
        return d


def round_half_away(x: Any, ndigits: int = 0) -> int | float | None:
    """Round half away from zero: 56.25 → 56.3, 2.5 → 3, -2.5 → -3.

    Returns an ``int`` when ``ndigits <= 0``, a ``float`` otherwise, ``None``
    for a missing value.
    """
    if is_missing(x):
        return None
    q = _quantize(to_decimal(x), ndigits)
    if ndigits <= 0:
        return int(q)
    return float(q)


def _group(int_digits: str) -> str:
    out = []
    while len(int_digits) > 3:
        out.append(int_digits[-3:])
        int_digits = int_digits[:-3]
    out.append(int_digits)
    return THOUSANDS_SEP.join(reversed(out))


def fmt_number(x: Any, ndigits: int = 0, *, strip_zero_decimals: bool = False, empty: str = "") -> str:
    """``1234567.891, 2`` → ``'1.234.567,89'``. Negative numbers get ``-``.

    With ``strip_zero_decimals`` trailing zero decimals are dropped
    (``130.0`` → ``'130'``, ``1.50`` → ``'1,5'``).
    """
    if is_missing(x):
        return empty
    q = _quantize(to_decimal(x), max(ndigits, 0))
    if q == 0:
        q = abs(q)  # no "-0"
    sign = "-" if q < 0 else ""
    text = f"{abs(q):f}"
    int_part, _, frac = text.partition(".")
    if strip_zero_decimals:
        frac = frac.rstrip("0")
    out = sign + _group(int_part)
    if frac:
        out += DECIMAL_SEP + frac
    return out


def fmt_int(x: Any, *, empty: str = "") -> str:
    """``1700`` → ``'1.700'``; non-integers are rounded half away from zero."""
    return fmt_number(x, 0, empty=empty)


def fmt_pct(x: Any, *, always_decimal: bool = False, sign: str = "%", empty: str = "") -> str:
    """``30.9`` → ``'30,9%'``, ``56.25`` → ``'56,3%'``, ``130.0`` → ``'130%'``.

    One decimal, rounded half away from zero; a ``,0`` is dropped as the
    reference report does ("đạt 130% so với cùng kỳ") unless
    ``always_decimal``. ``x`` is already a percentage (30.9, not 0.309).
    """
    if is_missing(x):
        return empty
    return fmt_number(x, 1, strip_zero_decimals=not always_decimal) + sign


def fmt_share(part: Any, *, empty: str = "") -> str:
    """A share (0..1) as a percentage that never hides a non-zero part: ``0.012`` → ``'1,2%'``,
    ``1/22 230`` → ``'<0,1%'`` (not ``'0%'``), ``0`` → ``'0%'``, and just under the whole
    ``'>99,9%'`` (not ``'100%'``)."""
    if is_missing(part):
        return empty
    pct = to_decimal(part) * 100
    shown = _quantize(pct, 1)
    if pct > 0 and shown == 0:
        return "<" + fmt_number(Decimal("0.1"), 1) + "%"
    if pct < 100 and shown == 100:
        return ">" + fmt_number(Decimal("99.9"), 1) + "%"
    return fmt_pct(pct)


def fmt_money_trieu(x: Any, *, empty: str = "") -> str:
    """The amount in triệu đồng, number only, for a table whose unit column
    says ``triệu đồng``: ``11_000_000_000`` → ``'11.000'``, ``406e6`` → ``'406'``,
    ``500_000`` → ``'0,5'``. At most one decimal, ``,0`` dropped."""
    if is_missing(x):
        return empty
    return fmt_number(to_decimal(x) / TRIEU, 1, strip_zero_decimals=True)


def fmt_money(x: Any, *, empty: str = "", currency: str = "đồng") -> str:
    """A VND amount as the reference report writes it.

    * ``|x| < 1 triệu``: in đồng, ``'500.000 đồng'``;
    * ``1 triệu ≤ |x| < 1 tỷ``: triệu with at most one decimal,
      ``'406 triệu đồng'``, ``'1,5 triệu đồng'``;
    * ``|x| ≥ 1 tỷ``: rounded to whole triệu; if that is a whole number of
      hundreds of triệu it is printed in tỷ (``'11 tỷ đồng'``,
      ``'1,6 tỷ đồng'``), otherwise in triệu (``'5.721 triệu đồng'``), so the
      printed figure never hides more than half a triệu.
    """
    if is_missing(x):
        return empty
    d = to_decimal(x)
    a = abs(d)
    if a < TRIEU:
        return f"{fmt_number(d, 0)} {currency}"
    if a < TY:
        t = _quantize(d / TRIEU, 1)
        if abs(t) >= 1000:  # 999,96 triệu rounds to 1.000 triệu = 1 tỷ
            return f"{fmt_number(t / 1000, 1, strip_zero_decimals=True)} tỷ {currency}"
        return f"{fmt_number(t, 1, strip_zero_decimals=True)} triệu {currency}"
    trieu = _quantize(d / TRIEU, 0)
    if trieu % 100 == 0:
        return f"{fmt_number(trieu / 1000, 1, strip_zero_decimals=True)} tỷ {currency}"
    return f"{fmt_number(trieu, 0)} triệu {currency}"


def fmt_value(x: Any, unit_vi: str | None, *, empty: str = "", always_decimal: bool = False) -> str:
    """Format an indicator value for a table cell by its unit: ``'%'`` →
    :func:`fmt_pct` (one decimal, ``,0`` dropped as in the text), ``'đồng'`` → :func:`fmt_money_trieu` (the table's unit
    is then ``triệu đồng``), anything else → :func:`fmt_int`."""
    u = (unit_vi or "").strip()
    if u == "%":
        return fmt_pct(x, empty=empty, always_decimal=always_decimal)
    if u in {"đồng", "VND", "vnd"}:
        return fmt_money_trieu(x, empty=empty)
    return fmt_int(x, empty=empty)

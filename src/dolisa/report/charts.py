"""PNG charts of the report (matplotlib, Agg backend, imported lazily).

* :func:`area_chart` — for one area, a small horizontal bar chart per selected
  indicator with one bar per reporting unit (largest at the top of the unit
  list order), the value printed at the end of each bar in Vietnamese format
  and the province total in each panel's title.
* :func:`quality_heatmap` — reporting units × months; cell colour is the submission
  status (green đúng hạn, amber muộn, red thiếu), the text gives the number of
  versions received and of quarantined rows.

Fonts: DejaVu Sans (shipped with matplotlib) renders the Vietnamese diacritics.
When ``incomplete_note`` is given a red "BÁO CÁO CHƯA ĐẦY ĐỦ: ..." line is drawn
above the title.
"""

from __future__ import annotations

import os
import textwrap
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ._common import (
    AREAS,
    PROVINCE_CODE,
    atomic_path,
    banner_text,
    catalogue,
    display_unit,
    is_money_indicator,
    is_pct_indicator,
    month_label,
    ordered_units,
    period_title,
    unit_label,
    unit_names,
    unit_sort_key,
    units_phrase,
)
from .formats import TRIEU, fmt_money, fmt_number, fmt_pct, fmt_value, is_missing

STATUS_COLOURS = {"on_time": "#5DB85C", "late": "#F0AD4E", "missing": "#D9534F"}
NO_DATA_COLOUR = "#E0E0E0"
DEFAULT_MAX_PANELS = 8  # four rows of two; what is not drawn is named under the figure
FONT_FAMILY = ["DejaVu Sans"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def default_chart_indicators(indicators: pd.DataFrame, area: str, max_panels: int = DEFAULT_MAX_PANELS) -> list[str]:
    """The first ``max_panels`` indicators of ``area`` in catalogue order,
    leaving out VND amounts (they mirror the case counts) and sub-items
    whose label starts with '…'. :func:`not_drawn` names the others."""
    cat = catalogue(indicators)
    cat = cat[cat["area"] == area]
    keep = [
        r["indicator_code"]
        for _, r in cat.iterrows()
        if not is_money_indicator(r) and not str(r.get("label_vi", "")).startswith("…")
    ]
    return keep[:max_panels]


def not_drawn(indicators: pd.DataFrame, area: str, drawn: Sequence[str]) -> list[str]:
    """The labels of the area's indicators the chart does not draw, in catalogue order: a chart
    never leaves an indicator out without saying so."""
    cat = catalogue(indicators)
    cat = cat[cat["area"] == area]
    return [
        str(r.get("label_vi") or r["indicator_code"]).lstrip("… ")
        for _, r in cat.iterrows()
        if r["indicator_code"] not in set(drawn)
    ]


def _save(fig, path: Path) -> Path:
    """The figure as a PNG at 150 dpi, cut to its drawn area (``bbox_inches="tight"``), in RGB:
    the background is opaque white, so the alpha channel carries nothing, and without it
    Pillow encodes a tall chart of 56 units about a third faster (the same pixels)."""
    import matplotlib
    from PIL import Image, PngImagePlugin

    def print_rgbpng(filename_or_obj, **_kw) -> None:
        canvas = fig.canvas
        canvas.draw()
        rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())).convert("RGB")
        info = PngImagePlugin.PngInfo()
        info.add_text("Software", f"Matplotlib version{matplotlib.__version__}, https://matplotlib.org/")
        rgb.save(filename_or_obj, format="png", dpi=(fig.dpi, fig.dpi), pnginfo=info)

    fig.canvas.print_rgbpng = print_rgbpng  # savefig looks up print_<format> on the figure's canvas
    try:
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="rgbpng", dpi=150, bbox_inches="tight", facecolor="white")
    finally:
        del fig.canvas.print_rgbpng
    return path


def _suptitle(fig, title: str, banner: str | None) -> None:
    if banner:
        fig.text(
            0.5,
            1.0,
            textwrap.fill(banner, 110, max_lines=3, placeholder=" …"),
            ha="center",
            va="bottom",
            color="#C00000",
            fontsize=11,
            fontweight="bold",
            transform=fig.transFigure,
        )
        fig.suptitle(title, fontsize=14, fontweight="bold", y=0.965)
    else:
        fig.suptitle(title, fontsize=14, fontweight="bold", y=0.995)


def area_chart(
    path: str | os.PathLike,
    indicators: pd.DataFrame,
    units: pd.DataFrame,
    area: str,
    indicator_codes: Sequence[str] | None = None,
    *,
    incomplete_note: str | None = None,
    report_period: str | None = None,
) -> Path:
    """Horizontal bars by reporting unit for the selected indicators of ``area``
    (default :func:`default_chart_indicators`); returns ``path``."""
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    path = Path(path)
    names = unit_names(units)
    cat = catalogue(indicators).set_index("indicator_code")
    codes = list(indicator_codes) if indicator_codes is not None else default_chart_indicators(indicators, area)
    if report_period is None and len(indicators):
        report_period = str(indicators["report_period"].iloc[0])
    df = indicators.copy()
    df["unit_code"] = df["unit_code"].astype(str)
    districts = [c for c in ordered_units(units, df["unit_code"].unique()) if c != PROVINCE_CODE]
    labels = [unit_label(c, names, short=True) for c in districts]

    n = max(len(codes), 1)
    ncols = 2 if n > 1 else 1
    nrows = (n + ncols - 1) // ncols
    height = max(2.6, 0.32 * len(districts) + 1.3)
    with plt.rc_context({"font.family": FONT_FAMILY, "font.size": 10}):
        fig, axes = plt.subplots(nrows, ncols, figsize=(7.2 * ncols, height * nrows), squeeze=False)
        for ax in axes.flat[len(codes) :]:
            ax.set_visible(False)
        if not codes:
            axes[0][0].set_visible(True)
            axes[0][0].axis("off")
            axes[0][0].text(0.5, 0.5, "Không có chỉ tiêu để vẽ", ha="center", va="center")
        for ax, code in zip(axes.flat, codes, strict=False):
            meta = cat.loc[code] if code in cat.index else pd.Series({"label_vi": code, "unit_vi": ""})
            unit_vi = meta.get("unit_vi")
            sub = df[df["indicator_code"] == code].set_index("unit_code")["value"]
            vals = [sub.get(c) for c in districts]
            money = is_money_indicator(meta)
            pct = is_pct_indicator(pd.Series({"unit_vi": unit_vi, "indicator_code": code}))
            scale = TRIEU if money else 1
            y = list(range(len(districts)))[::-1]  # first unit at the top
            num = [0.0 if is_missing(v) else float(v) / scale for v in vals]
            ax.barh(y, num, color="#2E75B6", height=0.65)
            ax.set_yticks(y, labels)
            vmax = max(num) if num and max(num) > 0 else 1
            ax.set_xlim(0, vmax * 1.22)
            for yi, v, raw in zip(y, num, vals, strict=False):
                txt = "—" if is_missing(raw) else (fmt_pct(raw) if pct else fmt_number(v, 1, strip_zero_decimals=True))
                ax.text(v + vmax * 0.01, yi, txt, va="center", fontsize=9)
            if pct:
                ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_pct(x)))
            else:
                if not money:  # counts: whole-number ticks only
                    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
                ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt_number(x, 1, strip_zero_decimals=True)))
            prov = sub.get(PROVINCE_CODE)
            unit_txt = display_unit(unit_vi)
            title = textwrap.fill(str(meta.get("label_vi", code)).lstrip("… "), 52)
            if not is_missing(prov):
                prov_txt = fmt_money(prov) if money else fmt_value(prov, unit_vi, always_decimal=False)
                title += f"\nToàn tỉnh: {prov_txt}{'' if pct or money else ' ' + unit_txt}"
            # y=1.0 where matplotlib would put the title anyway (nothing above the panel): placed by
            # hand, it does not measure the 56 unit labels again on every layout pass; nor does the
            # (empty) y label, anchored by hand for the same reason
            ax.set_title(title, fontsize=10.5, loc="left", y=1.0)
            ax.yaxis.set_label_coords(0.0, 0.5)
            ax.set_xlabel(unit_txt, fontsize=9)
            ax.grid(axis="x", color="#DDDDDD", linewidth=0.6)
            ax.set_axisbelow(True)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        area_title = AREAS.get(area, area)
        when = period_title(report_period) if report_period else ""
        _suptitle(fig, f"{area_title}: kết quả {when} theo {units_phrase(units)}", banner_text(incomplete_note))
        others = not_drawn(indicators, area, codes)
        bottom = 0.0
        if others:
            total = len(codes) + len(others)
            note = (
                f"Hình vẽ {len(codes)}/{total} chỉ tiêu của lĩnh vực. Không vẽ (xem bảng số liệu theo đơn vị): "
                + "; ".join(others)
                + "."
            )
            lines = textwrap.wrap(note, 150)
            height = fig.get_figheight()  # inches: the note keeps its own strip under the panels
            fig.text(
                0.01,
                0.08 / height,
                "\n".join(lines),
                ha="left",
                va="bottom",
                fontsize=10,
                style="italic",
                transform=fig.transFigure,
            )
            bottom = min(0.3, (0.19 * len(lines) + 0.45) / height)
        fig.tight_layout(rect=(0, bottom, 1, 0.975 if not incomplete_note else 0.955))
        try:
            return _save(fig, path)
        finally:
            plt.close(fig)


def quality_heatmap(
    path: str | os.PathLike,
    quality: pd.DataFrame,
    units: pd.DataFrame,
    *,
    incomplete_note: str | None = None,
    report_period: str | None = None,
) -> Path:
    """Reporting unit × month grid of submission status; returns ``path``."""
    plt = _pyplot()
    from matplotlib.colors import to_rgb
    from matplotlib.patches import Patch

    path = Path(path)
    names = unit_names(units)
    q = quality.copy()
    q["unit_code"] = q["unit_code"].astype(str)
    q["period"] = q["period"].astype(str)
    for c, nm in zip(q["unit_code"], q.get("name_vi", q["unit_code"]), strict=False):
        names.setdefault(c, str(nm))
    codes = sorted((c for c in q["unit_code"].unique() if c != PROVINCE_CODE), key=unit_sort_key)
    months = sorted(q["period"].unique())
    grid = q.drop_duplicates(["unit_code", "period"], keep="last").set_index(["unit_code", "period"])

    img = [[to_rgb(NO_DATA_COLOUR)] * len(months) for _ in codes]
    with plt.rc_context({"font.family": FONT_FAMILY, "font.size": 10}):
        fig, ax = plt.subplots(figsize=(max(7.5, 1.5 * len(months) + 3.2), max(3.2, 0.55 * len(codes) + 1.8)))
        for i, code in enumerate(codes):
            for j, m in enumerate(months):
                if (code, m) not in grid.index:
                    ax.text(j, i, "—", ha="center", va="center")
                    continue
                rec = grid.loc[(code, m)]
                status = str(rec["status"])
                img[i][j] = to_rgb(STATUS_COLOURS.get(status, NO_DATA_COLOUR))
                if status == "missing":
                    text = "Thiếu"
                else:
                    v = rec.get("versions_received")
                    text = f"{0 if is_missing(v) else int(v)} phiên bản"
                    if status == "late":  # readable in black-and-white print too
                        text = "Muộn · " + text
                    nq = rec.get("rows_quarantined")
                    if not is_missing(nq) and int(nq) > 0:
                        text += f"\n{fmt_number(nq)} dòng cách ly"
                colour = "white" if status == "missing" else "black"
                weight = "bold" if status != "on_time" else "normal"
                ax.text(j, i, text, ha="center", va="center", fontsize=8.5, color=colour, fontweight=weight)
        ax.imshow(img, aspect="auto", interpolation="nearest")
        ax.set_xticks(range(len(months)), [month_label(m) for m in months])
        ax.set_yticks(range(len(codes)), [unit_label(c, names, short=True) for c in codes])
        ax.xaxis.tick_top()
        ax.set_xticks([x - 0.5 for x in range(1, len(months))], minor=True)
        ax.set_yticks([y - 0.5 for y in range(1, len(codes))], minor=True)
        ax.grid(which="minor", color="white", linewidth=2)
        ax.tick_params(which="both", length=0)
        for s in ax.spines.values():
            s.set_visible(False)
        handles = [
            Patch(facecolor=STATUS_COLOURS[s], label=lbl)
            for s, lbl in (("on_time", "Nộp đúng hạn"), ("late", "Nộp muộn"), ("missing", "Thiếu (chưa nhận)"))
        ]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.02), ncol=3, frameon=False)
        if report_period is None and months:
            y, mo = months[-1].split("-")[0], int(months[-1].split("-")[1])
            report_period = f"{y}-{'H1' if mo <= 6 else 'H2'}" if all(m[:4] == y for m in months) else None
        when = (
            period_title(report_period)
            if report_period
            else f"{month_label(months[0])} - {month_label(months[-1])}"
            if months
            else ""
        )
        _suptitle(fig, f"Tình hình nộp số liệu của các {units_phrase(units)} - {when}", banner_text(incomplete_note))
        fig.tight_layout(rect=(0, 0, 1, 0.97 if not incomplete_note else 0.94))
        try:
            return _save(fig, path)
        finally:
            plt.close(fig)

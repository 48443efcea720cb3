"""Deterministic demo frames shaped like the warehouse feed of the writers.

Used by the unit tests and to preview the report files::

    python -m dolisa_demo.report_sample /tmp/report_preview

The province figures are those of the H1 2021 reference report; district
figures are an arbitrary deterministic split of them. Not real data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

# code, area, label_vi, unit_vi, kind, province value, plan, same period
CATALOGUE = [
    ("LAB_VOC_NEW_SOCAP", "labour", "Tuyển mới đào tạo trình độ sơ cấp", "người", "flow", 1700, 5500, 1308),
    ("LAB_VOC_NEW_ALL", "labour", "Tuyển mới giáo dục nghề nghiệp, mọi trình độ", "người", "flow", 2100, None, 1900),
    ("LAB_JOB_PLACEMENTS", "labour", "Giới thiệu việc làm, cung ứng lao động", "người", "flow", 198, 600, 210),
    ("LAB_JOB_PLACEMENTS_DOMESTIC", "labour", "… trong nước", "người", "flow", 191, None, 200),
    ("LAB_JOB_PLACEMENTS_ABROAD", "labour", "… ngoài nước", "người", "flow", 7, None, 10),
    (
        "LAB_OVERSEAS_DEPARTURES",
        "labour",
        "Lao động đi làm việc ở nước ngoài theo hợp đồng",
        "người",
        "flow",
        18,
        100,
        40,
    ),
    (
        "LAB_FUND_JOBS",
        "labour",
        "Lao động được tạo việc làm từ Quỹ quốc gia về việc làm",
        "người",
        "flow",
        675,
        1200,
        600,
    ),
    ("LAB_UI_DECISIONS", "labour", "Người được quyết định hưởng trợ cấp thất nghiệp", "người", "flow", 871, None, 800),
    ("LAB_UI_AMOUNT_VND", "labour", "Số tiền trợ cấp thất nghiệp", "đồng", "flow", 11_000_000_000, None, 9_500_000_000),
    (
        "SP_ALLOWANCE_NEW",
        "social_protection",
        "Đối tượng mới hưởng trợ cấp xã hội hàng tháng",
        "người",
        "distinct",
        728,
        None,
        700,
    ),
    (
        "SP_ALLOWANCE_ACTIVE",
        "social_protection",
        "Tổng số đối tượng đang hưởng trợ cấp xã hội hàng tháng",
        "người",
        "stock",
        16835,
        None,
        16500,
    ),
    ("SP_FUNERAL_CASES", "social_protection", "Trợ cấp mai táng phí", "trường hợp", "flow", 296, None, 280),
    (
        "SP_FUNERAL_AMOUNT_VND",
        "social_protection",
        "Kinh phí mai táng phí",
        "đồng",
        "flow",
        1_600_000_000,
        None,
        1_500_000_000,
    ),
    ("SP_EMERGENCY_CASES", "social_protection", "Trợ cấp đột xuất", "trường hợp", "flow", 16, None, 20),
    (
        "SP_EMERGENCY_AMOUNT_VND",
        "social_protection",
        "Kinh phí trợ cấp đột xuất",
        "đồng",
        "flow",
        406_000_000,
        None,
        300_000_000,
    ),
    ("SP_CENTENARIAN_GIFTS", "social_protection", "Mừng thọ cụ tròn 100 tuổi", "người", "flow", 28, None, 25),
    ("SP_RICE_KG", "social_protection", "Gạo cứu đói", "kg", "flow", 1_440_060, None, 1_200_000),
    ("SP_RICE_HOUSEHOLDS", "social_protection", "Hộ được hỗ trợ gạo", "hộ", "distinct", 23141, None, 20000),
    ("SP_RICE_PERSONS", "social_protection", "Khẩu được hỗ trợ gạo", "khẩu", "distinct", 96004, None, 90000),
    (
        "MER_TET_GIFT_PERSONS",
        "social_protection",
        "Người có công được tặng quà Tết",
        "người",
        "distinct",
        17568,
        None,
        17000,
    ),
    (
        "MER_TET_GIFT_AMOUNT_VND",
        "social_protection",
        "Kinh phí quà Tết người có công",
        "đồng",
        "flow",
        5_721_000_000,
        None,
        5_500_000_000,
    ),
    ("MER_NEW_DECISIONS", "social_protection", "Giải quyết chế độ người có công", "hồ sơ", "flow", 701, None, 650),
    ("MER_ONE_TIME_DECISIONS", "social_protection", "… trợ cấp một lần", "hồ sơ", "flow", 675, None, 620),
    ("MER_MONTHLY_DECISIONS", "social_protection", "… trợ cấp hàng tháng", "hồ sơ", "flow", 26, None, 30),
    ("MER_CONVALESCENCE_CENTRAL", "social_protection", "Điều dưỡng tập trung", "người", "flow", 626, None, 600),
    ("MER_CONVALESCENCE_HOME", "social_protection", "Điều dưỡng tại gia đình", "người", "flow", 865, None, 800),
    ("CH_SPECIAL_ACTIVE", "child_welfare", "Trẻ em có hoàn cảnh đặc biệt", "trẻ em", "stock", 1240, None, 1300),
    (
        "CH_SPECIAL_SUPPORTED_PCT",
        "child_welfare",
        "Tỷ lệ trẻ em có hoàn cảnh đặc biệt được trợ giúp",
        "%",
        "stock",
        95.3,
        None,
        94.1,
    ),
    ("CH_SCREENED", "child_welfare", "Trẻ em được khám sàng lọc khuyết tật", "trẻ em", "distinct", 450, None, 400),
    (
        "CH_SURGERY_REFERRALS",
        "child_welfare",
        "Trẻ em được chỉ định phẫu thuật miễn phí",
        "trẻ em",
        "distinct",
        47,
        None,
        50,
    ),
    ("CH_MILK_FUND", "child_welfare", "Trẻ em thụ hưởng Quỹ sữa vươn cao", "trẻ em", "distinct", 861, None, 800),
    ("CH_SCHOLARSHIPS", "child_welfare", "Suất học bổng cho trẻ em", "suất", "flow", 70, None, 60),
    ("CH_SCHOLARSHIP_AMOUNT_VND", "child_welfare", "Kinh phí học bổng", "đồng", "flow", 50_000_000, None, 45_000_000),
    ("CH_EMERGENCY_CHILDREN", "child_welfare", "Trẻ em được hỗ trợ đột xuất", "trẻ em", "distinct", 6, None, 8),
    (
        "CH_EMERGENCY_AMOUNT_VND",
        "child_welfare",
        "Kinh phí hỗ trợ đột xuất trẻ em",
        "đồng",
        "flow",
        18_000_000,
        None,
        20_000_000,
    ),
]

UNITS = [
    ("04", "Tỉnh Cao Bằng"),
    ("040", "Thành phố Cao Bằng"),
    ("042", "Huyện Bảo Lâm"),
    ("043", "Huyện Bảo Lạc"),
    ("045", "Huyện Hà Quảng"),
    ("047", "Huyện Trùng Khánh"),
    ("048", "Huyện Hạ Lang"),
    ("049", "Huyện Quảng Hòa"),
    ("051", "Huyện Hòa An"),
    ("052", "Huyện Nguyên Bình"),
    ("053", "Huyện Thạch An"),
]
WEIGHTS = [18, 8, 7, 9, 10, 6, 11, 12, 10, 9]  # sums to 100


def _pct(a, b):
    from dolisa.report.formats import round_half_away

    if a is None or b is None or b == 0:
        return None
    return round_half_away(a / b * 100, 1)


def _split(total, weights, *, decimals=False):
    if decimals:  # a percentage: every district around the province value
        return [round(total + (i % 5 - 2) * 0.7, 1) for i in range(len(weights))]
    parts = [total * w // 100 for w in weights]
    parts[0] += total - sum(parts)
    return parts


def sample_frames(report_period: str = "2021-H1") -> dict[str, pd.DataFrame]:
    """``indicators``, ``units``, ``quality``, ``quarantine_reasons`` frames."""
    units = pd.DataFrame(UNITS, columns=["unit_code", "name_vi"])
    districts = [c for c, _ in UNITS[1:]]
    rows = []
    for order, (code, area, label, unit_vi, kind, value, plan, same) in enumerate(CATALOGUE, start=1):
        pct_ind = unit_vi == "%"
        dvals = _split(value, WEIGHTS, decimals=pct_ind)
        dsame = _split(same, WEIGHTS, decimals=pct_ind)
        for ucode, v, s, p in [("04", value, same, plan)] + [
            (d, dv, ds, None) for d, dv, ds in zip(districts, dvals, dsame, strict=False)
        ]:
            rows.append(
                dict(
                    report_period=report_period,
                    indicator_code=code,
                    unit_code=ucode,
                    value=v,
                    plan_value=p,
                    pct_of_plan=_pct(v, p),
                    same_period_value=s,
                    pct_of_same_period=_pct(v, s),
                    sort_order=order,
                    area=area,
                    label_vi=label,
                    unit_vi=unit_vi,
                    kind=kind,
                )
            )
    indicators = pd.DataFrame(rows)
    year, half = report_period.split("-")
    first = 1 if half == "H1" else 7
    months = [f"{year}-{m:02d}" for m in range(first, first + 6)]
    q = []
    for i, d in enumerate(districts):
        for j, m in enumerate(months):
            status = "on_time"
            if (i * 7 + j * 3) % 11 == 0:
                status = "late"
            if d == "048" and j == 5:
                status = "missing"
            versions = 0 if status == "missing" else 1 + ((i + j) % 4 == 0) + (status == "late")
            loaded = 0 if status == "missing" else 300 + 37 * i + 11 * j
            quarantined = 0 if status == "missing" else ((i * j) % 7 == 3) * (2 + i)
            q.append(
                dict(
                    unit_code=d,
                    name_vi=dict(UNITS)[d],
                    period=m,
                    status=status,
                    versions_received=versions,
                    rows_loaded=loaded,
                    rows_quarantined=quarantined,
                )
            )
    quality = pd.DataFrame(q)
    qr = quality[quality["rows_quarantined"] > 0][["unit_code", "period", "rows_quarantined"]]
    reasons = pd.DataFrame(
        [
            dict(
                unit_code=r.unit_code,
                period=r.period,
                dataset="job_placements",
                reason="event date outside the submitted month",
                rows=int(r.rows_quarantined),
            )
            for r in qr.itertuples()
        ],
        columns=["unit_code", "period", "dataset", "reason", "rows"],
    )
    return {"indicators": indicators, "units": units, "quality": quality, "quarantine_reasons": reasons}


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - preview helper
    from dolisa.report import write_human_report
    from dolisa.report.csv_writer import write_indicators_csv

    argv = sys.argv[1:] if argv is None else argv
    out = Path(argv[0] if argv else "report_preview")
    f = sample_frames()
    paths = write_human_report(
        out,
        "2021-H1",
        f["indicators"],
        f["units"],
        f["quality"],
        f["quarantine_reasons"],
        warnings=[
            "Huyện Hạ Lang: tháng 6/2021 chưa nộp báo cáo.",
            "Huyện Bảo Lâm: LAB_FUND_JOBS tháng 3 gấp 4 lần trung vị 12 tháng trước.",
        ],
        incomplete_note=argv[1] if len(argv) > 1 else None,
    )
    paths["indicators.csv"] = write_indicators_csv(out / "indicators.csv", f["indicators"])
    for k, p in paths.items():
        print(k, p)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())

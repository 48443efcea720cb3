"""Deterministic demo data for the District Export hub (Cao Bằng, 2020-01 ..).

``generate(store_root, seed=2021, scale=1.0, first='2020-01', last='2021-06')``
fills a :class:`~dolisa_demo.hub.store.HubStore` with one submission per unit and
month for every district-level unit valid in the month (13 in 2020-01, 10 from
2020-02), all 11 datasets of the contract.

How the figures come out exact
------------------------------
Every flow quantity has a half-year province total (``REFERENCE_2021H1`` for
2021-H1, 1 308 SO_CAP enrolments for 2020-H1, a seeded lower figure for other
halves); it is split over the half's months and then over the units valid in
each month by the largest-remainder method with seeded, uneven weights, so the
province sum is exact whatever the seed. Amounts are split the same way (per
unit, then per row, in round steps). Registers are simulated from an epoch
(``min(first, 2020-01)``) with a starting size chosen so that the province
ACTIVE count at 2021-06 is exactly 16 835 × scale. All the numbers are counted
from the rows a correct parser loads from each unit-month's latest accepted
version: injected defect rows are *extra* rows that must be quarantined.

What was injected (defect rows, file-level defects, revisions, late
submissions, format variants per file) is written to
``<store>/demo_manifest.json``; ``DEFECT_PLAN`` and ``SPECIAL_SUBMISSIONS``
below are the plan. Same seed, scale and range → byte-identical store.

Memory: one lineage (a current district and the units merged into it) is
simulated at a time and files are written per unit-month, so large scales
(60 and more) run in bounded memory.
"""

from __future__ import annotations

import calendar
import csv
import datetime as dt
import io
import json
import math
import random
import re
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dolisa import contract
from dolisa_demo.hub.store import TZ, HubStore, submission_id

EPOCH = "2020-01"
CALIBRATION_LAST = "2021-06"  # the registers are sized so that 2021-06 has the reference stock

# Province totals of 2021-H1 (indicators.md), at scale 1.
REFERENCE_2021H1 = {
    "LAB_VOC_NEW_SOCAP": 1700,
    "LAB_JOB_PLACEMENTS": 198,
    "LAB_JOB_PLACEMENTS_DOMESTIC": 191,
    "LAB_JOB_PLACEMENTS_ABROAD": 7,
    "LAB_OVERSEAS_DEPARTURES": 18,
    "LAB_FUND_JOBS": 675,
    "LAB_UI_DECISIONS": 871,
    "LAB_UI_AMOUNT_VND": 11_000_000_000,
    "SP_ALLOWANCE_NEW": 728,
    "SP_ALLOWANCE_ACTIVE": 16_835,
    "SP_FUNERAL_CASES": 296,
    "SP_FUNERAL_AMOUNT_VND": 1_600_000_000,
    "SP_EMERGENCY_CASES": 16,
    "SP_EMERGENCY_AMOUNT_VND": 406_000_000,
    "SP_CENTENARIAN_GIFTS": 28,
    "SP_RICE_KG": 1_440_060,
    "SP_RICE_HOUSEHOLDS": 23_141,
    "SP_RICE_PERSONS": 96_004,
    "MER_TET_GIFT_PERSONS": 17_568,
    "MER_TET_GIFT_AMOUNT_VND": 5_721_000_000,
    "MER_NEW_DECISIONS": 701,
    "MER_ONE_TIME_DECISIONS": 675,
    "MER_MONTHLY_DECISIONS": 26,
    "MER_CONVALESCENCE_CENTRAL": 626,
    "MER_CONVALESCENCE_HOME": 865,
    "CH_SCREENED": 450,
    "CH_SURGERY_REFERRALS": 47,
    "CH_MILK_FUND": 861,
    "CH_SCHOLARSHIPS": 70,
    "CH_SCHOLARSHIP_AMOUNT_VND": 50_000_000,
    "CH_EMERGENCY_CHILDREN": 6,
    "CH_EMERGENCY_AMOUNT_VND": 18_000_000,
}
SOCAP_2020H1 = 1308

_FLAT = (1, 1, 1, 1, 1, 1)
# quantity -> (2021-H1 total, H1 month weights, H2 month weights, H2 factor)
QUANTITIES: dict[str, tuple[int, tuple, tuple, float]] = {
    "voc_socap": (1700, (0.7, 0.6, 1.2, 1.2, 1.1, 1.0), (0.9, 1.2, 1.3, 1.1, 1.0, 0.8), 1.1),
    "voc_trungcap": (380, (0.6, 0.5, 0.8, 0.8, 0.9, 1.0), (0.8, 2.5, 2.0, 0.8, 0.6, 0.5), 1.4),
    "voc_caodang": (150, (0.5, 0.4, 0.6, 0.6, 0.7, 0.8), (0.8, 3.0, 2.0, 0.6, 0.4, 0.3), 1.5),
    "voc_duoi3": (820, (0.6, 0.5, 1.1, 1.3, 1.2, 1.0), (1.0, 1.1, 1.2, 1.2, 1.0, 0.8), 1.1),
    "job_dom": (191, _FLAT, _FLAT, 1.0),
    "job_abr": (7, _FLAT, _FLAT, 1.0),
    "overseas": (18, (0.5, 0.5, 1, 1, 1.2, 1.2), _FLAT, 1.0),
    "fund_jobs": (675, (0.6, 0.7, 1.1, 1.2, 1.2, 1.1), _FLAT, 1.0),
    "ui": (871, (1.2, 0.8, 1.1, 1.0, 1.0, 0.9), _FLAT, 0.95),
    "funeral": (296, (1.2, 1.2, 1.0, 0.9, 0.9, 0.8), _FLAT, 1.0),
    "emergency": (16, (1.0, 0.6, 0.8, 1.2, 1.5, 1.8), (2, 1.8, 1.2, 0.8, 0.5, 0.5), 1.2),
    "centenarian": (28, _FLAT, _FLAT, 1.0),
    "mer_onetime": (675, _FLAT, _FLAT, 0.9),
    "mer_monthly": (26, _FLAT, _FLAT, 1.0),
    "mer_conv_c": (626, (0.1, 0.2, 0.8, 1.4, 1.6, 1.2), (1.4, 1.2, 1.0, 0.6, 0.2, 0.1), 0.8),
    "mer_conv_h": (865, (0.2, 0.2, 0.8, 1.2, 1.5, 1.4), (1.5, 1.0, 0.8, 0.6, 0.3, 0.2), 0.9),
    "tet": (17_568, (0.6, 0.4, 0, 0, 0, 0), (0, 0, 0, 0, 0, 0), 0.0),
    "ch_screen": (450, (0.4, 0.4, 1.0, 1.3, 1.3, 1.0), _FLAT, 0.9),
    "ch_surgery": (47, (0.4, 0.4, 1.0, 1.3, 1.3, 1.0), _FLAT, 0.9),
    "ch_milk": (861, _FLAT, _FLAT, 1.0),
    "ch_scholar": (70, (0.7, 0.6, 0.1, 0.1, 0.2, 0.4), (0.2, 0.6, 1.5, 0.3, 0.2, 0.5), 1.2),
    "ch_emerg": (6, _FLAT, _FLAT, 1.0),
    # rice: households by the month of their latest allocation
    "rice_hh": (23_141, (0.28, 0.2, 0.07, 0.25, 0.2, 0.0), (0.35, 0.4, 0.25, 0, 0, 0), 0.3),
    "sa_join": (728, _FLAT, _FLAT, 1.0),
    "sa_stop": (640, _FLAT, _FLAT, 1.0),
    "cr_new": (150, _FLAT, _FLAT, 1.0),
    "cr_close": (70, _FLAT, _FLAT, 1.0),
}
# quantity -> (2021-H1 VND total, step, natural row amount in steps: (low, high))
AMOUNTS: dict[str, tuple[int, int]] = {
    "ui": (11_000_000_000, 1_000),
    "funeral": (1_600_000_000, 100_000),
    "emergency": (406_000_000, 1_000_000),
    "tet": (5_721_000_000, 50_000),
    "ch_scholar": (50_000_000, 50_000),
    "ch_emerg": (18_000_000, 500_000),
}
RICE_PERSONS_2021H1 = 96_004
RICE_KG_2021H1 = 1_440_060
ALLOWANCE_ACTIVE_2021_06 = 16_835
CHILD_REGISTER_2020_01 = 2_300
HALF_FACTOR = {"2020-H1": 0.82, "2020-H2": 0.9}

# Population-like weights of the current districts and of the units of 2020-01.
W_CURRENT = {
    "040": 1.2,
    "042": 1.0,
    "043": 0.85,
    "045": 1.05,
    "047": 1.08,
    "048": 0.42,
    "049": 1.0,
    "051": 0.85,
    "052": 0.62,
    "053": 0.5,
}
W_2020_01 = {"044o": 0.35, "045": 0.70, "046o": 0.33, "047": 0.75, "049o": 0.55, "050o": 0.45}

# File-level and version-level scenarios (unit, period).
SPECIAL_SUBMISSIONS = {
    ("040", "2021-03"): {
        "kind": "revision",
        "note": "v1 on time with wrong (incomplete) figures; v2 in May 2021 with the final ones",
        "v1_at": (2021, 4, 3, 10, 15),
        "v2_at": (2021, 5, 14, 9, 40),
    },
    ("053", "2021-02"): {"kind": "late", "note": "first submitted 2021-03-12", "v1_at": (2021, 3, 12, 14, 5)},
    ("045", "2021-04"): {
        "kind": "rejected_missing_column",
        "note": "v2 job_placements.csv lacks the required column destination: v2 rejected, v1 stays in force",
        "v1_at": (2021, 5, 4, 8, 50),
        "v2_at": (2021, 5, 20, 15, 30),
    },
    ("051", "2020-09"): {
        "kind": "rejected_not_utf8",
        "note": "v2 meritorious_benefits.csv is Windows-1258, not UTF-8: v2 rejected, v1 stays in force",
        "v1_at": (2020, 10, 2, 9, 0),
        "v2_at": (2020, 10, 20, 10, 20),
    },
    # across the 2025 reform (contract §7): the districts up to 2025-06, the communes after
    ("045", "2025-05"): {
        "kind": "revision",
        "note": "a district's late revision: v1 on time, v2 in September 2025, after the reform, "
        "still under the district code (moves the 2025-H1 figures)",
        "v1_at": (2025, 6, 4, 9, 30),
        "v2_at": (2025, 9, 15, 10, 5),
    },
    ("053", "2024-11"): {
        "kind": "rejected_not_utf8",
        "note": "v2 meritorious_benefits.csv is Windows-1258, not UTF-8: v2 rejected, v1 stays in force",
        "v1_at": (2024, 12, 3, 8, 40),
        "v2_at": (2024, 12, 19, 14, 0),
    },
    ("01273", "2025-08"): {
        "kind": "late",
        "note": "a ward's first submission, on 2025-09-20",
        "v1_at": (2025, 9, 20, 15, 10),
    },
    ("01387", "2025-10"): {
        "kind": "rejected_missing_column",
        "note": "v2 job_placements.csv lacks the required column destination: v2 rejected, v1 stays in force",
        "v1_at": (2025, 11, 3, 9, 15),
        "v2_at": (2025, 11, 21, 16, 45),
    },
    ("01747", "2026-03"): {
        "kind": "revision",
        "note": "a commune's revision: v1 on time, v2 in May 2026 with the final figures",
        "v1_at": (2026, 4, 2, 10, 0),
        "v2_at": (2026, 5, 11, 8, 30),
    },
}

# Row-level defects: extra rows beyond the exact figures; a correct parser
# quarantines them (duplicate_identical: counts once).
DEFECT_PLAN: list[tuple[str, str, str, str]] = [
    ("040", "2021-01", "vocational_enrolments", "unknown_code"),
    ("042", "2021-02", "job_placements", "unparseable_date"),
    ("043", "2021-03", "unemployment_benefit_decisions", "event_date_outside_month"),
    ("045", "2021-01", "unemployment_benefit_decisions", "required_empty"),
    ("047", "2021-02", "employment_fund_loans", "integer_out_of_range"),
    ("048", "2021-05", "social_assistance_payments", "integer_out_of_range"),
    ("049", "2021-04", "unemployment_benefit_decisions", "integer_out_of_range"),
    ("051", "2021-03", "meritorious_benefits", "malformed_citizen_id"),
    ("052", "2021-01", "job_placements", "country_code_for_domestic"),
    ("053", "2021-04", "job_placements", "country_code_missing_for_abroad"),
    ("040", "2021-05", "social_allowance_register", "stopped_on_missing"),
    ("042", "2021-06", "child_protection_register", "child_aged_16_plus"),
    ("043", "2021-02", "child_support_events", "child_aged_16_plus"),
    ("045", "2021-03", "vocational_enrolments", "duplicate_identical"),
    ("049", "2021-02", "vocational_enrolments", "duplicate_identical_parsed"),
    ("047", "2021-01", "meritorious_benefits", "duplicate_conflicting"),
    ("052", "2021-06", "rice_relief", "duplicate_conflicting"),
    ("051", "2021-06", "overseas_departures", "integer_out_of_range"),
    ("051", "2020-06", "vocational_enrolments", "unparseable_date"),
    ("044", "2020-01", "rice_relief", "integer_out_of_range"),
    ("050", "2020-01", "overseas_departures", "unknown_code"),
    ("048", "2020-11", "job_placements", "malformed_citizen_id"),
    # across the 2025 reform
    ("040", "2024-09", "job_placements", "unparseable_date"),
    ("052", "2025-03", "vocational_enrolments", "unknown_code"),
    ("047", "2025-06", "social_allowance_register", "stopped_on_missing"),
    ("01290", "2025-07", "unemployment_benefit_decisions", "required_empty"),
    ("01279", "2025-09", "job_placements", "country_code_for_domestic"),
    ("01489", "2025-12", "child_protection_register", "child_aged_16_plus"),
    ("01654", "2026-01", "meritorious_benefits", "duplicate_conflicting"),
    ("01339", "2026-02", "vocational_enrolments", "duplicate_identical"),
    ("01822", "2026-04", "overseas_departures", "integer_out_of_range"),
    ("01576", "2026-06", "employment_fund_loans", "malformed_citizen_id"),
]

# True anomalies injected only with `anomalies=True` (`generate --inject-anomalies`): what the
# report gate's outlier and missing-dataset rules must flag (docs/warnings.md measures it). Each
# changes the version in force of one unit-month and nothing else (no random draw is spent, so
# the rest of the store is byte-identical to the clean one). "*" is every dataset of the month.
#   inflated_x3     every record three times, the copies under new record ids (an export run thrice)
#   uploaded_twice  every record twice, the copy under new record ids (a file appended to itself)
#   dataset_missing the version has no file of the dataset
#   near_zero       every file keeps 5% of its records (at least one where it had some)
ANOMALY_PLAN: list[tuple[str, str, str, str]] = [
    # the districts (2021-H1: the same month of 2020 exists)
    ("049", "2021-03", "child_support_events", "inflated_x3"),
    ("042", "2021-05", "vocational_enrolments", "uploaded_twice"),
    ("052", "2021-04", "social_allowance_register", "dataset_missing"),
    ("051", "2021-04", "*", "near_zero"),
    # the communes and wards of the 2025 reform (small counts, no same month of an earlier year)
    ("01594", "2025-11", "social_allowance_register", "uploaded_twice"),  # 4 months of history
    ("01501", "2026-03", "social_allowance_register", "dataset_missing"),
    ("01297", "2026-04", "vocational_enrolments", "inflated_x3"),
    ("01660", "2026-05", "child_protection_register", "uploaded_twice"),
    ("01327", "2026-06", "*", "near_zero"),
]
ANOMALY_COPIES = {"inflated_x3": 3, "uploaded_twice": 2}
NEAR_ZERO_SHARE = 0.05

# Variants forced on some files of 2021-01 so that a short range has them all.
FORCED_STYLES: dict[tuple[str, str, str], dict[str, Any]] = {
    ("040", "2021-01", "social_allowance_register"): {"xlsx": True},
    ("052", "2021-01", "rice_relief"): {"xlsx": True},
    ("048", "2021-01", "child_protection_register"): {"xlsx": True, "bool": "có/không"},
    ("042", "2021-01", "vocational_enrolments"): {
        "bom": True,
        "crlf": True,
        "header_messy": True,
        "shuffle": True,
        "extra": True,
        "multiline": True,
    },
    ("043", "2021-01", "meritorious_benefits"): {"nfd": True, "dmy": True, "thousands": True},
    ("045", "2021-01", "unemployment_benefit_decisions"): {"sex_vi": True, "thousands": True, "crlf": True},
    ("047", "2021-01", "child_protection_register"): {"bool": "có/không", "codes_messy": True, "nfd": True},
    ("051", "2021-01", "employment_fund_loans"): {"codes_messy": True, "bool": "1/0"},
    ("053", "2021-01", "social_allowance_register"): {"sex_vi": True, "dmy": True, "bom": True},
    ("049", "2021-01", "child_support_events"): {"bool": "TRUE/FALSE", "header_messy": True, "shuffle": True},
}

XLSX_MAX_ROWS = 3_000  # openpyxl is slow: larger files stay CSV

# ------------------------------------------------------------------ helpers

FAMILY = [
    "Nông",
    "Hoàng",
    "Lương",
    "Đàm",
    "Bế",
    "Lục",
    "Triệu",
    "Nguyễn",
    "Lý",
    "Ma",
    "Hà",
    "Lã",
    "Chu",
    "Đinh",
    "Sầm",
    "Vi",
    "La",
    "Mông",
    "Dương",
    "Hứa",
    "Lưu",
    "Trần",
    "Phạm",
    "Lâm",
    "Đoàn",
]
MID_M = ["Văn", "Văn", "Văn", "Đức", "Minh", "Quốc", "Thanh"]
MID_F = ["Thị", "Thị", "Thị", "Thu", "Ngọc", "Thanh"]
GIVEN_M = [
    "Hùng",
    "Dũng",
    "Cường",
    "Quân",
    "Sơn",
    "Tuấn",
    "Thắng",
    "Lâm",
    "Phúc",
    "Khánh",
    "Hải",
    "Long",
    "Nam",
    "Tài",
    "Thành",
    "Trường",
    "Việt",
    "Đạt",
    "Hiếu",
    "Kiên",
    "Lực",
    "Mạnh",
    "Nghĩa",
]
GIVEN_F = [
    "Hoa",
    "Lan",
    "Hương",
    "Mai",
    "Thảo",
    "Nhung",
    "Huyền",
    "Ngọc",
    "Duyên",
    "Thu",
    "Hạnh",
    "Liên",
    "Phương",
    "Trang",
    "Yến",
    "Vân",
    "Điệp",
    "Hằng",
    "Loan",
    "Nguyệt",
    "Thúy",
    "Xuân",
]
OCCUPATIONS = [
    "May công nghiệp",
    "Kỹ thuật chăn nuôi",
    "Trồng trọt",
    "Sửa chữa xe máy",
    "Điện dân dụng",
    "Nấu ăn",
    "Tin học văn phòng",
    "Mộc dân dụng",
    "Trồng và chăm sóc cây thạch đen",
    "Nuôi ong",
    "Lái xe ô tô hạng B2",
    "Hàn điện",
]
EMPLOYERS = [
    "Công ty TNHH Sản xuất giày Sao Vàng",
    "Công ty TNHH Samsung Electronics Việt Nam",
    "Công ty CP May Bắc Giang",
    "Công ty TNHH Foxconn",
    "HTX Nông nghiệp Hòa An",
    "Công ty CP Xi măng Cao Bằng",
    "Khách sạn Max Boutique",
    None,
]
ABROAD = ["JP", "JP", "JP", "KR", "TW", "TW", "DE"]
LOAN_TYPES = [("INDIVIDUAL", 0.62), ("HOUSEHOLD_BUSINESS", 0.3), ("COOPERATIVE", 0.05), ("ENTERPRISE", 0.03)]
SA_CATEGORIES = [
    ("ELDERLY_80PLUS", 0.42, 405_000),
    ("DISABLED_SEVERE", 0.2, 405_000),
    ("DISABLED_VERY_SEVERE", 0.08, 540_000),
    ("ELDERLY_POOR", 0.12, 405_000),
    ("ORPHAN_CHILD", 0.06, 675_000),
    ("POOR_SINGLE_PARENT", 0.06, 270_000),
    ("HIV_POOR", 0.02, 405_000),
    ("OTHER", 0.04, 270_000),
]
CIRCUMSTANCES = [
    ("DISABLED", 0.38),
    ("ORPHAN", 0.22),
    ("POOR_SEVERE", 0.16),
    ("ABANDONED", 0.05),
    ("HIV", 0.02),
    ("CHILD_LABOUR", 0.04),
    ("ABUSED", 0.05),
    ("TRAFFICKED", 0.02),
    ("DRUG_USE", 0.01),
    ("OTHER", 0.05),
]


class Raw(str):
    """A cell written verbatim (CSV and XLSX), whatever the column type."""


def _rng(*parts: Any) -> random.Random:
    return random.Random("|".join(str(p) for p in parts))


def alloc(total: int, weights: list[float]) -> list[int]:
    """Split an integer total by weights, largest remainder, ties by position."""
    s = sum(weights)
    if total <= 0 or s <= 0:
        return [0] * len(weights)
    raw = [total * w / s for w in weights]
    base = [int(math.floor(r)) for r in raw]
    rem = total - sum(base)
    order = sorted(range(len(weights)), key=lambda i: (-(raw[i] - base[i]), i))
    for i in order[:rem]:
        base[i] += 1
    return base


def fit_to_total(values: list[int], total: int, rng: random.Random, lo: int = 1, hi: int | None = None) -> list[int]:
    """Scale natural values to an exact total (each stays within [lo, hi])."""
    n = len(values)
    if n == 0:
        return []
    s = sum(values) or 1
    out = [max(lo, round(v * total / s)) for v in values]
    if hi is not None:
        out = [min(hi, v) for v in out]
    diff = total - sum(out)
    guard = 0
    while diff != 0:
        i = rng.randrange(n)
        if diff > 0 and (hi is None or out[i] < hi):
            step = min(diff, max(1, diff // n))
            if hi is not None:
                step = min(step, hi - out[i])
            out[i] += step
            diff -= step
        elif diff < 0 and out[i] > lo:
            step = min(-diff, out[i] - lo, max(1, -diff // n))
            out[i] -= step
            diff += step
        guard += 1
        if guard > 50 * n + 100_000:
            raise ValueError(f"cannot fit {n} values to {total} within [{lo}, {hi}]")
    return out


def half_of(period: str) -> str:
    y, m = contract.parse_period(period)
    return f"{y:04d}-H{1 if m <= 6 else 2}"


def half_periods(half: str) -> list[str]:
    return contract.half_year_periods(half)


def ukey(u: contract.AdminUnit) -> str:
    """Internal key of a unit: its code, + 'o' for a unit that merged into a successor
    (old and new 049 share a code)."""
    return u.unit_code + "o" if u.successor_code else u.unit_code


def lineage_of(u: contract.AdminUnit) -> str:
    """A unit and the units merged into it are simulated together (one register). A unit
    that ends without a successor (the districts on 2025-06-30) ends its lineage; the
    communes and wards of the 2025 reform start lineages of their own."""
    return u.successor_code or u.unit_code


def rand_date(rng: random.Random, period: str) -> dt.date:
    y, m = contract.parse_period(period)
    return dt.date(y, m, rng.randint(1, calendar.monthrange(y, m)[1]))


def add_years(d: dt.date, years: int) -> dt.date:
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


def pick(rng: random.Random, weighted: list[tuple]) -> Any:
    r = rng.random() * sum(w[1] for w in weighted)
    for item in weighted:
        r -= item[1]
        if r <= 0:
            return item
    return weighted[-1]


def person(rng: random.Random, min_age: int, max_age: int, on: dt.date, *, cmnd_share: float = 0.12):
    """(citizen_id, full_name, sex, birth_date) of a plausible Cao Bằng resident."""
    sex = "F" if rng.random() < 0.5 else "M"
    fam = rng.choice(FAMILY)
    if sex == "M":
        name = f"{fam} {rng.choice(MID_M)} {rng.choice(GIVEN_M)}"
    else:
        name = f"{fam} {rng.choice(MID_F)} {rng.choice(GIVEN_F)}"
    age_days = rng.randint(min_age * 365 + 1, max_age * 365 + 300)
    birth = on - dt.timedelta(days=age_days)
    return citizen_id(rng, sex, birth, cmnd_share), name, sex, birth


def citizen_id(rng: random.Random, sex: str, birth: dt.date, cmnd_share: float = 0.12) -> str:
    if birth.year < 1995 and rng.random() < cmnd_share:
        return f"08{rng.randrange(10**7):07d}"  # old CMND issued in Cao Bằng
    century = 0 if birth.year < 2000 else 2
    return f"004{century + (sex == 'F')}{birth.year % 100:02d}{rng.randrange(10**6):06d}"


def child(rng: random.Random, on: dt.date, min_age: int = 1, max_age: int = 14):
    sex = "F" if rng.random() < 0.5 else "M"
    birth = on - dt.timedelta(days=rng.randint(min_age * 365 + 1, max_age * 365 + 200))
    return sex, birth


# ------------------------------------------------------------------ rendering


@dataclass
class Style:
    xlsx: bool = False
    bom: bool = False
    crlf: bool = False
    nfd: bool = False
    header_messy: bool = False
    shuffle: bool = False
    extra: bool = False
    multiline: bool = False
    dmy: bool = False
    thousands: bool = False
    sex_vi: bool = False
    bool: str = "true/false"
    codes_messy: bool = False
    drop_column: str | None = None
    seed: str = ""

    def tags(self) -> list[str]:
        out = []
        for k in (
            "xlsx",
            "bom",
            "crlf",
            "nfd",
            "header_messy",
            "shuffle",
            "extra",
            "multiline",
            "dmy",
            "thousands",
            "sex_vi",
            "codes_messy",
        ):
            if getattr(self, k):
                out.append(k)
        if self.bool != "true/false":
            out.append("bool:" + self.bool)
        if self.drop_column:
            out.append("missing_column:" + self.drop_column)
        return out

    @property
    def plain_content(self) -> bool:
        return not (
            self.shuffle
            or self.extra
            or self.multiline
            or self.dmy
            or self.thousands
            or self.sex_vi
            or self.codes_messy
            or self.bool != "true/false"
            or self.drop_column
            or self.xlsx
        )


BOOL_STYLES = {
    "true/false": ("true", "false"),
    "1/0": ("1", "0"),
    "có/không": ("có", "không"),
    "TRUE/FALSE": ("TRUE", "FALSE"),
    "Có/Không": ("Có", "Không"),
}


def choose_style(seed: int, unit: str, period: str, ds: str, version: int, n_rows: int) -> Style:
    r = _rng(seed, "style", unit, period, ds, version)
    st = Style(seed=f"{seed}|{unit}|{period}|{ds}|{version}")
    st.xlsx = r.random() < 0.1 and n_rows <= XLSX_MAX_ROWS
    st.bom = r.random() < 0.25
    st.crlf = r.random() < 0.35
    st.nfd = r.random() < 0.1
    st.header_messy = r.random() < 0.15
    st.shuffle = r.random() < 0.15
    st.extra = r.random() < 0.1
    st.multiline = r.random() < 0.08
    st.dmy = r.random() < 0.25
    st.thousands = r.random() < 0.2
    st.sex_vi = r.random() < 0.25
    st.bool = r.choice(["true/false", "true/false", "1/0", "có/không", "TRUE/FALSE", "Có/Không"])
    st.codes_messy = r.random() < 0.12
    if ds in ("social_allowance_register", "child_protection_register") and r.random() < 0.5:
        # registers are the big files: half of them plain (their lines are cached)
        st.shuffle = st.extra = st.multiline = st.dmy = st.thousands = st.sex_vi = st.codes_messy = False
        st.bool = "true/false"
    for k, v in FORCED_STYLES.get((unit, period, ds), {}).items():
        setattr(st, k, v)
    st.xlsx = st.xlsx and n_rows <= XLSX_MAX_ROWS
    if st.xlsx:
        st.bom = st.crlf = False
    return st


def _q(v: str) -> str:
    if any(c in v for c in ',"\r\n') or v[:1].isspace() or v[-1:].isspace():
        return '"' + v.replace('"', '""') + '"'
    return v


def _thousands(n: int) -> str:
    s = str(abs(n))
    parts = []
    while len(s) > 3:
        parts.insert(0, s[-3:])
        s = s[:-3]
    parts.insert(0, s)
    return ("-" if n < 0 else "") + ".".join(parts)


class Renderer:
    def __init__(self, ds: contract.Dataset, style: Style):
        self.ds = ds
        self.style = style
        r = random.Random(style.seed + "|render")
        cols = [c for c in ds.columns if c.name != style.drop_column]
        names = [c.name for c in cols]
        if style.extra:
            names.append("ghi_chu")
        if style.shuffle:
            r.shuffle(names)
        self.names = names
        self.types = {c.name: c.type for c in ds.columns}
        self.types["ghi_chu"] = "text"
        if style.header_messy:
            self.header = [r.choice([n.upper(), n.title(), f" {n} ", n.capitalize(), n]) for n in names]
        else:
            self.header = list(names)
        self.sex_map = {"M": r.choice(["Nam", "nam", "NAM"]), "F": r.choice(["Nữ", "nữ", "NỮ"])}
        self.bools = BOOL_STYLES[style.bool]
        self.r = r

    def cell_text(self, name: str, v: Any) -> str:
        if v is None:
            return ""
        if isinstance(v, Raw):
            return str(v)
        t = self.types[name]
        st = self.style
        if t == "date":
            return v.strftime("%d/%m/%Y") if st.dmy else v.isoformat()
        if t == "integer":
            return _thousands(v) if st.thousands and abs(v) >= 1000 else str(v)
        if t == "boolean":
            return self.bools[0] if v else self.bools[1]
        if t == "sex":
            return self.sex_map[v] if st.sex_vi else v
        if t == "code":
            return f" {v.lower()} " if st.codes_messy and self.r.random() < 0.5 else v
        return str(v)

    def cell_xlsx(self, name: str, v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, Raw):
            return str(v)
        t = self.types[name]
        if t == "date":
            return v  # real date cell
        if t in ("integer", "boolean"):
            return v
        if t == "citizen_id":
            return int(v) if v.startswith("0") and v.isdigit() else v
        if t == "sex":
            return self.sex_map[v] if self.style.sex_vi else v
        if t == "code":
            return f" {v.lower()} " if self.style.codes_messy and self.r.random() < 0.5 else v
        return unicodedata.normalize("NFD", v) if self.style.nfd and isinstance(v, str) else v

    def _prepare(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        rid = self.ds.record_id
        if self.style.extra:
            notes = ["", "", "", "đã xác minh", "bổ sung hồ sơ", "theo QĐ của UBND huyện"]
            rows = [
                dict(row, ghi_chu=row.get("ghi_chu", notes[zlib.crc32(str(row.get(rid)).encode()) % 6])) for row in rows
            ]
        ids = {}
        for row in rows:
            ids[row.get(rid)] = ids.get(row.get(rid), 0) + 1
        unique = [i for i, row in enumerate(rows) if ids[row.get(rid)] == 1]
        if self.style.multiline and unique:
            free = [c for c in ("employer_name", "occupation", "ghi_chu") if c in self.names]
            i = self.r.choice(unique)
            row = dict(rows[i])
            if free:
                row[free[0]] = (
                    "Công ty TNHH May mặc\nchi nhánh Cao Bằng"
                    if free[0] == "employer_name"
                    else (
                        "Kỹ thuật chăn nuôi\n(lớp ghép)" if free[0] == "occupation" else "ghi chú:\nđã xác minh tại xã"
                    )
                )
                rows = rows[:i] + [row] + rows[i + 1 :]
        return rows

    def _converters(self):
        out = []
        st = self.style
        for n in self.names:
            t = self.types[n]
            if t == "date":
                f = (lambda v: v.strftime("%d/%m/%Y")) if st.dmy else dt.date.isoformat
            elif t == "integer":
                f = (lambda v: _thousands(v) if abs(v) >= 1000 else str(v)) if st.thousands else str
            elif t == "boolean":

                def f(v, _b=self.bools):
                    return _b[0] if v else _b[1]

            elif t == "sex":
                f = self.sex_map.__getitem__ if st.sex_vi else str
            elif t == "code" and st.codes_messy:

                def f(v, _r=self.r):
                    return f" {v.lower()} " if _r.random() < 0.5 else v

            else:
                f = str
            out.append((n, f))
        return out

    def csv(self, rows: list[dict[str, Any]], cached_lines: list[str] | None = None) -> bytes:
        """CSV bytes; `cached_lines` are already-rendered lines (plain content only) placed first."""
        nl = "\r\n" if self.style.crlf else "\n"
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator=nl)
        w.writerow(self.header)
        if cached_lines:
            buf.write(nl.join(cached_lines))
            buf.write(nl)
        convs = self._converters()
        w.writerows(
            [
                ["" if v is None else str(v) if v.__class__ is Raw else f(v) for n, f in convs for v in (row.get(n),)]
                for row in self._prepare(rows)
            ]
        )
        text = buf.getvalue()
        if self.style.nfd:
            text = unicodedata.normalize("NFD", text)
        if self.style.bom:
            text = "\ufeff" + text
        return text.encode("utf-8")

    def plain_line(self, row: dict[str, Any]) -> str:
        return ",".join(_q(self.cell_text(n, row.get(n))) for n in self.names)

    def plain_lines(self, rows: list[dict[str, Any]]) -> list[str]:
        return [",".join(_q(self.cell_text(n, row.get(n))) for n in self.names) for row in rows]

    def xlsx(self, rows: list[dict[str, Any]]) -> bytes:
        import openpyxl

        wb = openpyxl.Workbook(write_only=True)
        ws = wb.create_sheet(self.ds.name[:31])
        ws.append(self.header)
        for row in self._prepare(rows):
            ws.append([self.cell_xlsx(n, row.get(n)) for n in self.names])
        buf = io.BytesIO()
        wb.save(buf)
        return deterministic_zip(buf.getvalue())


_CORE_DATE = re.compile(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*(</dcterms:)")


def deterministic_zip(data: bytes) -> bytes:
    """Re-pack an XLSX with fixed timestamps so the same content gives the same bytes."""
    zin = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            content = zin.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = _CORE_DATE.sub(rb"\g<1>2021-01-01T00:00:00Z\g<2>", content)
            zi = zipfile.ZipInfo(info.filename, date_time=(2021, 1, 1, 0, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = 0o644 << 16
            zout.writestr(zi, content)
    return out.getvalue()


# ------------------------------------------------------------------ the generator


@dataclass
class _Register:
    """One unit's register state: id -> row dict (insertion order is file order)."""

    active: dict[str, dict[str, Any]] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)  # plain rendered ACTIVE line per id


class Generator:
    def __init__(
        self,
        store: HubStore,
        seed: int,
        scale: float,
        first: str,
        last: str,
        anomalies: bool = False,
        *,
        registers: float = 1.0,
        omit_empty: bool = False,
    ):
        contract.parse_period(first)
        contract.parse_period(last)
        if first > last:
            raise ValueError(f"first {first} is after last {last}")
        self.store = store
        self.seed = seed
        self.scale = float(scale)
        # the store's shape (issue 34): `registers` multiplies the two registers (social allowance,
        # child protection: the heaviest files, one full snapshot a month); `omit_empty` leaves out
        # every file of a dataset without records (by default half of them are sent empty)
        self.registers = float(registers)
        self.omit_empty = bool(omit_empty)
        self.first = first
        self.last = last
        # registers are simulated from the epoch; a range after the 2021-H1 calibration starts
        # its own registers at `first` (then only the range itself is simulated)
        self.epoch = first if first > CALIBRATION_LAST else min(first, EPOCH)
        self.sim_periods = contract.period_range(
            self.epoch, max(last, CALIBRATION_LAST) if self.epoch <= CALIBRATION_LAST else last
        )
        self.write_periods = set(contract.period_range(first, last))
        self._plans: dict[tuple[str, str], dict[tuple[str, str], int]] = {}
        self._unit_amounts: dict[tuple[str, str], dict[str, int]] = {}
        self._rice_alloc: dict[str, tuple[dict[str, int], dict[str, int]]] = {}
        self.manifest: dict[str, Any] = {
            "generator": "dolisa_demo.hub.generator",
            "seed": seed,
            "scale": self.scale,
            "first": first,
            "last": last,
            "defects": [],
            "file_defects": [],
            "revisions": [],
            "late": [],
            "variants": {},
            "province_targets": {},
        }
        if self.registers != 1.0 or self.omit_empty:  # the default shape's manifest stays as it was
            self.manifest["shape"] = {"registers": self.registers, "omit_empty": self.omit_empty}
        self._counters: dict[tuple[str, str], int] = {}
        self._stock: dict[tuple[str, str], tuple[int, int, int]] = {}
        self._defects = {}
        for unit, period, ds, kind in DEFECT_PLAN:
            self._defects.setdefault((unit, period, ds), []).append(kind)
        self._anomalies: dict[tuple[str, str], list[tuple[str, str]]] = {}
        if anomalies:
            self.manifest["anomalies"] = []
            for unit, period, ds, kind in ANOMALY_PLAN:
                self._anomalies.setdefault((unit, period), []).append((ds, kind))

    # ---- units and weights
    def units_in(self, period: str) -> list[contract.AdminUnit]:
        return sorted(contract.reporting_units(period), key=ukey)

    def base_weight(self, key: str, period: str) -> float:
        if any(ukey(u).endswith("o") for u in contract.reporting_units(period)):
            return W_2020_01.get(key, W_CURRENT.get(key, 0.5))
        return W_CURRENT.get(key, 0.5)

    def _next_id(self, lineage: str, kind: str) -> int:
        k = (lineage, kind)
        self._counters[k] = self._counters.get(k, 0) + 1
        return self._counters[k]

    # ---- plans
    def half_total(self, q: str, half: str) -> int:
        ref, _, _, h2 = QUANTITIES[q]
        if half == "2021-H1":
            base = ref
        elif q == "voc_socap" and half == "2020-H1":
            base = SOCAP_2020H1
        else:
            r = _rng(self.seed, "half", q, half)
            f = HALF_FACTOR.get(half, 1.0) * r.uniform(0.93, 1.07)
            if half.endswith("H2"):
                f *= h2
            base = ref * f
        return int(round(base * self.scale))

    def plan(self, q: str, half: str) -> dict[tuple[str, str], int]:
        """(unit key, period) -> count of quantity `q` in that unit-month."""
        if (q, half) in self._plans:
            return self._plans[(q, half)]
        _, s1, s2, _ = QUANTITIES[q]
        season = s1 if half.endswith("H1") else s2
        periods = half_periods(half)
        r = _rng(self.seed, "plan", q, half)
        keys = sorted({ukey(u) for p in periods for u in self.units_in(p)})
        unoise = {k: r.lognormvariate(0, 0.35) for k in keys}
        mw = [season[i] * r.uniform(0.85, 1.15) for i in range(6)]
        per_month = alloc(self.half_total(q, half), mw)
        out: dict[tuple[str, str], int] = {}
        for p, n in zip(periods, per_month, strict=False):
            units = [ukey(u) for u in self.units_in(p)]
            w = []
            for k in units:
                wk = self.base_weight(k, p) * unoise[k] * r.uniform(0.8, 1.2)
                if q in ("sa_join", "cr_new") and k.endswith("o"):
                    wk = 0.0  # dissolving units approve nobody new in their last month
                w.append(wk)
            for k, c in zip(units, alloc(n, w), strict=False):
                out[(k, p)] = c
        self._plans[(q, half)] = out
        return out

    def count(self, q: str, key: str, period: str) -> int:
        return self.plan(q, half_of(period)).get((key, period), 0)

    def unit_count_half(self, q: str, key: str, half: str) -> int:
        return sum(c for (k, _), c in self.plan(q, half).items() if k == key)

    def amount_total(self, q: str, half: str) -> int:
        ref, step = AMOUNTS[q]
        n = sum(self.plan(q, half).values())
        if half == "2021-H1":
            return int(round(ref * self.scale / step)) * step
        avg = ref / QUANTITIES[q][0] * _rng(self.seed, "amount", q, half).uniform(0.9, 1.0)
        return int(round(n * avg / step)) * step

    def unit_amount(self, q: str, key: str, half: str) -> int:
        if (q, half) not in self._unit_amounts:
            _, step = AMOUNTS[q]
            plan = self.plan(q, half)
            keys = sorted({k for k, _ in plan})
            w = [sum(c for (k2, _), c in plan.items() if k2 == k) for k in keys]
            parts = alloc(self.amount_total(q, half) // step, w)
            self._unit_amounts[(q, half)] = {k: v * step for k, v in zip(keys, parts, strict=False)}
        return self._unit_amounts[(q, half)].get(key, 0)

    def row_amounts(self, q: str, key: str, half: str, n_rows: int, natural: tuple[float, float]) -> list[int]:
        """Amounts of a unit's `n_rows` rows of the half, summing exactly to its share."""
        _, step = AMOUNTS[q]
        total = self.unit_amount(q, key, half) // step
        if n_rows == 0:
            return []
        r = _rng(self.seed, "rowamt", q, key, half)
        lo, hi = natural
        nat = [max(1, round(r.uniform(lo, hi) / step)) for _ in range(n_rows)]
        return [v * step for v in fit_to_total(nat, total, r, lo=1)]

    def rice_totals(self, half: str) -> tuple[dict[str, int], dict[str, int]]:
        """(persons, kg) per unit key for the half."""
        if half not in self._rice_alloc:
            plan = self.plan("rice_hh", half)
            keys = sorted({k for k, _ in plan})
            hh = [sum(c for (k2, _), c in plan.items() if k2 == k) for k in keys]
            if half == "2021-H1":
                persons_total = int(round(RICE_PERSONS_2021H1 * self.scale))
                kg_total = int(round(RICE_KG_2021H1 * self.scale / 5)) * 5
            else:
                r = _rng(self.seed, "rice", half)
                persons_total = int(round(sum(hh) * r.uniform(4.0, 4.3)))
                kg_total = int(round(persons_total * 15 * r.uniform(0.97, 1.03) / 5)) * 5
            persons = alloc(persons_total, hh)
            kg = [v * 5 for v in alloc(kg_total // 5, persons)]
            self._rice_alloc[half] = (dict(zip(keys, persons, strict=False)), dict(zip(keys, kg, strict=False)))
        return self._rice_alloc[half]

    # ---- the run
    def run(self) -> HubStore:
        lineages = sorted({lineage_of(u) for p in self.sim_periods for u in self.units_in(p)})
        for lin in lineages:
            self.run_lineage(lin)
        self.store.save()
        self.write_targets()
        (self.store.root / "demo_manifest.json").write_text(
            json.dumps(self.manifest, ensure_ascii=False, indent=1, sort_keys=True) + "\n", encoding="utf-8"
        )
        return self.store

    def run_lineage(self, lin: str) -> None:
        sa: dict[str, _Register] = {}
        cr: dict[str, _Register] = {}
        half_plans: dict[tuple[str, str], dict[str, Any]] = {}
        for period in self.sim_periods:
            units = [u for u in self.units_in(period) if lineage_of(u) == lin]
            keys = {ukey(u) for u in units}
            # merge registers of units that ceased to exist into the successor
            for reg in (sa, cr):
                for k in sorted(reg):
                    if k not in keys and k != lin:
                        target = reg.setdefault(lin, _Register())
                        target.active.update(reg[k].active)
                        target.lines.update(reg[k].lines)
                        del reg[k]
            for u in units:
                key = ukey(u)
                # a unit starts with a register at the epoch, or when it starts a lineage of its
                # own (the communes of 2025-07: the districts' registers ended with them)
                starts = period == self.epoch or (
                    period == self.first_period_of(u) and key == lin and not self.predecessors(u)
                )
                if key not in sa:
                    sa[key] = self.initial_allowance(u, period) if starts else _Register()
                if key not in cr:
                    cr[key] = self.initial_children(u, period) if starts else _Register()
                half = half_of(period)
                if (key, half) not in half_plans:
                    half_plans = {hk: v for hk, v in half_plans.items() if hk[1] == half}
                    half_plans[(key, half)] = self.unit_half_plan(u, half)
                self.unit_month(u, period, sa[key], cr[key], half_plans[(key, half)])

    def first_period_of(self, u: contract.AdminUnit) -> str:
        return f"{u.valid_from.year:04d}-{u.valid_from.month:02d}"

    @staticmethod
    def predecessors(u: contract.AdminUnit) -> list[contract.AdminUnit]:
        return [x for x in contract.admin_units() if x.successor_code == u.unit_code and x is not u]

    # ---- registers
    def initial_allowance(self, u: contract.AdminUnit, period: str) -> _Register:
        total = int(round(ALLOWANCE_ACTIVE_2021_06 * self.scale * self.registers))
        upto = [p for p in self.sim_periods if period <= p <= CALIBRATION_LAST]
        total -= sum(self.count("sa_join", ukey(x), p) for p in upto for x in self.units_in(p))
        total += sum(self.count("sa_stop", ukey(x), p) for p in upto for x in self.units_in(p))
        units = self.units_in(period)
        r0 = _rng(self.seed, "sa0", period)
        w = [self.base_weight(ukey(x), period) * r0.uniform(0.85, 1.15) for x in units]
        n = dict(zip([ukey(x) for x in units], alloc(total, w), strict=False))[ukey(u)]
        reg = _Register()
        r = _rng(self.seed, "sa0", ukey(u))
        on = contract.month_start(period)
        for _ in range(n):
            self.add_beneficiary(reg, u, r, on, approved=None)
        return reg

    def add_beneficiary(
        self, reg: _Register, u: contract.AdminUnit, r: random.Random, on: dt.date, approved: dt.date | None
    ) -> None:
        cat, _, amount = pick(r, SA_CATEGORIES)
        ages = {"ELDERLY_80PLUS": (80, 98), "ORPHAN_CHILD": (1, 15), "ELDERLY_POOR": (60, 79)}.get(cat, (18, 75))
        cid, name, sex, birth = person(r, ages[0], ages[1], on, cmnd_share=0.3)
        if approved is None:
            approved = on - dt.timedelta(days=r.randint(40, 12 * 365))
        bid = f"{u.unit_code}-BTXH-{self._next_id(lineage_of(u), 'sa'):06d}"
        reg.active[bid] = {
            "beneficiary_id": bid,
            "citizen_id": cid,
            "full_name": name,
            "sex": sex,
            "birth_date": birth,
            "category": cat,
            "monthly_amount_vnd": amount,
            "approved_on": approved,
            "status": "ACTIVE",
            "stopped_on": None,
        }

    def initial_children(self, u: contract.AdminUnit, period: str) -> _Register:
        units = self.units_in(period)
        r0 = _rng(self.seed, "cr0", period)
        w = [self.base_weight(ukey(x), period) * r0.uniform(0.8, 1.2) for x in units]
        n = dict(
            zip(
                [ukey(x) for x in units],
                alloc(int(round(CHILD_REGISTER_2020_01 * self.scale * self.registers)), w),
                strict=False,
            )
        )[ukey(u)]
        reg = _Register()
        r = _rng(self.seed, "cr0", ukey(u))
        on = contract.month_start(period)
        for _ in range(n):
            self.add_child(reg, u, r, on, identified=on - dt.timedelta(days=r.randint(30, 6 * 365)))
        return reg

    def add_child(
        self, reg: _Register, u: contract.AdminUnit, r: random.Random, on: dt.date, identified: dt.date
    ) -> None:
        sex, birth = child(r, on, 0, 15)
        if birth > identified:
            identified = birth + dt.timedelta(days=r.randint(1, 60))
            identified = min(identified, on)
        circ = pick(r, CIRCUMSTANCES)[0]
        cid = f"{u.unit_code}-TE-{self._next_id(lineage_of(u), 'cr'):05d}"
        reg.active[cid] = {
            "child_id": cid,
            "sex": sex,
            "birth_date": birth,
            "circumstance": circ,
            "identified_on": identified,
            "is_receiving_support": r.random() > 0.038,
            "status": "ACTIVE",
        }

    # ---- per unit-half plans (rice, TET gifts, children, amounts)
    def unit_half_plan(self, u: contract.AdminUnit, half: str) -> dict[str, Any]:
        key = ukey(u)
        periods = [p for p in half_periods(half) if u.valid_in(p)]
        r = _rng(self.seed, "uhp", key, half)
        plan: dict[str, Any] = {"periods": periods}
        # amounts per row, consumed month by month
        for q, nat in (
            ("ui", (6_000_000, 20_000_000)),
            ("funeral", (5_400_000, 5_400_000)),
            ("emergency", (10_000_000, 40_000_000)),
            ("ch_scholar", (500_000, 1_000_000)),
            ("ch_emerg", (2_000_000, 4_000_000)),
        ):
            n = self.unit_count_half(q, key, half)
            plan[q] = self.row_amounts(q, key, half, n, nat)
        # TET gifts: distinct persons + a few second gifts
        n_tet = {p: self.count("tet", key, p) for p in periods}
        seconds = {p: int(round(n * 0.03 * r.uniform(0.5, 1.5))) for p, n in n_tet.items()}
        plan["tet_seconds"] = seconds
        plan["tet"] = self.row_amounts(
            "tet", key, half, sum(n_tet.values()) + sum(seconds.values()), (200_000, 500_000)
        )
        # children support events with distinct children and repeats
        ev: dict[str, dict[str, list]] = {p: {} for p in periods}
        half_start = contract.month_start(half_periods(half)[0])
        for q, support, rep in (
            ("ch_screen", "DISABILITY_SCREENING", 0.05),
            ("ch_surgery", "SURGERY_REFERRAL", 0.0),
            ("ch_milk", "MILK_FUND", 0.5),
            ("ch_emerg", "EMERGENCY_SUPPORT", 0.0),
            ("ch_scholar", "SCHOLARSHIP", 0.0),
        ):
            for i, p in enumerate(periods):
                for _ in range(self.count(q, key, p)):
                    sex, birth = child(r, half_start, 1, 14)
                    c = (f"{u.unit_code}-TS-{self._next_id(lineage_of(u), 'ts'):05d}", sex, birth)
                    ev[p].setdefault(support, []).append(c)
                    reps = 0
                    for p2 in periods[i + 1 :]:
                        if reps < 2 and r.random() < rep:
                            ev[p2].setdefault(support, []).append(c)
                            reps += 1
        plan["child_events"] = ev
        plan["rice"] = self.rice_plan(u, half, periods, r)
        plan["offsets"] = {}
        return plan

    def rice_plan(self, u: contract.AdminUnit, half: str, periods: list[str], r: random.Random) -> dict[str, list]:
        key = ukey(u)
        persons, kg = self.rice_totals(half)
        by_month = {p: self.count("rice_hh", key, p) for p in periods}
        n_hh = sum(by_month.values())
        out: dict[str, list] = {p: [] for p in periods}
        if n_hh == 0:
            return out
        sizes = [
            pick(r, [(1, 6), (2, 12), (3, 18), (4, 22), (5, 18), (6, 12), (7, 7), (8, 3), (9, 2)])[0]
            for _ in range(n_hh)
        ]
        sizes = fit_to_total(sizes, persons[key], r, lo=1, hi=14)
        pool = max(int(n_hh * 1.4) + 10, 50)
        ids = sorted(r.sample(range(1, pool + 1), n_hh))
        r.shuffle(ids)
        h1 = half.endswith("H1")
        months = [int(p[5:]) for p in periods]
        tet_months = [p for p, m in zip(periods, months, strict=False) if h1 and m in (1, 2)]
        allocs = []  # (period, household_id, size, occasion, date)
        i = 0
        ties = 0
        for p in periods:
            occ = "TET" if p in tet_months else "PRE_HARVEST"
            for _ in range(by_month[p]):
                # units that ceased to exist get their own id range: old and new 049 share a code
                hid = f"{u.unit_code}-HGD-{'C' if key.endswith('o') else ''}{ids[i]:05d}"
                size = sizes[i]
                i += 1
                d = rand_date(r, p)
                allocs.append((p, hid, size, occ, d))
                earlier = [t for t in tet_months if t < p]
                if occ == "PRE_HARVEST" and earlier and r.random() < 0.25:
                    other = max(1, size + r.choice((-1, 1, 1, 2)))
                    if other == size:
                        other = size + 1
                    t = r.choice(earlier)
                    allocs.append((t, hid, other, "TET", rand_date(r, t)))
                elif ties < 2 and size >= 2 and n_hh >= 40 and r.random() < 0.02:
                    allocs.append((p, hid, size - 1, occ, d))  # same day, smaller size: the larger counts
                    ties += 1
        units5 = fit_to_total([3 * a[2] for a in allocs], kg[key] // 5, r, lo=1)
        for a, k5 in zip(allocs, units5, strict=False):
            out[a[0]].append(
                {
                    "household_id": a[1],
                    "household_size": a[2],
                    "rice_kg": k5 * 5,
                    "distributed_on": a[4],
                    "occasion": a[3],
                }
            )
        for p in periods:
            out[p].sort(key=lambda x: (x["distributed_on"], x["household_id"]))
        return out

    def _take(self, plan: dict[str, Any], q: str, n: int) -> list[int]:
        off = plan["offsets"].get(q, 0)
        plan["offsets"][q] = off + n
        return plan[q][off : off + n]

    # ---- one unit-month
    def unit_month(
        self, u: contract.AdminUnit, period: str, sa: _Register, cr: _Register, plan: dict[str, Any]
    ) -> None:
        key = ukey(u)
        code = u.unit_code
        r = _rng(self.seed, "um", key, period)
        rows: dict[str, list[dict[str, Any]]] = {}
        ym = period.replace("-", "")[2:]
        mstart, mend = contract.month_start(period), contract.month_end(period)

        def rid(tag: str, i: int) -> str:
            return f"{code}-{ym}-{tag}{i:05d}"

        # vocational enrolments
        voc = []
        for q, level in (
            ("voc_socap", "SO_CAP"),
            ("voc_trungcap", "TRUNG_CAP"),
            ("voc_caodang", "CAO_DANG"),
            ("voc_duoi3", "DUOI_3_THANG"),
        ):
            voc += [level] * self.count(q, key, period)
        r.shuffle(voc)
        out = []
        for i, level in enumerate(voc, 1):
            cid, name, sex, birth = person(r, 15, 45, mstart)
            out.append(
                {
                    "enrolment_id": rid("TS", i),
                    "citizen_id": cid,
                    "full_name": name,
                    "sex": sex,
                    "birth_date": birth,
                    "training_level": level,
                    "occupation": r.choice(OCCUPATIONS) if r.random() < 0.85 else None,
                    "institution_code": r.choice(["CB-TCN01", "CB-CDN01", "CB-GDNN-" + code, None]),
                    "enrolled_on": rand_date(r, period),
                    "is_rural_worker": (r.random() < 0.8) if r.random() < 0.9 else None,
                }
            )
        rows["vocational_enrolments"] = out
        # job placements
        dests = ["DOMESTIC"] * self.count("job_dom", key, period) + ["ABROAD"] * self.count("job_abr", key, period)
        r.shuffle(dests)
        out = []
        for i, d in enumerate(dests, 1):
            cid, name, sex, birth = person(r, 18, 40, mstart)
            out.append(
                {
                    "placement_id": rid("VL", i),
                    "citizen_id": cid,
                    "full_name": name,
                    "sex": sex,
                    "birth_date": birth,
                    "placed_on": rand_date(r, period),
                    "destination": d,
                    "employer_name": r.choice(EMPLOYERS),
                    "country_code": r.choice(ABROAD) if d == "ABROAD" else None,
                }
            )
        rows["job_placements"] = out
        # overseas departures
        out = []
        for i in range(1, self.count("overseas", key, period) + 1):
            cid, name, sex, birth = person(r, 18, 35, mstart)
            out.append(
                {
                    "departure_id": rid("XK", i),
                    "citizen_id": cid,
                    "full_name": name,
                    "sex": sex,
                    "birth_date": birth,
                    "departed_on": rand_date(r, period),
                    "country_code": r.choice(ABROAD),
                    "contract_months": r.choice([12, 24, 36, 36, 36, 60]),
                }
            )
        rows["overseas_departures"] = out
        # employment fund loans
        jobs = self.count("fund_jobs", key, period)
        out = []
        i = 0
        while jobs > 0:
            btype = pick(r, LOAN_TYPES)[0]
            j = {
                "INDIVIDUAL": 1,
                "HOUSEHOLD_BUSINESS": r.randint(2, 5),
                "COOPERATIVE": r.randint(5, 15),
                "ENTERPRISE": r.randint(8, 25),
            }[btype]
            j = min(j, jobs)
            jobs -= j
            i += 1
            cid = person(r, 22, 60, mstart)[0]
            amount = (
                min(100_000_000 * j, j * r.randint(40, 100) * 1_000_000)
                if btype == "INDIVIDUAL"
                else j * r.randint(50, 100) * 1_000_000
            )
            out.append(
                {
                    "loan_id": rid("QVL", i),
                    "borrower_citizen_id": cid,
                    "borrower_type": btype,
                    "disbursed_on": rand_date(r, period),
                    "amount_vnd": amount,
                    "jobs_created": j,
                }
            )
        rows["employment_fund_loans"] = out
        # unemployment benefit decisions
        n = self.count("ui", key, period)
        out = []
        for i, amt in enumerate(self._take(plan, "ui", n), 1):
            cid, name, sex, _ = person(r, 22, 55, mstart)
            out.append(
                {
                    "decision_id": rid("TCTN", i),
                    "citizen_id": cid,
                    "full_name": name,
                    "sex": sex,
                    "decided_on": rand_date(r, period),
                    "benefit_months": min(12, max(1, round(amt / 3_500_000))),
                    "total_amount_vnd": amt,
                }
            )
        rows["unemployment_benefit_decisions"] = out
        # social assistance payments
        out = []
        pays = (
            [("FUNERAL", a) for a in self._take(plan, "funeral", self.count("funeral", key, period))]
            + [("EMERGENCY", a) for a in self._take(plan, "emergency", self.count("emergency", key, period))]
            + [("CENTENARIAN_GIFT", 500_000)] * self.count("centenarian", key, period)
        )
        r.shuffle(pays)
        for i, (kind, amt) in enumerate(pays, 1):
            if kind == "CENTENARIAN_GIFT":
                sex = r.choice("MF")
                birth = dt.date(mstart.year - 100, mstart.month, r.randint(1, 28))
                cid = citizen_id(r, sex, birth, 0)
            else:
                cid = person(r, 20 if kind == "EMERGENCY" else 60, 95, mstart)[0]
            out.append(
                {
                    "payment_id": rid("TGXH", i),
                    "citizen_id": cid,
                    "kind": kind,
                    "paid_on": rand_date(r, period),
                    "amount_vnd": amt,
                }
            )
        rows["social_assistance_payments"] = out
        # rice relief
        out = []
        for i, a in enumerate(plan["rice"].get(period, []), 1):
            out.append({"allocation_id": rid("G", i), **a})
        rows["rice_relief"] = out
        # meritorious benefits
        mer = []
        for q, b, nat in (
            ("mer_onetime", "ONE_TIME_ALLOWANCE", (1_500_000, 25_000_000)),
            ("mer_monthly", "MONTHLY_ALLOWANCE", (1_600_000, 5_000_000)),
            ("mer_conv_c", "CONVALESCENCE_CENTRAL", (2_280_000, 2_280_000)),
            ("mer_conv_h", "CONVALESCENCE_HOME", (1_140_000, 1_140_000)),
        ):
            for _ in range(self.count(q, key, period)):
                mer.append((b, int(round(r.uniform(*nat) / 1000)) * 1000, None))
        n_tet = self.count("tet", key, period)
        n_sec = plan["tet_seconds"].get(period, 0)
        tet_amounts = self._take(plan, "tet", n_tet + n_sec)
        used = plan.setdefault("tet_ids", set())
        tet_people = []
        for j in range(n_tet):
            while True:
                p = person(r, 50, 95, mstart, cmnd_share=0.25)
                if p[0] not in used:
                    break
            used.add(p[0])
            tet_people.append(p)
            mer.append(("TET_GIFT", tet_amounts[j], p))
        for j in range(n_sec):
            mer.append(("TET_GIFT", tet_amounts[n_tet + j], r.choice(tet_people)))
        r.shuffle(mer)
        out = []
        for i, (b, amt, p) in enumerate(mer, 1):
            cid, name = (p[0], p[1]) if p else person(r, 45, 95, mstart, cmnd_share=0.25)[:2]
            out.append(
                {
                    "case_id": rid("NCC", i),
                    "citizen_id": cid,
                    "full_name": name,
                    "benefit": b,
                    "decided_on": rand_date(r, period),
                    "amount_vnd": amt,
                }
            )
        rows["meritorious_benefits"] = out
        # child support events
        ev = plan["child_events"].get(period, {})
        amounts = {
            "SCHOLARSHIP": self._take(plan, "ch_scholar", len(ev.get("SCHOLARSHIP", []))),
            "EMERGENCY_SUPPORT": self._take(plan, "ch_emerg", len(ev.get("EMERGENCY_SUPPORT", []))),
        }
        evl = []
        for support in ("DISABILITY_SCREENING", "SURGERY_REFERRAL", "MILK_FUND", "SCHOLARSHIP", "EMERGENCY_SUPPORT"):
            for j, c in enumerate(ev.get(support, [])):
                amt = amounts[support][j] if support in amounts else (0 if support != "MILK_FUND" else 240_000)
                evl.append((support, c, amt))
        r.shuffle(evl)
        rows["child_support_events"] = [
            {
                "event_id": rid("HTTE", i),
                "child_id": c[0],
                "sex": c[1],
                "birth_date": c[2],
                "support": s,
                "event_on": rand_date(r, period),
                "amount_vnd": amt,
            }
            for i, (s, c, amt) in enumerate(evl, 1)
        ]

        # ---- registers: social allowance
        rr = _rng(self.seed, "sa", key, period)
        existing = list(sa.active)
        n_stop = min(self.count("sa_stop", key, period), len(existing))
        stopped = set(rr.sample(existing, n_stop)) if n_stop else set()
        for _ in range(self.count("sa_join", key, period)):
            self.add_beneficiary(sa, u, rr, mend, approved=rand_date(rr, period))
        sa_stopped_rows = []
        for bid in [b for b in existing if b in stopped]:
            row = dict(sa.active[bid], status="STOPPED", stopped_on=rand_date(rr, period))
            sa_stopped_rows.append(row)
        # ---- registers: children
        rc = _rng(self.seed, "cr", key, period)
        nxt_end = contract.month_end(contract.add_months(period, 1))
        aging = [cid for cid, c in cr.active.items() if add_years(c["birth_date"], 16) <= nxt_end]
        aging_set = set(aging)
        others = [cid for cid in cr.active if cid not in aging_set]
        n_close = min(self.count("cr_close", key, period), len(others))
        closing = set(aging) | (set(rc.sample(others, n_close)) if n_close else set())
        for _ in range(self.count("cr_new", key, period)):
            self.add_child(cr, u, rc, mend, identified=rand_date(rc, period))
        cr_rows = [dict(c, status="CLOSED" if cid in closing else "ACTIVE") for cid, c in cr.active.items()]

        if period in self.write_periods:
            self.write_unit_month(u, period, rows, sa, stopped, sa_stopped_rows, cr_rows, r)
        # stock bookkeeping for targets (after the month's snapshot)
        for bid in stopped:
            del sa.active[bid]
            sa.lines.pop(bid, None)
        for cid in closing:
            del cr.active[cid]
        n_active_children = sum(1 for x in cr_rows if x["status"] == "ACTIVE")
        n_supported = sum(1 for x in cr_rows if x["status"] == "ACTIVE" and x["is_receiving_support"])
        self._stock[(key, period)] = (len(sa.active), n_active_children, n_supported)

    # ---- writing files
    def write_unit_month(self, u, period, rows, sa, stopped, sa_stopped_rows, cr_rows, r) -> None:
        code = u.unit_code
        special = SPECIAL_SUBMISSIONS.get((code, period))
        final_version = 2 if special and special["kind"] == "revision" else 1
        defects_here = []
        # defects (extra rows) in the version in force
        for ds in contract.datasets():
            for kind in self._defects.get((code, period, ds), []):
                extra = self.defect_rows(u, period, ds, kind, rows.get(ds) or [], r)
                if not extra:
                    continue
                if ds == "social_allowance_register":
                    sa_stopped_rows = sa_stopped_rows + extra
                elif ds == "child_protection_register":
                    cr_rows = cr_rows + extra
                else:
                    rows[ds] = rows[ds] + extra
                defects_here.append((ds, kind, extra))

        dropped: list[str] = []
        if (code, period) in self._anomalies:
            rows, sa, stopped, sa_stopped_rows, cr_rows, dropped = self.inject_anomalies(
                code, period, rows, sa, stopped, sa_stopped_rows, cr_rows
            )
        files, meta = self.render_all(u, period, final_version, rows, sa, stopped, sa_stopped_rows, cr_rows)
        sid = submission_id(code, period, final_version)
        for ds in dropped:
            files.pop(meta.pop(ds)["name"])
        for ds, kind, extra in defects_here:
            name = meta[ds]["name"]
            self.manifest["defects"].append(
                {
                    "unit_code": code,
                    "period": period,
                    "submission_id": sid,
                    "dataset": ds,
                    "file": name,
                    "kind": kind,
                    "record_ids": sorted({x[contract.dataset(ds).record_id] for x in extra}),
                    "rows": len(extra),
                    "expect": "counts once (identical duplicate)"
                    if kind.startswith("duplicate_identical")
                    else "quarantined",
                }
            )
        due = contract.due_at(period)
        nxt = contract.month_start(contract.add_months(period, 1))

        def at(t):
            return dt.datetime(*t, tzinfo=TZ)

        on_time = dt.datetime(
            nxt.year,
            nxt.month,
            r.choice([1, 2, 3, 3, 4, 4, 5, 5, 5]),
            r.randint(7, 16),
            r.choice([0, 5, 10, 15, 20, 30, 40, 45, 50]),
            r.randint(0, 59),
            tzinfo=TZ,
        )
        if not special and r.random() < 0.03:
            on_time = dt.datetime(nxt.year, nxt.month, r.randint(7, 25), r.randint(7, 16), r.randint(0, 59), tzinfo=TZ)
            self.manifest["late"].append(
                {
                    "unit_code": code,
                    "period": period,
                    "submission_id": sid,
                    "submitted_at": on_time.isoformat(),
                    "due_at": due.isoformat(),
                }
            )
        if not special:
            self.add(code, period, 1, on_time, files, meta)
            return
        kind = special["kind"]
        entry = {"unit_code": code, "period": period, "kind": kind, "note": special["note"]}
        if kind == "late":
            self.add(code, period, 1, at(special["v1_at"]), files, meta)
            self.manifest["late"].append(
                {
                    "unit_code": code,
                    "period": period,
                    "submission_id": sid,
                    "submitted_at": at(special["v1_at"]).isoformat(),
                    "due_at": due.isoformat(),
                }
            )
        elif kind == "revision":
            wrong = {}
            rw = _rng(self.seed, "wrong", code, period)
            for ds, lst in rows.items():
                keep = [x for x in lst if rw.random() > 0.15] if len(lst) > 1 else lst
                wrong[ds] = keep
            f1, m1 = self.render_all(u, period, 1, wrong, sa, stopped, sa_stopped_rows, cr_rows)
            self.add(code, period, 1, at(special["v1_at"]), f1, m1)
            self.add(code, period, 2, at(special["v2_at"]), files, meta)
            entry.update(
                in_force=submission_id(code, period, 2),
                superseded=[submission_id(code, period, 1)],
                v1_rows={ds: len(v) for ds, v in wrong.items()},
                v2_rows={ds: len(v) for ds, v in rows.items()},
            )
            self.manifest["revisions"].append(entry)
        elif kind == "rejected_missing_column":
            self.add(code, period, 1, at(special["v1_at"]), files, meta)
            ds = "job_placements"
            jp = rows[ds] + self.defect_rows(u, period, ds, "more_placements", [], r)
            st = choose_style(self.seed, code, period, ds, 2, len(jp))
            st.xlsx = False
            st.drop_column = "destination"
            f2 = dict(files)
            m2 = dict(meta)
            f2.pop(meta[ds]["name"], None)
            f2[f"{ds}.csv"] = Renderer(contract.dataset(ds), st).csv(jp)
            m2[ds] = {"name": f"{ds}.csv", "rows": len(jp), "tags": st.tags()}
            vds = "vocational_enrolments"
            voc = rows[vds] + self.defect_rows(u, period, vds, "more_socap", [], r)
            stv = choose_style(self.seed, code, period, vds, 2, len(voc))
            stv.xlsx = False
            f2.pop(meta[vds]["name"], None)
            f2[f"{vds}.csv"] = Renderer(contract.dataset(vds), stv).csv(voc)
            m2[vds] = {"name": f"{vds}.csv", "rows": len(voc), "tags": stv.tags()}
            self.add(code, period, 2, at(special["v2_at"]), f2, m2)
            entry.update(in_force=submission_id(code, period, 1), rejected=submission_id(code, period, 2))
            self.manifest["file_defects"].append(
                {
                    "unit_code": code,
                    "period": period,
                    "submission_id": submission_id(code, period, 2),
                    "dataset": ds,
                    "file": f"{ds}.csv",
                    "kind": "missing_required_column",
                    "column": "destination",
                    "expect": "version rejected",
                }
            )
            self.manifest["revisions"].append(entry)
        elif kind == "rejected_not_utf8":
            self.add(code, period, 1, at(special["v1_at"]), files, meta)
            ds = "meritorious_benefits"
            mb = rows[ds] + self.defect_rows(u, period, ds, "more_onetime", [], r)
            st = choose_style(self.seed, code, period, ds, 2, len(mb))
            st.xlsx = st.bom = st.nfd = False
            text = Renderer(contract.dataset(ds), st).csv(mb).decode("utf-8")
            data = unicodedata.normalize("NFD", text).encode("cp1258", errors="replace")
            try:
                data.decode("utf-8")
                raise AssertionError("cp1258 file unexpectedly valid UTF-8")
            except UnicodeDecodeError as e:
                offset = e.start
            f2 = dict(files)
            m2 = dict(meta)
            f2.pop(meta[ds]["name"], None)
            f2[f"{ds}.csv"] = data
            m2[ds] = {"name": f"{ds}.csv", "rows": len(mb), "tags": st.tags() + ["cp1258"]}
            self.add(code, period, 2, at(special["v2_at"]), f2, m2)
            entry.update(in_force=submission_id(code, period, 1), rejected=submission_id(code, period, 2))
            self.manifest["file_defects"].append(
                {
                    "unit_code": code,
                    "period": period,
                    "submission_id": submission_id(code, period, 2),
                    "dataset": ds,
                    "file": f"{ds}.csv",
                    "kind": "not_utf8",
                    "byte_offset": offset,
                    "expect": "version rejected",
                }
            )
            self.manifest["revisions"].append(entry)

    def inject_anomalies(self, code, period, rows, sa, stopped, sa_stopped_rows, cr_rows):
        """The version in force of (code, period) with the ANOMALY_PLAN's anomalies of that month:
        (rows, social allowance register, its ids stopped this month, its STOPPED rows, child register
        rows, datasets to drop).
        Nothing random: the rest of the store stays as it is without anomalies."""
        rows = dict(rows)
        dropped: list[str] = []
        for ds_plan, kind in self._anomalies[(code, period)]:
            names = list(contract.datasets()) if ds_plan == "*" else [ds_plan]
            for ds in names:
                before = self._records(ds, rows, sa, stopped, sa_stopped_rows, cr_rows)
                if kind == "dataset_missing":
                    dropped.append(ds)
                    after: list = []
                elif kind == "near_zero":
                    keep = max(1, round(len(before) * NEAR_ZERO_SHARE)) if before else 0
                    after = before[:keep]
                else:
                    rid = contract.dataset(ds).record_id
                    after = before + [
                        dict(x, **{rid: f"{x[rid]}-B{n}"}) for n in range(1, ANOMALY_COPIES[kind]) for x in before
                    ]
                if ds == "social_allowance_register":
                    active = [x for x in after if x["status"] == "ACTIVE"]
                    # a copy: the lineage's register itself goes on unchanged next month
                    sa = _Register(
                        active={x["beneficiary_id"]: x for x in active},
                        lines={k: v for k, v in sa.lines.items() if k not in stopped},
                    )
                    stopped = set()
                    sa_stopped_rows = [x for x in after if x["status"] != "ACTIVE"]
                elif ds == "child_protection_register":
                    cr_rows = after
                else:
                    rows[ds] = after
                self.manifest["anomalies"].append(
                    {
                        "unit_code": code,
                        "period": period,
                        "dataset": ds,
                        "kind": kind,
                        "plan": ds_plan,
                        "rows_before": len(before),
                        "rows_after": len(after),
                        "expect": "missing_dataset" if kind == "dataset_missing" else "outlier",
                    }
                )
        return rows, sa, stopped, sa_stopped_rows, cr_rows, dropped

    @staticmethod
    def _records(ds, rows, sa, stopped, sa_stopped_rows, cr_rows) -> list[dict[str, Any]]:
        """The records of `ds` in the version as it would be rendered."""
        if ds == "social_allowance_register":
            return [x for bid, x in sa.active.items() if bid not in stopped] + list(sa_stopped_rows)
        if ds == "child_protection_register":
            return list(cr_rows)
        return list(rows.get(ds) or [])

    def add(self, code, period, version, when, files, meta) -> None:
        overrides = {m["name"]: {"rows": m["rows"]} for m in meta.values()}
        datasets = {m["name"]: ds for ds, m in meta.items()}
        sid = submission_id(code, period, version)
        self.store.add_submission(code, period, version, when, files, datasets=datasets, overrides=overrides)
        for _ds, m in meta.items():
            if m["tags"]:
                self.manifest["variants"][f"{sid}/{m['name']}"] = m["tags"]

    def render_all(self, u, period, version, rows, sa, stopped, sa_stopped_rows, cr_rows):
        """file name -> bytes and dataset -> {name, rows, tags}, in contract order."""
        code = u.unit_code
        files: dict[str, bytes] = {}
        meta: dict[str, dict[str, Any]] = {}
        ro = _rng(self.seed, "omit", code, period, version)
        for name, ds in contract.datasets().items():
            if ds.kind == "snapshot":
                continue
            lst = rows.get(name) or []
            if not lst and (self.omit_empty or ro.random() < 0.5):
                continue  # an absent dataset has no records
            st = choose_style(self.seed, code, period, name, version, len(lst))
            rend = Renderer(ds, st)
            fname = f"{name}.{'xlsx' if st.xlsx else 'csv'}"
            files[fname] = rend.xlsx(lst) if st.xlsx else rend.csv(lst)
            meta[name] = {"name": fname, "rows": len(lst), "tags": st.tags()}
        # social allowance register (largest file: cached plain lines)
        name = "social_allowance_register"
        ds = contract.dataset(name)
        n = len(sa.active) + len(sa_stopped_rows) - len(stopped)
        st = choose_style(self.seed, code, period, name, version, n)
        rend = Renderer(ds, st)
        active_rows = (x for bid, x in sa.active.items() if bid not in stopped)
        if st.xlsx:
            data = rend.xlsx(list(active_rows) + sa_stopped_rows)
        elif st.plain_content:
            lines = []
            for bid, x in sa.active.items():
                if bid in stopped:
                    continue
                line = sa.lines.get(bid)
                if line is None:
                    line = sa.lines[bid] = rend.plain_line(x)
                lines.append(line)
            data = rend.csv(sa_stopped_rows, cached_lines=lines)
        else:
            data = rend.csv(list(active_rows) + sa_stopped_rows)
        fname = f"{name}.{'xlsx' if st.xlsx else 'csv'}"
        files[fname] = data
        meta[name] = {"name": fname, "rows": n, "tags": st.tags()}
        # child protection register
        name = "child_protection_register"
        st = choose_style(self.seed, code, period, name, version, len(cr_rows))
        rend = Renderer(contract.dataset(name), st)
        fname = f"{name}.{'xlsx' if st.xlsx else 'csv'}"
        files[fname] = rend.xlsx(cr_rows) if st.xlsx else rend.csv(cr_rows)
        meta[name] = {"name": fname, "rows": len(cr_rows), "tags": st.tags()}
        order = list(contract.datasets())
        meta = {k: meta[k] for k in order if k in meta}
        files = {meta[k]["name"]: files[meta[k]["name"]] for k in meta}
        return files, meta

    # ---- defects
    def defect_rows(self, u, period, ds, kind, existing, r) -> list[dict[str, Any]]:
        code = u.unit_code
        ym = period.replace("-", "")[2:]
        mstart, mend = contract.month_start(period), contract.month_end(period)
        day = rand_date(r, period)
        prev = mstart - dt.timedelta(days=r.randint(1, 20))
        rid_col = contract.dataset(ds).record_id
        fresh = f"{code}-{ym}-X{r.randint(100, 999)}"
        cid, name, sex, birth = person(r, 20, 50, mstart, cmnd_share=0)
        base: dict[str, dict[str, Any]] = {
            "vocational_enrolments": {
                "citizen_id": cid,
                "full_name": name,
                "sex": sex,
                "birth_date": birth,
                "training_level": "SO_CAP",
                "occupation": "May công nghiệp",
                "institution_code": None,
                "enrolled_on": day,
                "is_rural_worker": True,
            },
            "job_placements": {
                "citizen_id": cid,
                "full_name": name,
                "sex": sex,
                "birth_date": birth,
                "placed_on": day,
                "destination": "DOMESTIC",
                "employer_name": "Công ty TNHH Foxconn",
                "country_code": None,
            },
            "overseas_departures": {
                "citizen_id": cid,
                "full_name": name,
                "sex": sex,
                "birth_date": birth,
                "departed_on": day,
                "country_code": "JP",
                "contract_months": 36,
            },
            "employment_fund_loans": {
                "borrower_citizen_id": cid,
                "borrower_type": "INDIVIDUAL",
                "disbursed_on": day,
                "amount_vnd": 50_000_000,
                "jobs_created": 1,
            },
            "unemployment_benefit_decisions": {
                "citizen_id": cid,
                "full_name": name,
                "sex": sex,
                "decided_on": day,
                "benefit_months": 3,
                "total_amount_vnd": 10_500_000,
            },
            "social_allowance_register": {
                "citizen_id": cid,
                "full_name": name,
                "sex": sex,
                "birth_date": dt.date(1938, 5, 2),
                "category": "ELDERLY_80PLUS",
                "monthly_amount_vnd": 405_000,
                "approved_on": dt.date(2016, 3, 1),
                "status": "ACTIVE",
                "stopped_on": None,
            },
            "social_assistance_payments": {
                "citizen_id": cid,
                "kind": "FUNERAL",
                "paid_on": day,
                "amount_vnd": 5_400_000,
            },
            "rice_relief": {
                "household_id": f"{code}-HGD-X{r.randint(100, 999)}",
                "household_size": 4,
                "rice_kg": 60,
                "distributed_on": day,
                "occasion": "PRE_HARVEST",
            },
            "meritorious_benefits": {
                "citizen_id": cid,
                "full_name": name,
                "benefit": "TET_GIFT",
                "decided_on": day,
                "amount_vnd": 300_000,
            },
            "child_protection_register": {
                "sex": sex,
                "birth_date": add_years(mstart, -10),
                "circumstance": "ORPHAN",
                "identified_on": dt.date(2019, 9, 1),
                "is_receiving_support": False,
                "status": "ACTIVE",
            },
            "child_support_events": {
                "child_id": f"{code}-TS-X{r.randint(100, 999)}",
                "sex": sex,
                "birth_date": add_years(mstart, -9),
                "support": "DISABILITY_SCREENING",
                "event_on": day,
                "amount_vnd": 0,
            },
        }
        row = dict(base[ds], **{rid_col: fresh})
        if kind == "unknown_code":
            col = {"vocational_enrolments": "training_level", "overseas_departures": "country_code"}[ds]
            row[col] = Raw({"training_level": "SOCAP", "country_code": "XX"}[col])
            return [row]
        if kind == "unparseable_date":
            col = contract.dataset(ds).event_date_column
            row[col] = Raw(f"{mstart.year}-{mstart.month:02d}-{calendar.monthrange(mstart.year, mstart.month)[1] + 1}")
            return [row]
        if kind == "event_date_outside_month":
            row[contract.dataset(ds).event_date_column] = prev
            return [row]
        if kind == "required_empty":
            row["full_name"] = None
            return [row]
        if kind == "integer_out_of_range":
            col, val = {
                "employment_fund_loans": ("jobs_created", 0),
                "social_assistance_payments": ("amount_vnd", Raw("-500000")),
                "unemployment_benefit_decisions": ("benefit_months", 13),
                "overseas_departures": ("contract_months", 0),
                "rice_relief": ("household_size", 0),
            }[ds]
            row[col] = val
            return [row]
        if kind == "malformed_citizen_id":
            row["citizen_id"] = Raw(cid[:-1] if len(cid) == 12 else cid + "7X")
            return [row]
        if kind == "country_code_for_domestic":
            row.update(destination="DOMESTIC", country_code="CN")
            return [row]
        if kind == "country_code_missing_for_abroad":
            row.update(destination="ABROAD", country_code=None)
            return [row]
        if kind == "stopped_on_missing":
            row["beneficiary_id"] = f"{code}-BTXH-X{r.randint(100, 999)}"
            row.update(status="STOPPED", stopped_on=None)
            return [row]
        if kind == "child_aged_16_plus":
            if ds == "child_protection_register":
                row["child_id"] = f"{code}-TE-X{r.randint(100, 999)}"
            row["birth_date"] = add_years(mend, -16) - dt.timedelta(days=r.randint(0, 300))
            return [row]
        if kind == "duplicate_identical":
            # a second copy of a row that counts: nothing to copy, nothing injected
            return [dict(existing[len(existing) // 2])] if existing else []
        if kind == "duplicate_identical_parsed":
            if not existing:
                return []
            src = existing[len(existing) // 2]
            col = contract.dataset(ds).event_date_column
            # same parsed values, the date written the other way
            return [dict(src, **{col: Raw(src[col].strftime("%d/%m/%Y"))})]
        if kind == "duplicate_conflicting":
            other = dict(row)
            if ds == "meritorious_benefits":
                other["amount_vnd"] = 600_000
            else:
                other["household_size"] = 6
                other["rice_kg"] = 90
            return [row, other]
        if kind == "more_placements":
            return [dict(row, placement_id=f"{code}-{ym}-V2{i}") for i in range(1, 3)]
        if kind == "more_socap":
            return [dict(row, enrolment_id=f"{code}-{ym}-V2{i}") for i in range(1, 4)]
        if kind == "more_onetime":
            return [
                dict(row, case_id=f"{code}-{ym}-V2{i}", benefit="ONE_TIME_ALLOWANCE", amount_vnd=3_600_000)
                for i in range(1, 6)
            ]
        raise ValueError(f"unknown defect kind {kind!r}")

    # ---- targets for other tests
    def write_targets(self) -> None:
        """Province totals per whole half-year in range, from the plan (exact at any scale)."""
        halves = sorted({half_of(p) for p in self.write_periods})
        for half in halves:
            ps = half_periods(half)
            if not all(p in self.write_periods for p in ps):
                continue
            tot = {q: sum(self.plan(q, half).values()) for q in QUANTITIES}
            persons, kg = self.rice_totals(half)
            last = ps[-1]
            stock = [v for (k, p), v in self._stock.items() if p == last]
            act_ch = sum(s[1] for s in stock)
            sup_ch = sum(s[2] for s in stock)
            self.manifest["province_targets"][half] = {
                "LAB_VOC_NEW_SOCAP": tot["voc_socap"],
                "LAB_VOC_NEW_ALL": tot["voc_socap"] + tot["voc_trungcap"] + tot["voc_caodang"] + tot["voc_duoi3"],
                "LAB_JOB_PLACEMENTS": tot["job_dom"] + tot["job_abr"],
                "LAB_JOB_PLACEMENTS_DOMESTIC": tot["job_dom"],
                "LAB_JOB_PLACEMENTS_ABROAD": tot["job_abr"],
                "LAB_OVERSEAS_DEPARTURES": tot["overseas"],
                "LAB_FUND_JOBS": tot["fund_jobs"],
                "LAB_UI_DECISIONS": tot["ui"],
                "LAB_UI_AMOUNT_VND": self.amount_total("ui", half),
                "SP_ALLOWANCE_NEW": tot["sa_join"],
                "SP_ALLOWANCE_ACTIVE": sum(s[0] for s in stock),
                "SP_FUNERAL_CASES": tot["funeral"],
                "SP_FUNERAL_AMOUNT_VND": self.amount_total("funeral", half),
                "SP_EMERGENCY_CASES": tot["emergency"],
                "SP_EMERGENCY_AMOUNT_VND": self.amount_total("emergency", half),
                "SP_CENTENARIAN_GIFTS": tot["centenarian"],
                "SP_RICE_KG": sum(kg.values()),
                "SP_RICE_HOUSEHOLDS": tot["rice_hh"],
                "SP_RICE_PERSONS": sum(persons.values()),
                "MER_TET_GIFT_PERSONS": tot["tet"],
                "MER_TET_GIFT_AMOUNT_VND": self.amount_total("tet", half),
                "MER_NEW_DECISIONS": tot["mer_onetime"] + tot["mer_monthly"],
                "MER_ONE_TIME_DECISIONS": tot["mer_onetime"],
                "MER_MONTHLY_DECISIONS": tot["mer_monthly"],
                "MER_CONVALESCENCE_CENTRAL": tot["mer_conv_c"],
                "MER_CONVALESCENCE_HOME": tot["mer_conv_h"],
                "CH_SPECIAL_ACTIVE": act_ch,
                "CH_SPECIAL_SUPPORTED_PCT": 100 * sup_ch / act_ch if act_ch else None,
                "CH_SCREENED": tot["ch_screen"],
                "CH_SURGERY_REFERRALS": tot["ch_surgery"],
                "CH_MILK_FUND": tot["ch_milk"],
                "CH_SCHOLARSHIPS": tot["ch_scholar"],
                "CH_SCHOLARSHIP_AMOUNT_VND": self.amount_total("ch_scholar", half),
                "CH_EMERGENCY_CHILDREN": tot["ch_emerg"],
                "CH_EMERGENCY_AMOUNT_VND": self.amount_total("ch_emerg", half),
            }


def generate(
    store_root,
    *,
    seed: int = 2021,
    scale: float = 1.0,
    first: str = "2020-01",
    last: str = "2021-06",
    anomalies: bool = False,
    registers: float = 1.0,
    omit_empty: bool = False,
) -> HubStore:
    """Fill a new store at `store_root` with the demo submissions of `first`..`last`;
    `anomalies` injects ANOMALY_PLAN's true anomalies of the range (listed in the manifest's
    "anomalies"). `registers` (×, default 1) and `omit_empty` (no file for a dataset without
    records) change the store's shape; with their defaults the store is byte-identical to one
    generated without them.

    An existing ``index.json`` there is replaced (files of the same names are
    overwritten); use an empty directory for a clean store."""
    root = Path(store_root)
    root.mkdir(parents=True, exist_ok=True)
    if (root / "index.json").exists():
        (root / "index.json").unlink()
    store = HubStore(root)
    return Generator(
        store, seed, scale, first, last, anomalies=anomalies, registers=registers, omit_empty=omit_empty
    ).run()


def manifest(store_root) -> dict[str, Any]:
    """The `demo_manifest.json` of a generated store."""
    return json.loads((Path(store_root) / "demo_manifest.json").read_text(encoding="utf-8"))

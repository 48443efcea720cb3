"""Vietnamese messages for the report gate's findings and the quarantine reasons.

One catalogue, keyed by rule name (``expectations/report_gate.py`` declares the rules):
each rule's sentence is defined once here and used by the XLSX ``Cảnh báo`` sheet, the
Word annex and the reporting team's desk. The code stays in English.

A finding is the gate's ``Finding`` (``rule``, ``severity``, ``message``, ``unit_code``,
``period``), its ``as_dict()`` form, or the string ``"[rule] message"`` the pipeline
passes to the writers. The English ``message`` only supplies details (a count, a time,
a dataset) through the rule's pattern; when a pattern does not match — or the rule is
unknown — a generic Vietnamese sentence naming the rule, unit and month is used, never
the English text.

Quarantine reasons (``meta.quarantined_rows.reasons``) may quote the offending cell;
:func:`reason_vi` translates the known reason forms and never prints a quoted value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from dolisa import contract

__all__ = [
    "RULES_VI",
    "finding_vi",
    "findings_vi",
    "reason_vi",
    "reason_fix_vi",
    "rule_title_vi",
    "unit_name_vi",
    "month_vi",
    "revision_vi",
]


@dataclass(frozen=True)
class RuleMessage:
    """``title`` names the rule in a table; ``templates`` are tried in order with the
    fields the finding provides (``{unit}``, ``{month}`` and the ``pattern``'s groups);
    the first one whose fields are all present is used."""

    title: str
    templates: tuple[str, ...]
    patterns: tuple[str, ...] = ()
    converters: Mapping[str, Any] = field(default_factory=dict)
    aliases: Mapping[str, str] = field(default_factory=dict)  # template field -> finding field
    derive: Any = None  # values -> extra template fields (from the finding's structured values)


def _time_vi(text: str) -> str:
    """'2021-02-07 10:05' → '10:05 ngày 07/02/2021'."""
    m = re.match(r"(\d{4})-(\d{2})-(\d{2})[ T](\d{2}:\d{2})", text or "")
    return f"{m[4]} ngày {m[3]}/{m[2]}/{m[1]}" if m else text


def _codes_vi(text: str) -> str:
    m = re.match(r"(.*) and (\d+) more$", text or "")
    return f"{m[1]} và {m[2]} chỉ tiêu khác" if m else text


def _number_vi(text: str) -> str:
    from .formats import fmt_number

    try:
        return fmt_number(float(text), 1, strip_zero_decimals=True)
    except (TypeError, ValueError):
        return str(text)


RULES_VI: dict[str, RuleMessage] = {
    "completeness": RuleMessage(
        "Thiếu số liệu",
        (
            "{unit} chưa có phiên bản số liệu được chấp nhận cho tháng {month}.",
            "Có đơn vị chưa có phiên bản số liệu được chấp nhận.",
        ),
        patterns=(
            r"^(?P<unit_code>" + contract.UNIT_CODE_PATTERN + r") .*no accepted submission for (?P<period>\d{4}-\d{2})",
        ),
    ),
    "indicators_computable": RuleMessage(
        "Không tính được chỉ tiêu",
        ("{unit}: chưa tính được chỉ tiêu {item}.", "Có chỉ tiêu chưa tính được."),
        patterns=(r"^(?:unit (?P<unit_code>\S+): )?indicator (?P<item>\S+) cannot be computed",),
    ),
    "indicators_present": RuleMessage(
        "Thiếu giá trị chỉ tiêu",
        (
            "{unit}: chưa có giá trị cho {n} chỉ tiêu ({codes}).",
            "Báo cáo chưa có chỉ tiêu nào.",
        ),
        patterns=(r"unit (?P<unit_code>\S+): no value for (?P<n>\d+) indicator\(s\): (?P<codes>.*)$",),
        converters={"codes": _codes_vi},
    ),
    "row_conservation": RuleMessage(
        "Số dòng không khớp",
        (
            "{unit}, tháng {month}, tệp {item}: số dòng đọc được ({rows_in}) khác số dòng đã nạp ({rows_loaded}) "
            "cộng số dòng bị cách ly ({rows_quarantined}).",
            "{unit}, tháng {month}: số dòng đọc được khác số dòng đã nạp cộng số dòng bị cách ly.",
        ),
        patterns=(
            r"^\S+ \S+ (?P<item>\S+): rows in (?P<rows_in>\d+) != (?P<rows_loaded>\d+) loaded \+ "
            r"(?P<rows_quarantined>\d+) quarantined",
        ),
        converters={
            "rows_in": lambda s: _number_vi(s),
            "rows_loaded": lambda s: _number_vi(s),
            "rows_quarantined": lambda s: _number_vi(s),
        },
    ),
    "no_personal_data": RuleMessage(
        "Dữ liệu cá nhân trong kho công bố",
        (
            "Cột {item} chứa {n} giá trị là số định danh hoặc họ tên gốc của công dân.",
            "Cột {item} chứa dữ liệu cá nhân, không được có trong các bảng tổng hợp.",
            "Các bảng tổng hợp chứa dữ liệu cá nhân.",
        ),
        patterns=(
            r"^(?P<item>\S+) holds (?P<n>\d+) raw",
            r"^(?P<item>\S+) is personal data",
            r"^(?P<item>\S+): personal data",
        ),
    ),
    "late_submission": RuleMessage(
        "Nộp muộn",
        (
            "{unit} nộp muộn số liệu tháng {month}: phiên bản được chấp nhận đầu tiên nộp lúc {time} "
            "(sau hạn ngày 5 tháng sau).",
            "{unit} nộp muộn số liệu tháng {month} (phiên bản được chấp nhận đầu tiên nộp sau hạn ngày 5 tháng sau).",
        ),
        patterns=(r"submitted (?P<time>\d{4}-\d{2}-\d{2} \d{2}:\d{2})",),
        converters={"time": _time_vi},
    ),
    "quarantined_rows": RuleMessage(
        "Dòng bị cách ly",
        (
            "{unit}, tháng {month}: {n} dòng dữ liệu bị cách ly (không được tính vào số liệu).",
            "{unit}, tháng {month}: có dòng dữ liệu bị cách ly.",
        ),
        patterns=(r": (?P<n>\d+) row",),
        converters={"n": lambda s: _number_vi(s)},
    ),
    "quarantine_share": RuleMessage(
        "Dòng bị cách ly",
        (
            "{unit}, tháng {month}: {rows_quarantined} dòng dữ liệu của phiên bản có hiệu lực bị cách ly "
            "({share}), không được tính vào số liệu.",
            "{unit}, tháng {month}: {rows_quarantined} dòng dữ liệu bị cách ly (không được tính vào số liệu).",
            "{unit}, tháng {month}: có dòng dữ liệu bị cách ly.",
        ),
        patterns=(r": (?P<rows_quarantined>\d+) row\(s\) quarantined",),
        converters={"rows_quarantined": lambda s: _number_vi(s)},
    ),
    "rejected_version": RuleMessage(
        "Phiên bản bị từ chối",
        (
            "{unit}, tháng {month}: phiên bản {version} bị từ chối ({reason}).",
            "{unit}, tháng {month}: phiên bản {version} bị từ chối.",
            "{unit}, tháng {month}: {versions_rejected} phiên bản bị từ chối; phiên bản được chấp nhận trước đó vẫn có "
            "hiệu lực (xem phản hồi gửi đơn vị).",
            "{unit}, tháng {month}: có phiên bản bị từ chối.",
        ),
        patterns=(
            r"version \S+-v(?P<version>\d+) rejected: (?P<reason>.*)$",
            r"version \S+-v(?P<version>\d+) rejected",
            r": (?P<versions_rejected>\d+) version\(s\) rejected",
        ),
        converters={"reason": lambda s: reason_vi(s)},
    ),
    "outlier": RuleMessage(
        "Số liệu bất thường",
        (
            "{unit}, {dataset}, tháng {month}: {detail} — cần kiểm tra lại.",
            # quality_gate.json of reports written before the rule knew the season (kept readable)
            "{unit}, tháng {month}, {dataset}: {n} dòng, cao bất thường so với trung vị {median} dòng của 12 tháng "
            "trước — cần kiểm tra lại.",
            "{unit}, tháng {month}: số dòng bất thường so với lịch sử của đơn vị — cần kiểm tra lại.",
        ),
        patterns=(
            r"^\S+ \S+ (?P<dataset>\S+): (?P<n>\d+) rows, more than (?P<factor>[\d.]+)x the median "
            r"\((?P<median>[^)]+)\)",
        ),
        converters={"dataset": lambda s: dataset_vi(s), "n": _number_vi, "median": _number_vi},
        aliases={"dataset": "item", "n": "rows_loaded", "median": "history_median"},
        derive=lambda v: {"detail": outlier_detail_vi(v)} if v.get("expected_rows") is not None else {},
    ),
    "missing_dataset": RuleMessage(
        "Thiếu bộ dữ liệu",
        (
            "{unit}, tháng {month}: {detail} — cần hỏi lại đơn vị.",
            "{unit}, tháng {month}: phiên bản có hiệu lực không có tệp {dataset} — cần hỏi lại đơn vị.",
        ),
        converters={"dataset": lambda s: dataset_vi(s)},
        aliases={"dataset": "item"},
        derive=lambda v: {"detail": outlier_detail_vi(v)} if v.get("expected_rows") is not None else {},
    ),
    "same_period_gap": RuleMessage(
        "Thiếu số liệu cùng kỳ",
        (
            "{unit} chưa có số liệu được chấp nhận tháng {month} (cùng kỳ năm trước): số liệu cùng kỳ của "
            "{current_unit} chưa đầy đủ.",
            "{unit} chưa có số liệu được chấp nhận tháng {month} (cùng kỳ năm trước): số liệu cùng kỳ chưa đầy đủ.",
        ),
        patterns=(
            r"same-period values of (?P<current_unit_code>\S+) are incomplete",
            r"^(?P<unit_code>" + contract.UNIT_CODE_PATTERN + r") .*no accepted submission for (?P<period>\d{4}-\d{2})",
        ),
    ),
    "deferred_version": RuleMessage(
        "Phiên bản chưa tải được",
        (
            "{unit}, tháng {month}: phiên bản {item} chưa tải về được (lỗi tạm thời), sẽ tải lại ở lần chạy sau.",
            "{unit}, tháng {month}: có phiên bản chưa tải về được (lỗi tạm thời), sẽ tải lại ở lần chạy sau.",
        ),
        patterns=(r"version (?P<item>\S+) could not be fetched",),
    ),
    "gate_error": RuleMessage(
        "Lỗi khi kiểm tra",
        (
            "Không đánh giá được một phép kiểm tra ({item}): lỗi của hệ thống, không phải lỗi số liệu.",
            "Không đánh giá được một phép kiểm tra: lỗi của hệ thống, không phải lỗi số liệu.",
        ),
        patterns=(r"^(?P<item>\S+): the expectation could not be evaluated",),
    ),
    "dbt_test_warning": RuleMessage(
        "Cảnh báo kiểm thử dbt",
        (
            "Phép kiểm thử dữ liệu {item} của dbt có {failures} dòng cảnh báo (không chặn báo cáo; cán bộ kỹ thuật "
            "cần xem lại).",
            "Phép kiểm thử dữ liệu {item} của dbt có cảnh báo (không chặn báo cáo; cán bộ kỹ thuật cần xem lại).",
        ),
        patterns=(r"^(?P<item>\S+): the dbt data test warned",),
    ),
}

GENERIC_TITLE = "Vấn đề chất lượng dữ liệu"
GENERIC_TEMPLATES = (
    "{unit}, tháng {month}: phát hiện vấn đề chất lượng dữ liệu (quy tắc «{rule}»).",
    "{unit}: phát hiện vấn đề chất lượng dữ liệu (quy tắc «{rule}»).",
    "Phát hiện vấn đề chất lượng dữ liệu (quy tắc «{rule}»).",
)


def rule_title_vi(rule: str) -> str:
    m = RULES_VI.get(str(rule))
    return m.title if m else GENERIC_TITLE


MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


def month_vi(period: str | None) -> str | None:
    """'2021-05' → '5/2021'."""
    m = re.fullmatch(r"(\d{4})-(\d{2})", str(period or ""))
    return f"{int(m[2])}/{m[1]}" if m else None


def unit_name_vi(unit_code: str | None, period: str | None = None) -> str | None:
    """The unit's name valid in ``period`` ('049' → 'Huyện Hà Quảng'); the code if unknown."""
    if not unit_code:
        return None
    from dolisa import contract

    code = str(unit_code)
    if code == contract.PROVINCE_CODE:
        return "Toàn tỉnh"
    named = [u for u in contract.admin_units() if u.unit_code == code]
    if period and MONTH.fullmatch(str(period)):
        valid = [u for u in named if u.valid_in(period)]
        named = valid or named
    return named[-1].name_vi if named else f"Đơn vị {code}"


def dataset_vi(name: str) -> str:
    from dolisa import contract

    try:
        return contract.dataset(str(name)).label_vi or str(name)
    except Exception:  # unknown dataset: the name as given
        return str(name)


def _fields(finding: Any) -> dict[str, Any]:
    if isinstance(finding, str):
        m = re.match(r"^\[(?P<rule>[^\]]+)\]\s*(?P<message>.*)$", finding, re.S)
        rule, message = (m["rule"], m["message"]) if m else ("", finding)
        head = re.match(r"^(?P<unit_code>" + contract.UNIT_CODE_PATTERN + r") (?P<period>\d{4}-\d{2})\b", message)
        return {"rule": rule, "message": message, **(head.groupdict() if head else {})}
    if isinstance(finding, Mapping):
        out = dict(finding)
    else:
        out = {
            k: getattr(finding, k, None)
            for k in ("rule", "severity", "message", "unit_code", "period", "item", "values")
        }
    values = out.pop("values", None) or {}
    for k, v in values.items() if isinstance(values, Mapping) else ():
        if v is not None and out.get(k) is None:
            out[k] = v
    return out


def finding_vi(finding: Any) -> str:
    """The Vietnamese sentence of one gate finding (see the module docs)."""
    f = _fields(finding)
    rule = str(f.get("rule") or "")
    spec = RULES_VI.get(rule)
    values: dict[str, Any] = {"rule": rule or "không rõ"}
    for k, v in f.items():  # structured fields of the finding win over what the message says
        if k not in ("rule", "severity", "message", "unit_code", "period") and v is not None and str(v) != "":
            values[k] = v
    message = str(f.get("message") or "")
    for pattern in spec.patterns if spec else ():
        m = re.search(pattern, message)
        if m:
            for k, v in m.groupdict().items():
                if v is not None:
                    values.setdefault(k, v)
    for name, source in spec.aliases.items() if spec else ():
        if name not in values and values.get(source) is not None:
            values[name] = values[source]
    unit_code = f.get("unit_code") or values.get("unit_code")
    period = f.get("period") or values.get("period")
    if unit_code:
        values["unit"] = unit_name_vi(unit_code, period)
    if month_vi(period):
        values["month"] = month_vi(period)
    if values.get("current_unit_code"):
        values["current_unit"] = unit_name_vi(values["current_unit_code"], None)
    if values.get("quarantine_share") is not None:
        try:
            values["share"] = share_vi(float(values["quarantine_share"]))
        except (TypeError, ValueError):
            pass
    if spec is not None and spec.derive is not None:
        values.update(spec.derive(values))
    for k, conv in spec.converters.items() if spec else ():
        if k in values:
            values[k] = conv(values[k])
    for template in (spec.templates if spec else ()) + GENERIC_TEMPLATES:
        try:
            return template.format(**values)
        except KeyError:
            continue
    return GENERIC_TEMPLATES[-1].format(rule=values["rule"])  # pragma: no cover - last template needs only rule


def formats_pct(x: float) -> str:
    from .formats import fmt_pct

    return fmt_pct(x)


def share_vi(share: float) -> str:
    """0.012 → '1,2%'; one row in 22 230 → '<0,1%', never '0%'."""
    from .formats import fmt_share

    return fmt_share(share)


def basis_vi(basis: str | None, months: Any) -> str:
    """What a month was compared with (fct_dataset_month_rows.basis), truthfully:
    'cùng tháng năm trước', 'cùng tháng của 2 năm trước', '6 tháng gần nhất'."""
    try:
        n = int(months)
    except (TypeError, ValueError):
        n = 0
    if basis == "same_month":
        return "cùng tháng năm trước" if n <= 1 else f"cùng tháng của {n} năm trước"
    if basis == "recent_months":
        return f"{n} tháng gần nhất" if n else "các tháng gần nhất"
    return "lịch sử"


def outlier_basis_vi(values: Mapping[str, Any]) -> str:
    """What the expected rows of an outlier come from: 'tính theo cùng tháng năm trước và mức tăng
    giảm chung của các đơn vị khác'."""
    return (
        f"tính theo {basis_vi(values.get('basis'), values.get('basis_months'))} và mức tăng giảm chung "
        "của các đơn vị khác"
    )


def outlier_numbers_vi(values: Mapping[str, Any]) -> str:
    """One month's figures: '30 dòng, chỉ bằng 39% mức dự kiến khoảng 78 dòng'; without a file:
    'phiên bản có hiệu lực không có tệp Danh sách ..., dự kiến khoảng 1.216 dòng'."""
    from .formats import fmt_int, fmt_number

    rows = values.get("rows_loaded")
    expected = values.get("expected_rows")
    if values.get("file_present") is False or values.get("file_present") == 0:
        name = dataset_vi(values.get("item") or values.get("dataset") or "")
        return f"phiên bản có hiệu lực không có tệp {name}, dự kiến khoảng {fmt_int(expected)} dòng"
    try:
        ratio = float(rows) / float(expected) if float(expected) > 0 else float(values.get("ratio_to_expected"))
    except (TypeError, ValueError):
        ratio = None
    if ratio is None:
        how = "khác xa mức dự kiến"
    elif ratio >= 1:
        how = f"gấp {fmt_number(ratio, 1, strip_zero_decimals=True)} lần mức dự kiến"
    elif ratio >= 0.01:
        how = f"chỉ bằng {fmt_number(100 * ratio, 0)}% mức dự kiến"
    else:
        how = f"chỉ bằng {share_vi(ratio)} mức dự kiến"
    return f"{fmt_int(rows)} dòng, {how} khoảng {fmt_int(expected)} dòng"


def outlier_detail_vi(values: Mapping[str, Any]) -> str:
    """One month of an outlier or a missing dataset, from fct_dataset_month_rows' values:
    '30 dòng, chỉ bằng 39% mức dự kiến khoảng 78 dòng (tính theo cùng tháng năm trước và mức tăng
    giảm chung của các đơn vị khác)'."""
    return f"{outlier_numbers_vi(values)} ({outlier_basis_vi(values)})"


def findings_vi(findings) -> list[str]:
    return [finding_vi(f) for f in (findings or ())]


# ---------------------------------------------------------------------------
# rejection and quarantine reasons -> Vietnamese: derived from the ledger's vocabulary
# (src/dolisa/contract/ledger.yaml), never a quoted value
# ---------------------------------------------------------------------------

# How a field of a reason is written in Vietnamese (all others as they are).
_VI_FIELDS = {
    "period": lambda v: month_vi(v) or v,
    "bounds": lambda v: v.replace(" and ", " và "),
}

# The contract's columns in a reader's words (the report's annex, workbook and desk; the feedback
# to a unit keeps the column names of its own file, which is what it must correct).
COLUMN_LABELS_VI = {
    "allocation_id": "mã lượt cấp gạo",
    "amount_vnd": "số tiền",
    "approved_on": "ngày được duyệt",
    "beneficiary_id": "mã đối tượng",
    "benefit": "loại chế độ",
    "benefit_months": "số tháng hưởng",
    "birth_date": "ngày sinh",
    "borrower_citizen_id": "số định danh người vay",
    "borrower_type": "loại đối tượng vay",
    "case_id": "mã hồ sơ",
    "category": "nhóm đối tượng",
    "child_id": "mã trẻ em",
    "circumstance": "hoàn cảnh",
    "citizen_id": "số định danh cá nhân",
    "contract_months": "thời hạn hợp đồng (tháng)",
    "country_code": "mã quốc gia",
    "decided_on": "ngày quyết định",
    "decision_id": "mã quyết định",
    "departed_on": "ngày xuất cảnh",
    "departure_id": "mã lượt xuất cảnh",
    "destination": "nơi làm việc",
    "disbursed_on": "ngày giải ngân",
    "distributed_on": "ngày cấp gạo",
    "employer_name": "tên đơn vị tuyển dụng",
    "enrolled_on": "ngày nhập học",
    "enrolment_id": "mã tuyển sinh",
    "event_id": "mã lượt hỗ trợ",
    "event_on": "ngày hỗ trợ",
    "full_name": "họ và tên",
    "household_id": "mã hộ",
    "household_size": "số nhân khẩu",
    "identified_on": "ngày phát hiện",
    "institution_code": "mã cơ sở đào tạo",
    "is_receiving_support": "đang được trợ giúp",
    "is_rural_worker": "lao động nông thôn",
    "jobs_created": "số lao động được tạo việc làm",
    "kind": "loại trợ cấp",
    "loan_id": "mã khoản vay",
    "monthly_amount_vnd": "mức trợ cấp hằng tháng",
    "occasion": "dịp cấp gạo",
    "occupation": "nghề đào tạo",
    "paid_on": "ngày chi trả",
    "payment_id": "mã lượt chi trả",
    "placed_on": "ngày giới thiệu việc làm",
    "placement_id": "mã lượt giới thiệu việc làm",
    "rice_kg": "số gạo (kg)",
    "sex": "giới tính",
    "status": "trạng thái",
    "stopped_on": "ngày thôi hưởng",
    "support": "hình thức hỗ trợ",
    "total_amount_vnd": "tổng số tiền",
    "training_level": "trình độ đào tạo",
}
# The codes a reason can name (the conditions of the contract's required_when columns)
CODE_LABELS_VI = {
    ("destination", "ABROAD"): "ngoài nước",
    ("destination", "DOMESTIC"): "trong nước",
    ("status", "STOPPED"): "thôi hưởng",
    ("status", "ACTIVE"): "đang hưởng",
    ("status", "CLOSED"): "đã kết thúc",
}


def column_label_vi(column: str) -> str:
    """'training_level' → 'trình độ đào tạo' (an unknown column as it is)."""
    return COLUMN_LABELS_VI.get(str(column), str(column))


def _readable_fields(fields: dict[str, str]) -> dict[str, str]:
    """A reason's fields in a reader's words: columns by their Vietnamese name, a condition's code
    by its label («ngoài nước»)."""
    out = dict(fields)
    for key in ("column", "other"):
        if key in out:
            out[key] = column_label_vi(out[key])
    if "value" in fields and "other" in fields:
        out["value"] = f"«{CODE_LABELS_VI.get((fields['other'], fields['value']), fields['value'])}»"
    if "columns" in fields:
        out["columns"] = ", ".join(column_label_vi(c.strip()) for c in fields["columns"].split(","))
    return out


def column_note_vi(dataset: str | None, column: str) -> str | None:
    """When a contract column's cells may be empty, in the sender's words, from the
    contract's description of the column (datasets.yaml): 'chỉ điền khi destination =
    ABROAD, để trống ở các dòng khác'. None for an unknown dataset or column."""
    from dolisa import contract

    try:
        col = next(c for c in contract.dataset(str(dataset)).columns if c.name == column)
    except Exception:  # unknown dataset or column: nothing to add
        return None
    if col.required_when:
        cond = " và ".join(f"{k} = {v}" for k, v in col.required_when.items())
        return f"chỉ điền khi {cond}, để trống ở các dòng khác"
    if col.optional:
        return "được để trống khi không có thông tin"
    return "điền ở mọi dòng"


def _dataset_of_file(file: str | None) -> str | None:
    name = str(file or "").rsplit("/", 1)[-1]
    return name.rsplit(".", 1)[0] if "." in name else None


def _derived_fields_vi(fields: dict[str, str]) -> dict[str, str]:
    """Fields a Vietnamese text may use beyond the reason's own, derived from the contract:
    `column_notes` (for `{columns}` of a `{file}`): when each missing column may be empty."""
    out: dict[str, str] = {}
    if "columns" in fields:
        dataset = _dataset_of_file(fields.get("file"))
        notes = [(c, column_note_vi(dataset, c)) for c in (x.strip() for x in fields["columns"].split(","))]
        notes = [f"cột {c}: {n}" for c, n in notes if c and n]
        out["column_notes"] = f" ({'; '.join(notes)})" if notes else ""
    return out


def _reason_parts_vi(reason: str | None, attr: str, readable: bool = False) -> list[str]:
    from dolisa import contract

    out = []
    for part in contract.split_reasons(reason):
        parsed = contract.parse_reason(part)
        if parsed is None:  # unknown wording: keep the technical text, quoted values blanked out
            out.append("lỗi kỹ thuật: " + re.sub(r"'[^']*'", "'…'", part) if attr == "vi" else "")
            continue
        kind, fields = parsed
        values = {k: _VI_FIELDS.get(k, str)(v) for k, v in fields.items()}
        template = getattr(kind, attr)
        if readable:
            values = _readable_fields(values)
            template = template.replace(" = {value}", " là {value}").replace("mã bản ghi {column}", "{column}")
            if "bounds" in values:
                values["bounds"] = values["bounds"].replace("<=", "≤").replace(">=", "≥")
        text = template.format(**{**_derived_fields_vi(fields), **values})
        out.append(text[:1].upper() + text[1:] if readable else text)
    return out


def reason_vi(reason: str | None) -> str:
    """A quarantine or rejection reason in Vietnamese: each ``'; '``-joined reason is read
    back through its kind's template (``dolisa.contract.parse_reason``) and written with the
    kind's ``vi`` text. A reason of no known kind is kept as technical text, quotes blanked."""
    if reason is None:
        return ""
    return "; ".join(_reason_parts_vi(reason, "vi"))


def reason_readable_vi(reason: str | None) -> str:
    """A reason in a reader's words, for the report's annex, workbook and desk: the columns by
    their Vietnamese names and a condition's code by its label — 'Ngày thôi hưởng: bắt buộc
    khi trạng thái là «thôi hưởng»' (reason_vi keeps 'stopped_on ... status = STOPPED', the
    names of the unit's own file, for the feedback it must act on)."""
    if reason is None:
        return ""
    return "; ".join(_reason_parts_vi(reason, "vi", readable=True))


def reason_fix_vi(reason: str | None) -> str:
    """What the sender should do about a reason, in Vietnamese (each kind's ``fix_vi``)."""
    fixes = []
    for fix in _reason_parts_vi(reason, "fix_vi"):
        if fix and fix not in fixes:
            fixes.append(fix)
    return " ".join(fixes)


def revision_vi(
    unit_code: str, source_period: str, version_as_of, version_now, contribution, source_unit_code: str | None = None
) -> str:
    """'Huyện Hà Quảng, tháng 5/2021: phiên bản 1 → 2, +34 người' — one line of the
    'Điều chỉnh số liệu' section of an as-of report."""
    from .formats import fmt_number, is_missing

    unit = unit_name_vi(source_unit_code or unit_code, source_period)
    old = "—" if is_missing(version_as_of) else str(int(version_as_of))
    new = "—" if is_missing(version_now) else str(int(version_now))
    text = f"{unit}, tháng {month_vi(source_period) or source_period}: phiên bản {old} → {new}"
    if not is_missing(contribution):
        sign = "+" if float(contribution) > 0 else ""
        text += f", {sign}{fmt_number(contribution, 0)}"
    return text


def same_period_note_vi(unit_valid_from) -> str:
    """Why a unit of the report has no same-period value (contract §7): it, and no unit that
    counts towards it, existed in every month of the same half a year before.
    'Đơn vị hành chính mới thành lập từ 01/7/2025, không có số liệu cùng kỳ'."""
    import pandas as pd

    if unit_valid_from is None or (not isinstance(unit_valid_from, str) and pd.isna(unit_valid_from)):
        return "Đơn vị hành chính không tồn tại trong cùng kỳ năm trước, không có số liệu cùng kỳ"
    d = pd.Timestamp(unit_valid_from)
    return f"Đơn vị hành chính mới thành lập từ {d.day:02d}/{d.month}/{d.year}, không có số liệu cùng kỳ"


def incomplete_note_vi(waived) -> str | None:
    """The 'BÁO CÁO CHƯA ĐẦY ĐỦ' note of a report published with waived blocking findings,
    in Vietnamese: 'BÁO CÁO CHƯA ĐẦY ĐỦ — được phát hành khi còn thiếu số liệu (2 vấn đề):
    Huyện Hạ Lang chưa có ... tháng 6/2021; ...'. None when nothing was waived."""
    waived = list(waived or ())
    if not waived:
        return None
    texts = [finding_vi(f).rstrip(".") for f in waived]
    return (
        f"BÁO CÁO CHƯA ĐẦY ĐỦ — được phát hành khi còn thiếu số liệu ({len(waived)} vấn đề): " + "; ".join(texts) + "."
    )


def message_vi(message: str) -> str:
    """A gate finding's English message whose rule is not given: the first rule whose
    pattern matches it words it; otherwise the text is returned as it is."""
    for rule, spec in RULES_VI.items():
        if any(re.search(p, message) for p in spec.patterns):
            return finding_vi(f"[{rule}] {message}")
    return message


def note_vi(note: str) -> str:
    """A 'BÁO CÁO CHƯA ĐẦY ĐỦ — ...: <finding>; <finding>' note whose findings are the gate's
    English messages, with each finding in Vietnamese (already Vietnamese text is kept)."""
    m = re.match(r"^(BÁO CÁO CHƯA ĐẦY ĐỦ[^:]*:)\s*(.*)$", note, re.S)
    if not m:
        return note
    parts = [message_vi(p.strip()).rstrip(".") for p in m[2].split("; ") if p.strip()]
    return f"{m[1]} " + "; ".join(parts) + ("." if parts else "")

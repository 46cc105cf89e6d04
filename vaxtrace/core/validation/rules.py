"""The validation rules (校验规则) of the trace data a supervision system collects, each once:
its id, how serious a breach is, what it checks and who owes the fix. DOMAIN.md §6 after the
2022 paper's method (chain completeness, temporal order and source consistency, per-scenario
completeness and duplicates) and the law's chain: MAH → CDC → (lower CDC →) vaccination site.
The SQL that applies each rule is in ``vaxtrace.store.supervision.validation``, one statement
per rule id."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from vaxtrace.core.validation.findings import Severity, SubjectKind


class Owing(StrEnum):
    """Which party of the step at fault owes the fix."""

    DOER = "doer"  # the unit that did (and reported) the step
    COUNTERPARTY = "counterparty"  # the other side the step names (a receipt's shipper …)


class RuleId(StrEnum):
    """The id of each validation rule (校验规则编号): what a finding, an alert and a label name."""

    MISSING_PRODUCTION = "missing_production"
    MISSING_SHIPMENT = "missing_shipment"
    MISSING_RECEIPT = "missing_receipt"
    SOURCE_MISMATCH = "source_mismatch"
    TIME_ORDER = "time_order"
    REQUIRED_FIELDS = "required_fields"
    RECEIVED_TWICE = "received_twice"
    USED_TWICE = "used_twice"
    SHIPPED_BY_NON_HOLDER = "shipped_by_non_holder"
    LATE_REPORT = "late_report"
    QUANTITY_MISMATCH = "quantity_mismatch"
    MAH_TO_SITE = "mah_to_site"
    SITE_SUPPLIES = "site_supplies"
    CROSS_PROVINCE = "cross_province"
    USED_AFTER_EXPIRY = "used_after_expiry"
    USED_WHILE_LOCKED = "used_while_locked"
    USED_WHILE_RECALLED = "used_while_recalled"
    USED_AFTER_EXCURSION = "used_after_excursion"


@dataclass(frozen=True, slots=True)
class Rule:
    """One validation rule."""

    id: RuleId
    severity: Severity
    subject_kind: SubjectKind
    owing: Owing
    description: str


RULES: tuple[Rule, ...] = (
    Rule(
        RuleId.MISSING_PRODUCTION,
        Severity.WARNING,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "链条完整性: a MAH's shipping note (201) lists codes it never reported producing "
        "(101 生产入库); the MAH owes the production step",
    ),
    Rule(
        RuleId.MISSING_SHIPMENT,
        Severity.WARNING,
        SubjectKind.DOCUMENT,
        Owing.COUNTERPARTY,
        "链条完整性: a receipt (107) cites a shipping note or distribution nobody reported; "
        "the shipper the receipt names owes it",
    ),
    Rule(
        RuleId.MISSING_RECEIPT,
        Severity.WARNING,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "链条完整性: a unit distributed, used, returned or wrote off codes shipped to it but "
        "never reported receiving them (107); that unit owes the receipt",
    ),
    Rule(
        RuleId.SOURCE_MISMATCH,
        Severity.WARNING,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "来源一致性: a receipt cites a document that exists but did not ship those codes to "
        "this unit (another consignee, another note)",
    ),
    Rule(
        RuleId.TIME_ORDER,
        Severity.WARNING,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "时间顺序: a step happened, by its business time, before the step it follows "
        "(received before shipped, used before received, shipped before produced)",
    ),
    Rule(
        RuleId.REQUIRED_FIELDS,
        Severity.NOTICE,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "场景完整性: a step lacks a field its scenario requires (lot release certificate "
        "number, a production's warehouse, an excursion's equipment …)",
    ),
    Rule(
        RuleId.RECEIVED_TWICE,
        Severity.SEVERE,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "重复: a unit received codes it had received already and not sent on since",
    ),
    Rule(
        RuleId.USED_TWICE,
        Severity.SEVERE,
        SubjectKind.CODE,
        Owing.DOER,
        "重复: a dose was reported used (322) more than once, undos counted",
    ),
    Rule(
        RuleId.SHIPPED_BY_NON_HOLDER,
        Severity.SEVERE,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "重复/来源: a unit distributed or returned codes that were never shipped to it",
    ),
    Rule(
        RuleId.LATE_REPORT,
        Severity.NOTICE,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "及时性: a step reached the platform more than the allowed hours after it happened "
        "(what happened before its system first reported, the history a system sends when it "
        "connects, is not late)",
    ),
    Rule(
        RuleId.QUANTITY_MISMATCH,
        Severity.WARNING,
        SubjectKind.DOCUMENT,
        Owing.COUNTERPARTY,
        "数量一致性: codes on a shipping note or distribution its consignee never received, "
        "once a receipt of it was reported; the consignee owes the answer",
    ),
    Rule(
        RuleId.MAH_TO_SITE,
        Severity.SEVERE,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "违规流向: a MAH shipped straight to a vaccination site; the law's chain goes "
        "through a CDC (疫苗管理法 第三十六条)",
    ),
    Rule(
        RuleId.SITE_SUPPLIES,
        Severity.SEVERE,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "违规流向: a vaccination site distributed vaccine to another unit",
    ),
    Rule(
        RuleId.CROSS_PROVINCE,
        Severity.SEVERE,
        SubjectKind.DOCUMENT,
        Owing.DOER,
        "违规流向: a CDC distributed vaccine to a unit in another province (goods cross a "
        "province only on a MAH's shipping note)",
    ),
    Rule(
        RuleId.USED_AFTER_EXPIRY,
        Severity.SEVERE,
        SubjectKind.CODE,
        Owing.DOER,
        "a dose was used after its batch's expiry date (有效期至, inclusive, China time)",
    ),
    Rule(
        RuleId.USED_WHILE_LOCKED,
        Severity.SEVERE,
        SubjectKind.CODE,
        Owing.DOER,
        "a dose was used while a lock (锁定: pending, to be recalled, abnormal) on it or its "
        "batch stood",
    ),
    Rule(
        RuleId.USED_WHILE_RECALLED,
        Severity.SEVERE,
        SubjectKind.CODE,
        Owing.DOER,
        "a dose was used after a recall (召回) of it or its batch began",
    ),
    Rule(
        RuleId.USED_AFTER_EXCURSION,
        Severity.SEVERE,
        SubjectKind.CODE,
        Owing.DOER,
        "a dose was used after a cold-chain excursion (温度超标) was reported on it",
    ),
)

BY_ID: dict[str, Rule] = {rule.id.value: rule for rule in RULES}
"""Each rule by its id."""

LATE_REPORT_HOURS = 24.0
"""及时性: the default hours a step may take to reach the platform (settings override)."""

REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "201": ("counterparty_uscc", "batches"),
    "902": ("certificate_no",),
    "107": ("counterparty_uscc", "source_document_no", "verification"),
    "209": ("counterparty_uscc",),
    "202": ("counterparty_uscc", "return_reason"),
    "215": ("reason",),
    "216": ("reason",),
    "205": ("reason", "executor", "supervisor"),
    "931": ("start_time", "min_celsius", "max_celsius"),
}
"""场景完整性: what each kind of step must say, beyond who, what and when (NMPAB/T 1004-2019
data sets: a receipt its shipper and note, a destruction its executor and supervisor, a lot
release its certificate); names in ``REQUIRED_COLUMNS`` are the step's own columns, the others
keys of its detail."""

REQUIRED_COLUMNS = frozenset({"counterparty_uscc", "source_document_no"})
"""Required fields kept as a step's own columns."""

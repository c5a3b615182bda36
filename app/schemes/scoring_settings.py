"""The scoring settings of a scheme version: rounding, grade bands, tie-break, where vetoed units
rank, annual rule.

Kept beside operations.py (which holds the indicator edits) because they are one state change of
their own; like every change to a version they are allowed on drafts only.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.errors import ValidationFailed
from app.schemes.editing import ensure_draft
from app.schemes.models import Scheme
from app.scoring.annual import AGGREGATION_RULES
from app.scoring.engine import DEFAULT_GRADE_BANDS, ROUNDING_MODES

ROUNDING_LABELS = {"half_up": "四舍五入", "down": "截尾（舍去）", "half_even": "四舍六入五成双"}


def format_bands(scheme: Scheme) -> str:
    bands = scheme.grade_bands or [[str(t), g] for t, g in DEFAULT_GRADE_BANDS]
    return "，".join(f"{grade} {Decimal(threshold).normalize():f}" for threshold, grade in bands)


def parse_bands(text: str) -> list[list[str]]:
    """'优 90，良 80，中 60，差 0' → [['90', '优'], …]: thresholds (% of the total) descending to 0."""
    bands: list[list[str]] = []
    for part in text.replace("，", ",").replace("、", ",").split(","):
        if not part.strip():
            continue
        words = part.split()
        if len(words) != 2:
            raise ValueError(f"“{part.strip()}”应写作“等次 下限”，如“优 90”")
        grade, raw = words
        try:
            threshold = Decimal(raw)
        except InvalidOperation as exc:
            raise ValueError(f"等次 {grade} 的下限不是数字") from exc
        if not threshold.is_finite() or not 0 <= threshold <= 100:
            raise ValueError(f"等次 {grade} 的下限须在 0 到 100 之间（占总分的百分比）")
        if bands and threshold >= Decimal(bands[-1][0]):
            raise ValueError("等次须按下限从高到低排列")
        bands.append([str(threshold), grade])
    if not bands or Decimal(bands[-1][0]) != 0:
        raise ValueError("最后一个等次的下限须为 0，使每个得分都有等次")
    return bands


def update_scoring_settings(
    session: Session,
    actor_id: int,
    scheme: Scheme,
    rounding_places: int,
    rounding_mode: str,
    grade_bands: str,
    tie_break: str,
    annual_rule: str,
    vetoed_rank_last: bool,
) -> Scheme:
    ensure_draft(scheme)
    errors: dict[str, str] = {}
    if not 0 <= rounding_places <= 4:
        errors["rounding_places"] = "保留小数位数须在 0 到 4 之间"
    if rounding_mode not in ROUNDING_MODES:
        errors["rounding_mode"] = "舍入方式无效"
    try:
        bands = parse_bands(grade_bands)
    except ValueError as exc:
        errors["grade_bands"] = str(exc)
    codes = {i.code for i in scheme.first_level}
    if tie_break and tie_break not in codes:
        errors["tie_break"] = "同分排序须选择一个一级计分指标"
    if annual_rule not in AGGREGATION_RULES:
        errors["annual_rule"] = "年度汇总规则无效"
    if errors:
        raise ValidationFailed("计分设置有误：" + "；".join(errors.values()), errors)
    before = {
        "rounding_mode": scheme.rounding_mode,
        "rounding_places": scheme.rounding_places,
        "grade_bands": scheme.grade_bands,
        "tie_break": scheme.tie_break,
        "annual_rule": scheme.annual_rule,
        "vetoed_rank_last": scheme.vetoed_rank_last,
    }
    scheme.rounding_places = rounding_places
    scheme.rounding_mode = rounding_mode
    scheme.grade_bands = bands
    scheme.tie_break = tie_break or None
    scheme.annual_rule = annual_rule
    scheme.vetoed_rank_last = vetoed_rank_last
    after = {
        "rounding_mode": rounding_mode,
        "rounding_places": rounding_places,
        "grade_bands": bands,
        "tie_break": tie_break,
        "annual_rule": annual_rule,
        "vetoed_rank_last": vetoed_rank_last,
    }
    audit(
        session,
        actor_id,
        "scheme.settings",
        ("scheme", scheme.id),
        f"修改 {scheme.label} 计分设置",
        before=before,
        after=after,
    )
    session.flush()
    return scheme

"""Every state change of scoring records: the facts and revisions of each stage."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.rounds.models import DistrictAssessment
from app.schemes.models import Indicator
from app.scoring.fact_forms import FactInput
from app.scoring.models import Fact, IndicatorRevision
from app.scoring.outcomes import FACT_FIELDS, UNREPORTED, fact_values
from app.scoring.scores import assessed
from workflows.store import rowcount

# What one stage records for one indicator: the facts and the explanation.
StageEntry = tuple[list[FactInput], str]


def _plain(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return "" if value is None else str(value)


def signature(facts: Iterable[Any]) -> tuple[tuple[str, ...], ...]:
    """Facts compared by content, whatever their order or storage: did a stage change anything?"""
    return tuple(sorted(tuple(_plain(getattr(f, name)) for name in FACT_FIELDS) for f in facts))


def summary(facts: Iterable[Any]) -> list[str]:
    """Short Chinese lines for audit records."""
    lines = []
    for f in facts:
        if f.kind == "rate":
            lines.append(f"比率 {f.numerator}/{f.denominator}")
        elif f.kind == "manual":
            lines.append(f"扣分 {f.amount}")
        elif f.kind == "value":
            lines.append(f"数值 {f.value}")
        else:
            lines.append(f"{f.kind} {f.item or ''} {f.description}".strip())
    return lines


def _add_facts(
    session: Session,
    user_id: int | None,
    assessment: DistrictAssessment,
    indicator: Indicator,
    stage: str,
    facts: Sequence[FactInput],
    draft: bool,
) -> None:
    for f in facts:
        session.add(
            Fact(
                assessment_id=assessment.id,
                indicator_id=indicator.id,
                stage=stage,
                **fact_values(f),
                is_draft=draft,
                recorded_by=user_id,
            )
        )


def _add_stage(
    session: Session,
    user_id: int | None,
    assessment: DistrictAssessment,
    indicator: Indicator,
    stage: str,
    entry: StageEntry,
    draft: bool,
) -> IndicatorRevision:
    """One stage's judgement of one indicator: its facts and the revision that explains them."""
    facts, reason = entry
    _add_facts(session, user_id, assessment, indicator, stage, facts, draft)
    revision = IndicatorRevision(
        assessment_id=assessment.id,
        indicator_id=indicator.id,
        stage=stage,
        reason=reason,
        is_draft=draft,
        recorded_by=user_id,
    )
    session.add(revision)
    return revision


def _insert_stages(
    session: Session,
    user_id: int | None,
    assessment: DistrictAssessment,
    stage: str,
    entries: Mapping[Indicator, StageEntry],
    draft: bool,
) -> None:
    """Several indicators' judgements at one stage, the rows _add_stage writes, in one INSERT per
    table (the unit of work sends SQLite one INSERT per row, to read each id back)."""
    common = {"assessment_id": assessment.id, "stage": stage, "is_draft": draft, "recorded_by": user_id}
    facts = [
        {**common, "indicator_id": indicator.id, **fact_values(f)}
        for indicator, (entered, _) in entries.items()
        for f in entered
    ]
    revisions = [
        {**common, "indicator_id": indicator.id, "reason": reason}
        for indicator, (_, reason) in entries.items()
    ]
    # Core INSERTs of the tables (every row names the same columns): one executemany each.
    if facts:
        session.execute(insert(cast(Table, Fact.__table__)), facts)
    if revisions:
        session.execute(insert(cast(Table, IndicatorRevision.__table__)), revisions)


def _clear(session: Session, assessment_id: int, stage: str, drafts_only: bool) -> None:
    held = {type(obj) for obj in session.identity_map.values()}
    for model in (Fact, IndicatorRevision):
        # The ORM's DELETE also marks the rows the session holds as deleted; holding none, a Core
        # DELETE of the table does the same at half the cost.
        target = model if model in held else cast(Table, model.__table__)
        query = delete(target).where(model.assessment_id == assessment_id, model.stage == stage)
        if drafts_only:
            query = query.where(model.is_draft.is_(True))
        session.execute(query)


def save_self_report(
    session: Session,
    user_id: int,
    assessment: DistrictAssessment,
    entries: Mapping[Indicator, StageEntry],
    draft: bool,
) -> None:
    """The district's own facts; each save replaces the previous draft."""
    _clear(session, assessment.id, "self", drafts_only=False)
    kept = {indicator: entry for indicator, entry in entries.items() if entry[0] or entry[1]}
    _insert_stages(session, user_id, assessment, "self", kept, draft)
    after = {indicator.code: summary(facts) for indicator, (facts, _) in kept.items()}
    audit(
        session,
        user_id,
        "score.self_draft" if draft else "score.self_submit",
        ("assessment", assessment.id),
        f"{assessment.district.name} {'暂存' if draft else '提交'}自评",
        after=after,
        scope=assessment,
    )
    session.flush()


def save_verification(
    session: Session,
    user_id: int,
    assessment: DistrictAssessment,
    changes: Mapping[Indicator, StageEntry],
    draft: bool,
) -> None:
    """核查调整: for each indicator the inspector changed, their facts replace the self-report's."""
    _clear(session, assessment.id, "verify", drafts_only=True)
    _insert_stages(session, user_id, assessment, "verify", changes, draft)
    after = {
        indicator.code: {"facts": summary(facts), "reason": reason}
        for indicator, (facts, reason) in changes.items()
    }
    audit(
        session,
        user_id,
        "score.verify_draft" if draft else "score.verify_submit",
        ("assessment", assessment.id),
        f"{assessment.district.name} {'暂存' if draft else '提交'}核查结果，调整 {len(changes)} 项",
        after=after,
        scope=assessment,
    )
    session.flush()


def record_review(
    session: Session,
    user_id: int,
    assessment: DistrictAssessment,
    indicator: Indicator,
    facts: Sequence[FactInput],
    reason: str,
) -> IndicatorRevision:
    """申诉复核: the reviewer's facts for an appealed indicator replace the verification's."""
    return record_stage(session, user_id, assessment, indicator, "appeal", facts, reason)


def record_stage(
    session: Session,
    user_id: int,
    assessment: DistrictAssessment,
    indicator: Indicator,
    stage: str,
    facts: Sequence[FactInput],
    reason: str,
) -> IndicatorRevision:
    """*stage*'s judgement of one indicator, replacing any it made before: ``appeal`` (review)
    or ``correct`` (更正 after publication, which overrides every earlier stage; a second
    correction of the same indicator replaces the first)."""
    for model in (Fact, IndicatorRevision):
        session.execute(
            delete(model).where(
                model.assessment_id == assessment.id, model.indicator_id == indicator.id, model.stage == stage
            )
        )
    revision = _add_stage(session, user_id, assessment, indicator, stage, (list(facts), reason), draft=False)
    session.flush()
    return revision


def close_overdue_self_report(session: Session, assessment: DistrictAssessment, empty_rule: str) -> int:
    """Deadline passed: the saved draft counts as submitted and the district is flagged 逾期未报.

    With the ``zero`` rule every assessed indicator the district left empty scores 0 at the
    self-report stage (a verification adjustment can still correct it); with ``verified`` the
    empty ones wait for the inspector's data. Returns how many indicators were left empty.
    """
    counted = 0
    for model in (Fact, IndicatorRevision):
        counted += rowcount(
            session.execute(
                update(model)
                .where(model.assessment_id == assessment.id, model.stage == "self", model.is_draft.is_(True))
                .values(is_draft=False)
            )
        )
    reported = set(
        session.scalars(
            select(IndicatorRevision.indicator_id).where(
                IndicatorRevision.assessment_id == assessment.id, IndicatorRevision.stage == "self"
            )
        )
    )
    round_ = assessment.round
    parents = {i.parent_id for i in round_.scheme.indicators}
    empty = [
        i
        for i in round_.scheme.indicators
        if i.id not in parents and i.kind == "scored" and assessed(i, round_.period) and i.id not in reported
    ]
    if empty_rule == "zero":
        unreported = ([FactInput(UNREPORTED, description="逾期未报")], "逾期未报，按 0 分计")
        for indicator in empty:  # written by the deadline, not by a person
            _add_stage(session, None, assessment, indicator, "self", unreported, draft=False)
    audit(
        session,
        None,
        "score.self_overdue",
        ("assessment", assessment.id),
        f"{assessment.district.name} 自评逾期未报，已暂存的内容视为提交",
        after={"records": counted, "empty": [i.code for i in empty], "empty_rule": empty_rule},
        scope=assessment,
    )
    session.flush()
    return len(empty)

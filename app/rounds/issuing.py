"""Issuing a round: the round's coordinating process and one small process per district."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.audit.operations import record as audit
from app.deadlines.settings import SettingsError, validate_settings
from app.districts.models import District
from app.errors import ValidationFailed
from app.processes import DISTRICT_PROCESS, ROUND_PROCESS, library, store
from app.processes.runtime import ProcessRun
from app.rounds.models import DistrictAssessment, Round
from app.schemes.models import Scheme
from app.schemes.operations import freeze_version
from workflows.deadlines import STAGES, DeadlineRuleError, validate_rule

PERIOD = re.compile(r"^(20\d\d)-(0[1-9]|1[0-2])$")


def issue_round(
    session: Session,
    actor: User,
    title: str,
    period: str,
    scheme_id: int,
    district_ids: list[int],
    deadline_rules: dict[str, dict[str, Any]],
    deadline_settings: dict[str, Any] | None = None,
) -> Round:
    errors: dict[str, str] = {}
    if not title.strip():
        errors["title"] = "请填写轮次名称"
    if not PERIOD.match(period or ""):
        errors["period"] = "考核期格式应为 YYYY-MM，例如 2026-11"
    scheme = session.get(Scheme, scheme_id)
    if scheme is None or scheme.status != "active":
        errors["scheme_id"] = "请选择启用中的考核细则版本"
    districts = list(session.scalars(select(District).where(District.id.in_(district_ids or [-1]))))
    if not districts or len(districts) != len(set(district_ids)):
        errors["district_ids"] = "请选择参加考核的区"
    rules: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        try:
            rules[stage] = validate_rule(stage, deadline_rules.get(stage) or {})
        except DeadlineRuleError as exc:
            errors[f"deadline_{stage}"] = str(exc)
    try:
        settings = validate_settings(deadline_settings or {})
    except SettingsError as exc:
        errors[exc.field] = exc.message
    if errors:
        raise ValidationFailed("下发考核失败，请检查标红的项目", errors)

    assert scheme is not None
    freeze_version(scheme)
    district_definition = library().current_file(DISTRICT_PROCESS)
    round_definition = library().current_file(ROUND_PROCESS)
    round_ = Round(
        title=title.strip(),
        period=period,
        scheme_id=scheme_id,
        deadline_rules=rules,
        deadline_settings=settings,
        district_definition_id=store().definition_record(session, district_definition).id,
        round_definition_id=store().definition_record(session, round_definition).id,
        districts_total=len(districts),
        issued_by=actor.id,
    )
    session.add(round_)
    session.flush()
    run = ProcessRun(session, actor.id)
    instance, _wf = run.start(round_definition, {"round_id": round_.id})
    round_.round_instance_id = instance.id

    for district in sorted(districts, key=lambda d: d.sort_order):
        assessment = DistrictAssessment(round_id=round_.id, district_id=district.id)
        session.add(assessment)
        session.flush()
        data = {
            "round_id": round_.id,
            "district_id": district.id,
            "assessment_id": assessment.id,
            "deadline_rules": rules,
        }
        instance, _wf = run.start(district_definition, data)
        assessment.instance_id = instance.id

    audit(
        session,
        actor.id,
        "round.issue",
        ("round", round_.id),
        f"下发考核 {round_.title}（{len(districts)} 个区，流程版本 {district_definition.version}）",
        after={
            "period": period,
            "scheme_id": scheme_id,
            "districts": [d.id for d in districts],
            "deadline_rules": rules,
            "deadline_settings": settings,
            "process_version": district_definition.version,
        },
        round_id=round_.id,
    )
    return round_

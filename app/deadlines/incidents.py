"""The application's side of incidents (异常, workflows/incidents.py): the retry settings, telling
the administrators when a failed deadline waits for them, auditing a resolution, and where an
instance belongs (round, district) for the jobs page and the messages."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.audit.operations import record as audit
from app.config import Config
from app.deadlines.recipients import stage_recipients
from app.districts.models import District
from app.notifications.operations import notify
from app.processes.runtime import registry
from app.rectification.models import Rectification
from app.rounds.models import DistrictAssessment, Round
from workflows.incidents import Incidents, RetryPolicy
from workflows.store import ProcessIncident

JOBS_PAGE = "/deadlines#incidents"


@dataclass(frozen=True)
class Scope:
    """The round and district an instance works for (none known: an instance of no round)."""

    round_id: int | None = None
    round_title: str = ""
    district_id: int | None = None
    district_name: str = ""

    @property
    def where(self) -> str:
        return "，".join(part for part in (self.district_name, self.round_title) if part)


def scopes(session: Session, instance_ids: Iterable[int]) -> dict[int, Scope]:
    """Each instance's round and district, from the areas that started them."""
    ids = set(instance_ids)
    if not ids:
        return {}
    found: dict[int, tuple[int, int | None]] = {}
    for model in (DistrictAssessment, Rectification):
        rows = session.execute(
            select(model.instance_id, model.round_id, model.district_id).where(model.instance_id.in_(ids))
        )
        found.update({instance: (round_id, district) for instance, round_id, district in rows if instance})
    rounds = session.execute(
        select(Round.round_instance_id, Round.id).where(Round.round_instance_id.in_(ids))
    )
    found.update({instance: (round_id, None) for instance, round_id in rounds if instance})
    round_ids = {round_id for round_id, _ in found.values()}
    titles = dict(session.execute(select(Round.id, Round.title).where(Round.id.in_(round_ids))).all())
    district_ids = {district for _, district in found.values() if district is not None}
    names = dict(
        session.execute(select(District.id, District.name).where(District.id.in_(district_ids))).all()
    )
    return {
        instance: Scope(
            round_id, titles.get(round_id, ""), district, names.get(district, "") if district else ""
        )
        for instance, (round_id, district) in found.items()
    }


def process_label(key: str) -> str:
    handler = registry.handlers.get(key)
    return handler.label if handler is not None else key


def what_failed(incident: ProcessIncident, scope: Scope) -> str:
    """逾期未报处理（姑苏区，2026年12月城管执法考核）"""
    name = incident.element_name or process_label(incident.process_key)
    return f"{name}（{scope.where}）" if scope.where else name


def incidents_for(config: Mapping[str, Any] | None = None) -> Incidents:
    """The scheduler's incident handling with *config*'s retry settings (default: the current
    app's, or the defaults outside any app, as when tests fire deadlines)."""
    if config is None:
        config = current_app.config if has_app_context() else vars(Config)
    policy = RetryPolicy(timedelta(seconds=config["INCIDENT_RETRY_SECONDS"]), config["INCIDENT_MAX_RETRIES"])
    return Incidents(policy, on_waiting=notify_waiting, on_resolved=audit_resolved)


def notify_waiting(session: Session, incident: ProcessIncident) -> None:
    """The automatic retries ran out: every administrator hears of it, once per incident."""
    scope = scopes(session, [incident.instance_id]).get(incident.instance_id, Scope())
    notify(
        session,
        stage_recipients(session, ["admin"], None),
        f"定时任务异常待处理：{what_failed(incident, scope)}",
        f"{incident.message}。已自动重试 {incident.attempts - 1} 次仍未成功，自动重试已停止；"
        "请排除原因后在“定时任务”页面重试。",
        JOBS_PAGE,
    )


def audit_resolved(session: Session, incident: ProcessIncident) -> None:
    """A later firing succeeded (or found the process ended), in that firing's transaction."""
    scope = scopes(session, [incident.instance_id]).get(incident.instance_id, Scope())
    outcome = "重试成功" if incident.resolution == "fired" else "流程已结束"
    audit(
        session,
        incident.resolved_by,
        "incident.resolved",
        ("incident", incident.id),
        f"定时任务异常已解除（{outcome}）：{what_failed(incident, scope)}，此前失败 {incident.attempts} 次",
        before={"message": incident.message, "attempts": incident.attempts},
        after={"status": incident.status, "resolution": incident.resolution},
        round_id=scope.round_id,
        district_id=scope.district_id,
    )

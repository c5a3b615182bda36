"""Deadline rules of a round's stages, evaluated by the BPMN timer expressions.

A boundary timer in the diagram reads ``due_date(deadline_rules, "verification")``;
the rule lives in the process data so each district instance carries the rule
it was issued with, and the due date is fixed when the stage starts.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from workflows import clock
from workflows.calendar import WorkCalendar
from workflows.script_helpers import MAX_SPAN_DAYS, date_helpers

STAGES = ("self_report", "verification", "appeal", "review")
STAGE_LABELS = {
    "self_report": "自评填报",
    "verification": "核查",
    "appeal": "申诉期",
    "review": "申诉复核",
    "rectification": "整改",
}


class DeadlineRuleError(ValueError):
    pass


def validate_rule(stage: str, rule: dict[str, Any]) -> dict[str, Any]:
    """Normalise one stage's rule; raise DeadlineRuleError with a Chinese message."""
    label = STAGE_LABELS.get(stage, stage)
    kind = rule.get("kind")
    if kind == "fixed":
        at = rule.get("at")
        try:
            parsed = at if isinstance(at, datetime) else datetime.fromisoformat(str(at))
        except ValueError as exc:
            raise DeadlineRuleError(f"{label}的截止时间格式不正确") from exc
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=clock.SHANGHAI)
        if parsed <= clock.now():
            raise DeadlineRuleError(f"{label}的截止时间已过，请设置将来的时间")
        return {"kind": "fixed", "at": parsed.isoformat()}
    if kind in ("days", "working_days"):
        try:
            days = int(rule.get("days", ""))  # a missing number is refused like a malformed one
        except (TypeError, ValueError) as exc:
            raise DeadlineRuleError(f"{label}的天数必须是整数") from exc
        if not 1 <= days <= 90:
            raise DeadlineRuleError(f"{label}的天数须在 1 到 90 之间")
        return {"kind": kind, "days": days}
    raise DeadlineRuleError(f"{label}的截止规则无效")


def due_date(
    rules: dict[str, Any], stage: str, start: datetime | None = None, calendar: WorkCalendar | None = None
) -> str:
    """The ISO due date (aware) of *stage* for a stage starting at *start* (now by default).

    ``days`` rules end at 24:00 Asia/Shanghai on the N-th calendar day after the start,
    ``working_days`` rules at 24:00 on the N-th working day (holidays and 调休 counted).
    """
    rule = rules.get(stage)
    if not rule:
        raise DeadlineRuleError(f"缺少{STAGE_LABELS.get(stage, stage)}的截止规则")
    if rule["kind"] == "fixed":
        return datetime.fromisoformat(rule["at"]).isoformat()
    started = clock.local(start or clock.now())
    assert started is not None
    days = int(rule["days"])
    # Timer expressions run in the engine's own process (they are statically bounded, see
    # script_bounds): a rule a script rewrote must not make the working-day walk unbounded.
    if not 0 <= days <= MAX_SPAN_DAYS:
        raise DeadlineRuleError(f"{STAGE_LABELS.get(stage, stage)}的天数须在 0 到 {MAX_SPAN_DAYS} 之间")
    if rule["kind"] == "working_days":
        last_day = (calendar or WorkCalendar()).add_workdays(started.date(), days)
    else:
        last_day = started.date() + timedelta(days=days)
    end = datetime.combine(last_day + timedelta(days=1), time(0, 0), tzinfo=clock.SHANGHAI)
    return end.isoformat()


def script_functions(calendar: WorkCalendar | None = None) -> dict[str, Any]:
    """The functions diagrams may call, bound to the installation's working-day calendar."""

    def bound_due_date(rules: dict[str, Any], stage: str) -> str:
        return due_date(rules, stage, calendar=calendar)

    return {"due_date": bound_due_date, **date_helpers(calendar)}

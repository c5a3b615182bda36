from __future__ import annotations

from typing import Any

from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
)
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.deadlines.settings import DEFAULTS, EMPTY_RULES, RECIPIENT_LABELS
from app.forms import Form, choice_list
from workflows import clock
from workflows.deadlines import STAGE_LABELS, STAGES

DEFAULT_DAYS = {"self_report": 7, "verification": 7, "appeal": 3, "review": 5}


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


def _deadline_kind(stage: str) -> SelectField:
    return SelectField(
        f"{STAGE_LABELS[stage]}截止规则",
        choices=choice_list(
            [("working_days", "阶段开始后工作日"), ("days", "阶段开始后自然日"), ("fixed", "固定时间")]
        ),
        default="working_days",
    )


def _deadline_days(stage: str) -> IntegerField:
    return IntegerField("天数", default=DEFAULT_DAYS[stage], validators=[Optional()])


def _deadline_at() -> DateTimeLocalField:
    return DateTimeLocalField("截止时间", format="%Y-%m-%dT%H:%M", validators=[Optional()])


def _notify(stage: str) -> MultiCheckboxField:
    return MultiCheckboxField(
        f"{STAGE_LABELS[stage]}截止时通知",
        choices=choice_list(RECIPIENT_LABELS.items()),
        default=DEFAULTS["notify"][stage],
    )


class RoundForm(Form):
    """下发考核 — a round, its districts, and per stage (workflows.deadlines.STAGES) the deadline
    rule (``kind_<stage>``, ``days_<stage>``, ``at_<stage>``) and who is told when it passes
    (``notify_<stage>``). The stages are written out, as the page lays them out."""

    title = StringField("轮次名称", validators=[DataRequired("请填写轮次名称"), Length(max=200)])
    period = StringField("考核期（YYYY-MM）", validators=[DataRequired("请填写考核期"), Length(max=7)])
    scheme_id = SelectField("考核细则版本", coerce=int, choices=[])
    district_ids = MultiCheckboxField("参加考核的区", coerce=int, choices=[])

    kind_self_report = _deadline_kind("self_report")
    days_self_report = _deadline_days("self_report")
    at_self_report = _deadline_at()
    kind_verification = _deadline_kind("verification")
    days_verification = _deadline_days("verification")
    at_verification = _deadline_at()
    kind_appeal = _deadline_kind("appeal")
    days_appeal = _deadline_days("appeal")
    at_appeal = _deadline_at()
    kind_review = _deadline_kind("review")
    days_review = _deadline_days("review")
    at_review = _deadline_at()

    reminder_hours = StringField("截止前提醒（小时，逗号分隔）", default="24,2", validators=[Length(max=40)])
    self_report_empty = SelectField(
        "自评逾期时未填报的指标", choices=choice_list(EMPTY_RULES.items()), default="verified"
    )
    escalate_verification = BooleanField("核查超期时标记督办（可转派）", default=True)
    notify_self_report = _notify("self_report")
    notify_verification = _notify("verification")
    notify_appeal = _notify("appeal")
    notify_review = _notify("review")


# A stage added to the processes must get its fields above (and a row on the page): say so at
# import rather than when the first round is issued.
_UNDECLARED = [
    f"{part}_{stage}"
    for stage in STAGES
    for part in ("kind", "days", "at", "notify")
    if not hasattr(RoundForm, f"{part}_{stage}")
]
if _UNDECLARED:
    raise RuntimeError(f"RoundForm lacks the deadline fields {', '.join(_UNDECLARED)}")


def deadline_settings(form: RoundForm) -> dict[str, Any]:
    """What the deadlines do, as the issue operation takes them (it validates them)."""
    return {
        "reminder_hours": form.reminder_hours.data or "",
        "self_report_empty": form.self_report_empty.data,
        "escalate_verification": bool(form.escalate_verification.data),
        "notify": {stage: getattr(form, f"notify_{stage}").data or [] for stage in STAGES},
    }


def deadline_rules(form: RoundForm) -> dict[str, dict[str, Any]]:
    """The per-stage rules as the issue operation takes them (it validates them)."""
    rules: dict[str, dict[str, Any]] = {}
    for stage in STAGES:
        kind = getattr(form, f"kind_{stage}").data
        if kind == "fixed":
            at = getattr(form, f"at_{stage}").data
            rules[stage] = {
                "kind": "fixed",
                "at": at.replace(tzinfo=clock.SHANGHAI).isoformat() if at else None,
            }
        else:
            rules[stage] = {"kind": kind, "days": getattr(form, f"days_{stage}").data}
    return rules

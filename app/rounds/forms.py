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


class RoundForm(Form):
    title = StringField("轮次名称", validators=[DataRequired("请填写轮次名称"), Length(max=200)])
    period = StringField("考核期（YYYY-MM）", validators=[DataRequired("请填写考核期"), Length(max=7)])
    scheme_id = SelectField("考核细则版本", coerce=int, choices=[])
    district_ids = MultiCheckboxField("参加考核的区", coerce=int, choices=[])


for _stage in STAGES:
    setattr(
        RoundForm,
        f"kind_{_stage}",
        SelectField(
            f"{STAGE_LABELS[_stage]}截止规则",
            choices=choice_list(
                [("working_days", "阶段开始后工作日"), ("days", "阶段开始后自然日"), ("fixed", "固定时间")]
            ),
            default="working_days",
        ),
    )
    setattr(
        RoundForm,
        f"days_{_stage}",
        IntegerField("天数", default=DEFAULT_DAYS[_stage], validators=[Optional()]),
    )
    setattr(
        RoundForm,
        f"at_{_stage}",
        DateTimeLocalField("截止时间", format="%Y-%m-%dT%H:%M", validators=[Optional()]),
    )


RoundForm.reminder_hours = StringField(  # type: ignore[attr-defined]
    "截止前提醒（小时，逗号分隔）", default="24,2", validators=[Length(max=40)]
)
RoundForm.self_report_empty = SelectField(  # type: ignore[attr-defined]
    "自评逾期时未填报的指标", choices=choice_list(EMPTY_RULES.items()), default="verified"
)
RoundForm.escalate_verification = BooleanField("核查超期时标记督办（可转派）", default=True)  # type: ignore[attr-defined]
for _stage in STAGES:
    setattr(
        RoundForm,
        f"notify_{_stage}",
        MultiCheckboxField(
            f"{STAGE_LABELS[_stage]}截止时通知",
            choices=choice_list(RECIPIENT_LABELS.items()),
            default=DEFAULTS["notify"][_stage],
        ),
    )


def deadline_settings(form: RoundForm) -> dict[str, Any]:
    """What the deadlines do, as the issue operation takes them (it validates them)."""
    return {
        "reminder_hours": form.reminder_hours.data or "",  # type: ignore[attr-defined]
        "self_report_empty": form.self_report_empty.data,  # type: ignore[attr-defined]
        "escalate_verification": bool(form.escalate_verification.data),  # type: ignore[attr-defined]
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

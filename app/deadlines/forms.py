"""The form that extends one task's deadline (a page of the task, served by app/tasks/routes.py)."""

from __future__ import annotations

from wtforms import DateTimeLocalField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.deadlines.operations import REASON_MAX
from app.forms import Form


class ExtendForm(Form):
    new_due = DateTimeLocalField(
        "新的截止时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("请填写新的截止时间")]
    )
    reason = TextAreaField("延期理由", validators=[DataRequired("请填写延期理由"), Length(max=REASON_MAX)])

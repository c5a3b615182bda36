"""Pages of the deadlines area: the scheduler's jobs, and extending one task's deadline."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from wtforms import DateTimeLocalField, TextAreaField
from wtforms.validators import DataRequired, Length

from app.actions import perform, run_in_transaction
from app.auth import roles_required
from app.db import db
from app.deadlines import jobs
from app.deadlines.operations import REASON_MAX, extend_deadline
from app.errors import OperationError
from app.forms import Form
from app.inputs import parse_id
from app.notifications.outbox import retry
from app.tasks.models import TaskRecord
from workflows import clock

bp = Blueprint("deadlines", __name__)


class ExtendForm(Form):
    new_due = DateTimeLocalField(
        "新的截止时间", format="%Y-%m-%dT%H:%M", validators=[DataRequired("请填写新的截止时间")]
    )
    reason = TextAreaField("延期理由", validators=[DataRequired("请填写延期理由"), Length(max=REASON_MAX)])


@bp.route("/admin/jobs")
@roles_required("admin", "ops")
def index() -> Any:
    return render_template("deadlines/jobs.html", overview=jobs.overview(db.session))


@bp.route("/admin/jobs/outbox/retry", methods=["POST"])
@roles_required("admin", "ops")
def retry_outbox() -> Any:
    raw = request.form.get("message_id", "")
    message_id = parse_id(raw)
    perform(lambda s: retry(s, message_id), "已重新排队，稍后发送")
    return redirect(url_for("deadlines.index"))


@bp.route("/tasks/<int:record_id>/deadline", methods=["GET", "POST"])
@roles_required("admin")
def extend(record_id: int) -> Any:
    task = db.session.get(TaskRecord, record_id)
    if task is None:
        abort(404)
    form = ExtendForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        new_due = form.new_due.data.replace(tzinfo=clock.SHANGHAI)  # type: ignore[union-attr]
        try:
            run_in_transaction(
                lambda s: extend_deadline(s, current_user, record_id, new_due, form.reason.data or "")
            )
        except OperationError as exc:
            flash(exc.message, "danger")
            errors = exc.fields or {"new_due": exc.message}
        else:
            flash("截止时间已延长，提醒已按新时间重新安排", "success")
            return redirect(url_for("rounds.overview", round_id=task.round_id))
    elif request.method == "POST":
        errors = {name: messages[0] for name, messages in form.errors.items()}
    elif task.due_at is not None:
        form.new_due.data = _local_naive(task.due_at)
    return render_template("deadlines/extend.html", task=task, form=form, errors=errors), (
        422 if errors else 200
    )


def _local_naive(value: datetime) -> datetime:
    local = clock.local(value)
    assert local is not None
    return local.replace(tzinfo=None)

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from app.accounts.models import User
from app.actions import run_in_transaction
from app.auth import roles_required
from app.db import db
from app.deadlines.forms import ExtendForm
from app.deadlines.operations import extend_deadline as extend_deadline_of
from app.errors import OperationError
from app.inputs import parse_id
from app.main.error_pages import error_page
from app.rounds.models import Round
from app.tasks import operations
from app.tasks.context import UploadSettings
from app.tasks.models import TaskRecord
from app.tasks.queries import inbox_page
from app.tasks.registry import form_for
from workflows import clock

bp = Blueprint("tasks", __name__)


def upload_settings() -> UploadSettings:
    config = current_app.config
    return UploadSettings(
        Path(config["UPLOAD_DIR"]), config["MAX_EVIDENCE_BYTES"], config["DISPLAY_IMAGE_MAX_PX"]
    )


@bp.route("/tasks")
@login_required
def inbox() -> Any:
    after = parse_id(request.args.get("after"))
    rows, next_after = inbox_page(db.session, current_user, after)
    round_ids = {r.round_id for r in rows}
    titles = {
        i: t for i, t in db.session.execute(select(Round.id, Round.title).where(Round.id.in_(round_ids)))
    }
    return render_template(
        "tasks/inbox.html",
        rows=rows,
        next_after=next_after,
        round_titles=titles,
    )


@bp.route("/tasks/<int:record_id>", methods=["GET", "POST"])
@login_required
def show(record_id: int) -> Any:
    errors: dict[str, str] = {}
    if request.method == "POST":
        action = request.form.get("action", "submit")
        files = {key: request.files.getlist(key) for key in request.files}
        # A plain dict (first value per key, as MultiDict.get gives): the forms probe many absent
        # keys (blank occurrence rows), and a MultiDict raises and catches an exception for each.
        payload = request.form.to_dict()
        try:
            if action == "draft":
                run_in_transaction(
                    lambda s: operations.save_draft(
                        s, current_user, record_id, payload, files, upload_settings()
                    )
                )
                flash("已暂存", "success")
                return redirect(url_for("tasks.show", record_id=record_id))
            record = run_in_transaction(
                lambda s: operations.complete_task(
                    s, current_user, record_id, payload, files, upload_settings()
                )
            )
            flash(f"“{record.name}”已提交", "success")
            return redirect(url_for("tasks.inbox"))
        except OperationError as exc:
            flash(exc.message, "danger")
            errors = exc.fields
            if exc.status == 409:  # already handled or claimed: show the task as it is now
                return redirect(url_for("tasks.show", record_id=record_id))
            if exc.status in (403, 404):
                return error_page(exc.status, exc.message, "无法办理")
    try:
        record = operations.get_visible(db.session, current_user, record_id)
    except OperationError as exc:
        return error_page(exc.status, exc.message, "无法查看")
    form = form_for(record.form_key)
    ctx = operations.build_context(db.session, current_user, record, upload_settings())
    reassign_to = []
    if current_user.role == "admin" and record.state == "ready":
        reassign_to = operations.reassign_candidates(db.session, record)
    claimer = db.session.get(User, record.claimed_by) if record.claimed_by else None
    return render_template(
        form.template,
        record=record,
        ctx=ctx,
        data=form.context(ctx),
        errors=errors,
        values=request.form,
        claimer=claimer,
        can_work=operations.can_work(current_user, record),
        reassign_to=reassign_to,
        form_def=form,
    )


def _act(action: Any, success: str, then: str) -> Any:
    """Run a task action; refusals of access are real 403/404 answers, conflicts a message."""
    try:
        run_in_transaction(action)
    except OperationError as exc:
        if exc.status in (403, 404):
            return error_page(exc.status, exc.message, "无法办理")
        flash(exc.message, "danger")
    else:
        flash(success, "success")
    return redirect(then)


@bp.route("/tasks/<int:record_id>/claim", methods=["POST"])
@login_required
def claim(record_id: int) -> Any:
    return _act(
        lambda s: operations.claim_task(s, current_user, record_id),
        "已认领，其他人将看不到此任务",
        url_for("tasks.show", record_id=record_id),
    )


@bp.route("/tasks/<int:record_id>/release", methods=["POST"])
@login_required
def release(record_id: int) -> Any:
    return _act(
        lambda s: operations.release_task(s, current_user, record_id),
        "已释放，任务回到待办池",
        url_for("tasks.inbox"),
    )


@bp.route("/tasks/<int:record_id>/reassign", methods=["POST"])
@roles_required("admin")
def reassign(record_id: int) -> Any:
    to_user = parse_id(request.form.get("user_id"))
    if to_user is None:
        flash("请选择转派对象", "danger")
        return redirect(url_for("tasks.show", record_id=record_id))
    return _act(
        lambda s: operations.reassign_task(s, current_user, record_id, to_user),
        "任务已转派",
        url_for("tasks.show", record_id=record_id),
    )


@bp.route("/tasks/<int:record_id>/deadline", methods=["GET", "POST"])
@roles_required("admin")
def extend_deadline(record_id: int) -> Any:
    """延长截止时间: the administrator moves one task's deadline, with a reason."""
    task = db.session.get(TaskRecord, record_id)
    if task is None:
        abort(404)
    form = ExtendForm()
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        new_due = form.new_due.data.replace(tzinfo=clock.SHANGHAI)  # type: ignore[union-attr]
        try:
            run_in_transaction(
                lambda s: extend_deadline_of(s, current_user, record_id, new_due, form.reason.data or "")
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
        local = clock.local(task.due_at)
        assert local is not None
        form.new_due.data = local.replace(tzinfo=None)
    return render_template("tasks/extend_deadline.html", task=task, form=form, errors=errors), (
        422 if errors else 200
    )

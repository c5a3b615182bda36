"""The scheduler's jobs page (定时任务): who holds the lease, incidents, upcoming deadlines, recent
runs and failures, the outbox."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from app.actions import perform
from app.auth import roles_required
from app.db import db
from app.deadlines import operations
from app.deadlines import overview as jobs
from app.inputs import parse_id
from app.notifications.outbox import retry

bp = Blueprint("deadlines", __name__, url_prefix="/deadlines")


@bp.route("")
@roles_required("admin", "ops")
def index() -> Any:
    return render_template("deadlines/jobs.html", overview=jobs.overview(db.session))


@bp.route("/outbox/retry", methods=["POST"])
@roles_required("admin", "ops")
def retry_outbox() -> Any:
    message_id = parse_id(request.form.get("message_id", ""))
    perform(lambda s: retry(s, message_id), "已重新排队，稍后发送")
    return redirect(url_for("deadlines.index"))


@bp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@roles_required("admin")
def retry_incident(incident_id: int) -> Any:
    perform(
        lambda s: operations.retry_incident(s, current_user, incident_id),
        "已安排立即重试，结果稍后显示在本页",
    )
    return redirect(url_for("deadlines.index", _anchor="incidents"))

"""Downloading notices (for those entitled to them) and the public verification page."""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from sqlalchemy import select

from app.actions import perform
from app.auth import roles_required
from app.db import db
from app.notices.jobs import progress_of, retry_failed
from app.notices.models import Notice
from app.notices.numbering import normalise_code
from app.notices.operations import notice_file
from app.rounds.models import Round
from app.rounds.visibility import can_see_notice

bp = Blueprint("notices", __name__)


@bp.route("/notices/<int:notice_id>.pdf")
@login_required
def download(notice_id: int) -> Any:
    notice = db.session.get(Notice, notice_id)
    round_ = db.session.get(Round, notice.round_id) if notice else None
    if notice is None or round_ is None or not can_see_notice(current_user, round_, notice.district_id):
        abort(404)
    response = send_file(
        notice_file(notice),
        mimetype="application/pdf",
        download_name=f"{notice.doc_number} {notice.title}.pdf",
        as_attachment=True,
        max_age=0,
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/rounds/<int:round_id>/notices/progress")
@roles_required("admin", "inspector", "leader", "ops")
def progress(round_id: int) -> Any:
    """How far the background generation of a round's notices is (the overview polls it)."""
    found = progress_of(db.session, round_id)
    if found is None:
        return jsonify({"total": 0, "done": 0, "failed": 0, "pending": 0, "percent": 100})
    return jsonify(
        {
            "total": found.total,
            "done": found.done,
            "failed": found.failed,
            "pending": found.pending,
            "percent": found.percent,
        }
    )


@bp.route("/rounds/<int:round_id>/notices/retry", methods=["POST"])
@roles_required("admin")
def retry(round_id: int) -> Any:
    perform(lambda s: retry_failed(s, current_user.id, round_id), "失败的文件已重新排队生成")
    return redirect(url_for("rounds.overview", round_id=round_id))


class RateLimiter:
    """At most *limit* checks per client address per minute, in this process (a guessing brake;
    behind a proxy, set it to pass the client address)."""

    def __init__(self) -> None:
        self.seen: dict[str, deque[float]] = {}
        self.lock = threading.Lock()

    def allow(self, key: str, limit: int) -> bool:
        now = time.monotonic()
        with self.lock:
            if len(self.seen) > 10_000:
                self.seen.clear()
            hits = self.seen.setdefault(key, deque())
            while hits and hits[0] < now - 60:
                hits.popleft()
            if len(hits) >= limit:
                return False
            hits.append(now)
            return True


limiter = RateLimiter()


@bp.route("/verify", methods=["GET", "POST"])
def verify() -> Any:
    """Public: was a document with this code issued, when, and its hash — nothing else."""
    if request.method == "GET" and "code" not in request.args:
        return render_template("notices/verify.html", outcome=None, code="")
    typed = (request.values.get("code") or "").strip()[:40]
    if not limiter.allow(request.remote_addr or "?", current_app.config["VERIFY_RATE_PER_MINUTE"]):
        return render_template("notices/verify.html", outcome="limited", code=typed), 429
    code = normalise_code(typed)
    if code is None:
        return render_template("notices/verify.html", outcome="malformed", code=typed), 400
    notice = db.session.scalar(select(Notice).where(Notice.verification_code == code))
    if notice is None:
        return render_template("notices/verify.html", outcome="unknown", code=code), 404
    return render_template("notices/verify.html", outcome="issued", code=code, notice=notice)

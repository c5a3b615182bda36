from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, send_file
from flask_login import current_user, login_required

from app.db import db
from app.evidence.models import EvidenceFile
from app.evidence.storage import evidence_path
from app.rounds.models import DistrictAssessment
from app.rounds.visibility import can_see_detail

bp = Blueprint("evidence", __name__, url_prefix="/evidence")


def _visible(evidence_id: int) -> EvidenceFile:
    evidence = db.session.get(EvidenceFile, evidence_id)
    assessment = db.session.get(DistrictAssessment, evidence.assessment_id) if evidence else None
    if evidence is None or assessment is None or not can_see_detail(current_user, assessment):
        abort(404)
    return evidence


def _send(name: str, mimetype: str, download_name: str, as_attachment: bool) -> Any:
    path = evidence_path(Path(current_app.config["UPLOAD_DIR"]), name)
    if not path.exists():
        abort(404)
    response = send_file(
        path, mimetype=mimetype, download_name=download_name, as_attachment=as_attachment, max_age=0
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    )
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.route("/<int:evidence_id>")
@login_required
def download(evidence_id: int) -> Any:
    evidence = _visible(evidence_id)
    return _send(evidence.stored_name, evidence.content_type, evidence.original_name, as_attachment=True)


@bp.route("/<int:evidence_id>/view")
@login_required
def view(evidence_id: int) -> Any:
    """Images inline (display copy); anything else is downloaded."""
    evidence = _visible(evidence_id)
    if evidence.display_name:
        return _send(evidence.display_name, "image/jpeg", f"{evidence.id}.jpg", as_attachment=False)
    if evidence.kind == "pdf":
        return _send(evidence.stored_name, "application/pdf", evidence.original_name, as_attachment=False)
    return _send(evidence.stored_name, evidence.content_type, evidence.original_name, as_attachment=True)

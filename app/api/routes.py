from __future__ import annotations

from typing import Any

from flask import abort, g, jsonify, request
from flask_login import current_user
from flask_smorest import Blueprint
from flask_wtf.csrf import CSRFError, validate_csrf
from sqlalchemy import select
from wtforms import ValidationError

from app.accounts.models import TOKEN_SCOPES
from app.accounts.operations import create_api_token
from app.accounts.signing_in import authenticate
from app.actions import run_in_transaction
from app.api.schemas import (
    ApiErrorSchema,
    CompleteRequest,
    ExportSchema,
    InboxQuery,
    InboxSchema,
    RoundSchema,
    ScoresSchema,
    TaskDetailSchema,
    TaskSchema,
    TokenRequest,
    TokenResponse,
)
from app.auth import client_address
from app.db import db
from app.errors import Forbidden, OperationError
from app.inputs import parse_id
from app.rounds.export import as_json, export_of
from app.rounds.models import DistrictAssessment, Round
from app.rounds.operations import assessments_of, results_of, scores_of
from app.rounds.visibility import can_see_detail, can_see_results, visible_score_stages
from app.tasks import operations
from app.tasks.queries import inbox_count, inbox_page
from app.tasks.registry import form_for
from app.tasks.routes import upload_settings

blp = Blueprint("api", __name__, url_prefix="/api", description="考核任务与结果")


def _error(exc: OperationError) -> Any:
    return jsonify({"error": exc.code, "message": exc.message, "fields": exc.fields}), exc.status


# The scope a bearer token needs for each endpoint; an endpoint not listed is refused to tokens.
ENDPOINT_SCOPES = {
    "api.list_tasks": "tasks",
    "api.get_task": "tasks",
    "api.claim": "tasks",
    "api.release": "tasks",
    "api.complete": "tasks",
    "api.draft": "tasks",
    "api.get_round": "rounds",
    "api.get_scores": "rounds",
    "api.export_round": "export",
}


@blp.before_request
def _authenticate() -> Any:
    if request.endpoint == "api.token":
        return None
    if not current_user.is_authenticated:
        return jsonify({"error": "unauthorized", "message": "请先登录或提供 API 令牌"}), 401
    if g.get("token_auth"):
        needed = ENDPOINT_SCOPES.get(request.endpoint or "")
        if needed is None or needed not in g.get("token_scopes", set()):
            label = TOKEN_SCOPES.get(needed or "", "")
            message = f"该令牌无权调用此接口（需要“{label}”权限）" if label else "该令牌无权调用此接口"
            return jsonify({"error": "scope", "message": message}), 403
    if request.method not in ("GET", "HEAD", "OPTIONS") and not g.get("token_auth"):
        # Cookie sessions must prove the request came from our pages.
        try:
            validate_csrf(request.headers.get("X-CSRFToken", ""))
        except (ValidationError, CSRFError):
            return jsonify({"error": "csrf", "message": "缺少或无效的 CSRF 令牌（X-CSRFToken）"}), 400
    return None


@blp.route("/auth/token", methods=["POST"], endpoint="token")
@blp.arguments(TokenRequest)
@blp.response(201, TokenResponse)
@blp.alt_response(422, schema=ApiErrorSchema)
def token(body: dict[str, Any]) -> Any:
    """Sign in with username and password; returns a bearer token (scopes ``tasks rounds``)."""
    try:
        user = authenticate(db.session, body["username"], body["password"], client_address(), "api")
        if user.must_change_password:
            raise Forbidden("管理员已重置您的密码，请先登录网页设置新密码，再申请令牌")
        with db.transaction() as s:
            record, plain = create_api_token(s, user, user, body.get("name", "API"))
    except OperationError as exc:
        return _error(exc)
    return {"token": plain, "expires_at": record.expires_at}


@blp.route("/tasks", methods=["GET"])
@blp.arguments(InboxQuery, location="query")
@blp.response(200, InboxSchema)
def list_tasks(query: dict[str, Any]) -> Any:
    """My inbox: ready tasks I may work, oldest first, keyset-paged."""
    rows, next_after = inbox_page(db.session, current_user, query.get("after"))
    return {"items": rows, "next_after": next_after, "count": inbox_count(db.session, current_user)}


@blp.route("/tasks/<int:task_id>", methods=["GET"])
@blp.response(200, TaskDetailSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_task(task_id: int) -> Any:
    """One task with the fields its form takes."""
    try:
        record = operations.get_visible(db.session, current_user, task_id)
    except OperationError as exc:
        return _error(exc)
    form = form_for(record.form_key)
    ctx = operations.build_context(db.session, current_user, record, upload_settings())
    detail = {
        name: getattr(record, name)
        for name in (
            "id",
            "name",
            "form_key",
            "element",
            "round_id",
            "district_id",
            "state",
            "claimed_by",
            "due_at",
            "is_overdue",
            "escalated",
            "created_at",
        )
    }
    detail.update({"fields": form.fields(ctx), "supports_draft": form.supports_draft})
    return detail


def _task_action(action: Any) -> Any:
    try:
        record = run_in_transaction(action)
    except OperationError as exc:
        return _error(exc)
    return record


@blp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@blp.response(200, TaskSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
def claim(task_id: int) -> Any:
    return _task_action(lambda s: operations.claim_task(s, current_user, task_id))


@blp.route("/tasks/<int:task_id>/release", methods=["POST"])
@blp.response(200, TaskSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
def release(task_id: int) -> Any:
    return _task_action(lambda s: operations.release_task(s, current_user, task_id))


@blp.route("/tasks/<int:task_id>/complete", methods=["POST"])
@blp.arguments(CompleteRequest)
@blp.response(200, TaskSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
@blp.alt_response(422, schema=ApiErrorSchema)
def complete(body: dict[str, Any], task_id: int) -> Any:
    """Complete a task with the same validation as the web form."""
    values = {
        k: "" if v is None else str(v) if not isinstance(v, bool) else ("1" if v else "")
        for k, v in body["values"].items()
    }
    return _task_action(
        lambda s: operations.complete_task(s, current_user, task_id, values, {}, upload_settings())
    )


@blp.route("/tasks/<int:task_id>/draft", methods=["POST"])
@blp.arguments(CompleteRequest)
@blp.response(200, TaskSchema)
def draft(body: dict[str, Any], task_id: int) -> Any:
    values = {k: "" if v is None else str(v) for k, v in body["values"].items()}
    return _task_action(
        lambda s: operations.save_draft(s, current_user, task_id, values, {}, upload_settings())
    )


def _round(round_id: int) -> Round:
    round_ = db.session.get(Round, round_id)
    if round_ is None:
        abort(404)  # the JSON error handler answers API paths
    return round_


@blp.route("/rounds/<int:round_id>", methods=["GET"])
@blp.response(200, RoundSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_round(round_id: int) -> Any:
    """A round's status and each district's stage (a district sees only itself)."""
    round_ = _round(round_id)
    districts = [
        {
            "district_id": a.district_id,
            "district": a.district.name,
            "stage": a.stage,
            "self_overdue": a.self_overdue,
        }
        for a in assessments_of(db.session, round_id)
        if can_see_detail(current_user, a)
    ]
    return {
        "id": round_.id,
        "title": round_.title,
        "period": round_.period,
        "status": round_.status,
        "scheme": round_.scheme.label,
        "districts_total": round_.districts_total,
        "districts_done": round_.districts_done,
        "districts": districts,
    }


@blp.route("/rounds/<int:round_id>/scores", methods=["GET"])
@blp.response(200, ScoresSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
def get_scores(round_id: int) -> Any:
    """Published results for all; indicator detail only for the district concerned and city staff."""
    round_ = _round(round_id)
    results = []
    if can_see_results(current_user, round_):
        results = [
            {
                "district_id": r.district_id,
                "district": r.district.name,
                "total": str(r.total),
                "rank": r.rank,
                "first_level": r.first_level,
            }
            for r in results_of(db.session, round_id)
        ]
    detail = []
    district_id = parse_id(request.args.get("district_id")) or current_user.district_id
    assessment = None
    if district_id:
        assessment = db.session.scalar(
            select(DistrictAssessment).where(
                DistrictAssessment.round_id == round_id, DistrictAssessment.district_id == district_id
            )
        )
    if assessment is not None and can_see_detail(current_user, assessment):
        stages = visible_score_stages(current_user, round_, assessment)
        scores = scores_of(db.session, round_, assessment)
        detail = [
            {
                "code": code,
                "name": scores.names[code],
                "max": str(leaf.max_points),
                "scores": {stage: str(scores.leaf(stage, code).score) for stage in stages},
            }
            for code, leaf in scores.stages["self"].leaves.items()
        ]
    return {
        "round_id": round_id,
        "published": round_.is_published,
        "results": results,
        "district_detail": detail,
    }


@blp.route("/rounds/<int:round_id>/export", methods=["GET"])
@blp.response(200, ExportSchema)
@blp.alt_response(404, schema=ApiErrorSchema)
@blp.alt_response(409, schema=ApiErrorSchema)
def export_round(round_id: int) -> Any:
    """Final scores per district and first-level indicator of a published round (综合考核)."""
    round_ = _round(round_id)
    try:
        return as_json(export_of(db.session, round_))
    except OperationError as exc:
        return _error(exc)

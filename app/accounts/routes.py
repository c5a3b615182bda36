from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts import operations
from app.accounts.forms import (
    ChangePasswordForm,
    ContactForm,
    LoginForm,
    MoveDistrictForm,
    PasswordResetForm,
    UserForm,
)
from app.accounts.models import TOKEN_SCOPES, ApiToken, SignInFailure, User
from app.accounts.signing_in import authenticate
from app.actions import perform
from app.auth import client_address, roles_required, sign_in, sign_out
from app.db import db
from app.districts.models import District
from app.errors import OperationError
from app.forms import choice_list
from app.inputs import parse_count, parse_id

bp = Blueprint("accounts", __name__)


def _district_choices(blank: bool = True) -> list[tuple[int, str]]:
    districts = db.session.scalars(select(District).order_by(District.sort_order))
    return ([(0, "（无）")] if blank else []) + [(d.id, d.name) for d in districts]


def _safe_next(target: str | None) -> str:
    if target and target.startswith("/") and not target.startswith("//"):
        return target
    return url_for("tasks.inbox")


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if session.pop("expired", False):
        flash("长时间未操作，已自动退出，请重新登录", "warning")
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = authenticate(
                db.session, form.username.data or "", form.password.data or "", client_address()
            )
        except OperationError as exc:
            flash(exc.message, "danger")
        else:
            sign_in(user)
            if user.must_change_password:
                return redirect(url_for("accounts.change_password"))
            return redirect(_safe_next(request.args.get("next")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Any:
    sign_out()
    flash("已退出登录", "info")
    return redirect(url_for("accounts.login"))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    form = ChangePasswordForm()
    if form.validate_on_submit():
        current, new = form.current.data or "", form.password.data or ""
        try:
            user = _on_own_account(lambda s, u: operations.change_own_password(s, u, current, new))
        except OperationError as exc:
            flash(exc.message, "danger")
        else:
            sign_in(user)  # every earlier sign-in ended with the change; this person carries on
            flash("密码已修改，其他设备上的登录和 API 令牌已失效", "success")
            return redirect(url_for("tasks.inbox"))
    return _account_page(form, ContactForm(obj=current_user))


def _on_own_account(change: Callable[[Session, User], User]) -> User:
    """Run *change* on the signed-in user's own row, atomically (refusals raise OperationError)."""
    with db.transaction() as s:
        return change(s, s.merge(current_user._get_current_object()))


def _account_page(form: ChangePasswordForm, contact: ContactForm, errors: dict | None = None) -> Any:
    return render_template("accounts/password.html", form=form, contact=contact, errors=errors or {})


@bp.route("/account/contact", methods=["POST"])
@login_required
def contact() -> Any:
    form = ContactForm()
    if form.validate_on_submit():
        email, mobile = form.email.data or "", form.mobile.data or ""
        try:
            _on_own_account(lambda s, u: operations.update_contact(s, u, email, mobile))
        except OperationError as exc:
            flash(exc.message, "danger")
            return _account_page(ChangePasswordForm(formdata=None), form, exc.fields), 422
        flash("联系方式已保存", "success")
    return redirect(url_for("accounts.change_password"))


@bp.route("/accounts/users", methods=["GET", "POST"])
@roles_required("admin")
def users() -> Any:
    form = UserForm()
    form.district_id.choices = choice_list(_district_choices())
    if form.validate_on_submit():
        try:
            with db.transaction() as s:
                operations.create_user(
                    s,
                    current_user,
                    form.username.data or "",
                    form.display_name.data or "",
                    form.role.data,
                    form.password.data or "",
                    form.district_id.data or None,
                )
        except OperationError as exc:
            flash(exc.message, "danger")
        else:
            flash("用户已创建", "success")
            return redirect(url_for("accounts.users"))
    all_users = db.session.scalars(select(User).order_by(User.role, User.username)).all()
    tokens = db.session.scalars(select(ApiToken).where(ApiToken.revoked_at.is_(None))).all()
    failures = db.session.scalars(select(SignInFailure).order_by(SignInFailure.id.desc()).limit(20)).all()
    return render_template(
        "accounts/users.html",
        users=all_users,
        form=form,
        reset_form=PasswordResetForm(),
        move_form=MoveDistrictForm(),
        districts=_district_choices(blank=False),
        tokens=tokens,
        scopes=TOKEN_SCOPES,
        failures=failures,
    )


def _admin_action(action: Any, success: str) -> Any:
    perform(action, success)
    return redirect(url_for("accounts.users"))


@bp.route("/accounts/tokens", methods=["POST"])
@roles_required("admin")
def create_token() -> Any:
    """An administrator issues a scoped token for an account (a 综合考核 system, say)."""
    raw_user, raw_days = request.form.get("user_id", ""), request.form.get("days", "90")
    user_id, days = parse_id(raw_user), parse_count(raw_days, 366)
    user = db.session.get(User, user_id) if user_id else None
    if user is None or days is None:
        flash("请选择账号并填写有效天数", "danger")
        return redirect(url_for("accounts.users"))
    scopes, name = request.form.getlist("scopes"), request.form.get("name", "")
    try:
        with db.transaction() as s:
            token, plain = operations.create_api_token(s, current_user, s.merge(user), name, days, scopes)
    except OperationError as exc:
        flash(exc.message + "：" + "；".join(exc.fields.values()), "danger")
        return redirect(url_for("accounts.users"))
    # Shown once: only the hash is kept.
    flash(f"已创建令牌 {token.name}，请立即复制保存（只显示这一次）：{plain}", "success")
    return redirect(url_for("accounts.users"))


@bp.route("/accounts/tokens/<int:token_id>/revoke", methods=["POST"])
@roles_required("admin")
def revoke_token(token_id: int) -> Any:
    return _admin_action(lambda s: operations.revoke_api_token(s, current_user, token_id), "API 令牌已吊销")


@bp.route("/accounts/users/<int:user_id>/active", methods=["POST"])
@roles_required("admin")
def set_active(user_id: int) -> Any:
    active = request.form.get("active") == "1"
    return _admin_action(
        lambda s: operations.set_active(s, current_user, user_id, active), "已启用" if active else "已停用"
    )


@bp.route("/accounts/users/<int:user_id>/password", methods=["POST"])
@roles_required("admin")
def reset_password(user_id: int) -> Any:
    form = PasswordResetForm()
    if not form.validate_on_submit():
        flash("请输入新密码", "danger")
        return redirect(url_for("accounts.users"))
    return _admin_action(
        lambda s: operations.reset_password(s, current_user, user_id, form.password.data or ""), "密码已重置"
    )


@bp.route("/accounts/users/<int:user_id>/district", methods=["POST"])
@roles_required("admin")
def move_district(user_id: int) -> Any:
    form = MoveDistrictForm()
    form.district_id.choices = choice_list(_district_choices(blank=False))
    if not form.validate_on_submit():
        flash("请选择区", "danger")
        return redirect(url_for("accounts.users"))
    return _admin_action(
        lambda s: operations.move_to_district(s, current_user, user_id, form.district_id.data), "所属区已调整"
    )

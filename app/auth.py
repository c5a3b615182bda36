"""Who is asking: browser sign-ins, API tokens, idle expiry, the forced password change, and role
decorators.

Pages accept browser sign-ins only; a bearer token is read on the API alone, where each endpoint
names the scope it needs (``app/api/routes.py``). A sign-in is a server-side record that the
session cookie names, so signing out ends it for good: a copy of the cookie taken before is worth
nothing afterwards.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, jsonify, redirect, request, session, url_for
from flask_login import current_user, login_user, logout_user

from app.accounts.models import User
from app.accounts.operations import valid_token
from app.accounts.signing_in import end_sign_in, live_sign_in, start_sign_in
from app.db import db
from app.extensions import login_manager

F = TypeVar("F", bound=Callable[..., Any])

SIGN_IN_KEY = "sign_in"
# Reachable while a reset password waits to be changed (and without signing in at all).
PASSWORD_CHANGE_EXEMPT = frozenset(
    {
        "static",
        "accounts.change_password",
        "accounts.logout",
        "accounts.login",
        "main.healthz",
        "notices.verify",
    }
)


def client_address() -> str:
    """The client's address: behind the reverse proxy, as its header says (REVERSE_PROXY_HOPS)."""
    return (request.remote_addr or "-")[:45]


def is_api_request() -> bool:
    return request.path.startswith("/api/")


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    key = session.get(SIGN_IN_KEY)
    if not isinstance(key, str):
        return None
    idle = current_app.config["PERMANENT_SESSION_LIFETIME"]
    sign_in, expired = live_sign_in(db.session, key, idle)
    if expired:
        g.sign_in_expired = True
    if sign_in is None or str(sign_in.user_id) != user_id or not sign_in.user.active:
        return None
    return sign_in.user


@login_manager.request_loader
def _load_valid_token(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer ") or not is_api_request():
        return None  # pages never take a token as a login, whatever its scopes
    token = valid_token(db.session, header.removeprefix("Bearer ").strip())
    if token is None:
        return None
    g.token_auth = True
    g.token_scopes = token.scope_set
    return token.user


def sign_in(user: User) -> None:
    """Start a browser sign-in for *user* (after the password was checked) in a fresh session."""
    session.clear()
    with db.transaction() as s:
        key = start_sign_in(s, s.merge(user), client_address(), request.headers.get("User-Agent", ""))
    login_user(user)
    session[SIGN_IN_KEY] = key
    session.permanent = True


def sign_out() -> None:
    key = session.get(SIGN_IN_KEY)
    if isinstance(key, str):
        with db.transaction() as s:
            end_sign_in(s, key)
    logout_user()
    session.clear()


def init_app(app: Flask) -> None:
    @app.before_request
    def _who_is_asking() -> Any:
        if request.endpoint == "static":
            return None
        # Loading the user first, before any route opens a transaction: the loaders commit their
        # last-seen writes.
        authenticated = current_user.is_authenticated
        if g.get("sign_in_expired"):
            logout_user()
            session.clear()
            session["expired"] = True
            return None
        if not authenticated or g.get("token_auth"):
            return None
        if current_user.must_change_password and request.endpoint not in PASSWORD_CHANGE_EXEMPT:
            if is_api_request():
                message = "管理员已重置您的密码，请先在网页上设置新密码"
                return jsonify({"error": "password_change_required", "message": message}), 403
            return redirect(url_for("accounts.change_password"))  # the page says why
        return None


def roles_required(*roles: str) -> Callable[[F], F]:
    """Refuse (403) any signed-in user whose role is not one of *roles*."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator

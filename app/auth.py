"""Who is asking: session users, API tokens, idle expiry, and role decorators."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Flask, abort, g, request, session
from flask_login import current_user, logout_user

from app.accounts.models import User
from app.accounts.operations import valid_token
from app.db import db
from app.extensions import login_manager
from workflows import clock

F = TypeVar("F", bound=Callable[..., Any])


@login_manager.user_loader
def _load_user(user_id: str) -> User | None:
    try:
        raw_id, generation = user_id.split(":")
        user = db.session.get(User, int(raw_id))
    except (ValueError, TypeError):
        return None
    # A password change or disable bumps the generation and ends older sessions.
    if user is None or str(user.session_generation) != generation or not user.active:
        return None
    return user


@login_manager.request_loader
def _load_valid_token(req: Any) -> User | None:
    header = req.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = valid_token(db.session, header.removeprefix("Bearer ").strip())
    if token is None:
        return None
    g.token_auth = True
    g.token_scopes = token.scope_set
    return token.user


def init_app(app: Flask) -> None:
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]

    @app.before_request
    def _idle_timeout() -> None:
        if request.endpoint == "static":
            return
        now = clock.now().timestamp()
        last = session.get("last_seen")
        if current_user.is_authenticated and not g.get("token_auth"):
            if last is not None and now - last > lifetime.total_seconds():
                logout_user()
                session.clear()
                session["expired"] = True
                return
            session.permanent = True
            session["last_seen"] = now


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

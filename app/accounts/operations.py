"""Every state change of accounts: sign-in bookkeeping, users, passwords, tokens."""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import (
    INTEGRATION_ROLE,
    INTEGRATION_SCOPES,
    NO_PASSWORD,
    PERSONAL_SCOPES,
    ROLE_LABELS,
    TOKEN_SCOPES,
    ApiToken,
    User,
)
from app.accounts.passwords import hash_password, password_problems, verify_password
from app.accounts.signing_in import end_all_sign_ins, unlock
from app.audit.operations import record
from app.districts.models import District
from app.errors import Conflict, NotFound, ValidationFailed
from app.tasks.operations import release_all_claims
from workflows import clock
from workflows.store import rowcount


def _check_password(password: str, username: str) -> None:
    problems = password_problems(password, username)
    if problems:
        raise ValidationFailed("；".join(problems), {"password": "；".join(problems)})


def _district_for_role(session: Session, role: str, district_id: int | None) -> int | None:
    if role not in ROLE_LABELS:
        raise ValidationFailed("角色无效", {"role": "角色无效"})
    if role == "liaison":
        if district_id is None or session.get(District, district_id) is None:
            raise ValidationFailed("区联络员必须指定所属区", {"district_id": "请选择所属区"})
        return district_id
    return None


def create_user(
    session: Session,
    actor: User | None,
    username: str,
    display_name: str,
    role: str,
    password: str,
    district_id: int | None = None,
) -> User:
    username = username.strip()
    if not username or len(username) > 50:
        raise ValidationFailed("用户名不能为空且不超过 50 个字符", {"username": "用户名无效"})
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("用户名已存在", {"username": "用户名已存在"})
    district_id = _district_for_role(session, role, district_id)
    if role == INTEGRATION_ROLE:
        password_hash = NO_PASSWORD  # a system's account: it holds issued tokens, never a password
    else:
        _check_password(password, username)
        password_hash = hash_password(password)
    user = User(
        username=username,
        display_name=display_name.strip() or username,
        role=role,
        district_id=district_id,
        password_hash=password_hash,
    )
    session.add(user)
    session.flush()
    record(
        session,
        actor.id if actor else None,
        "account.create",
        ("user", user.id),
        f"创建用户 {username}（{ROLE_LABELS[role]}）",
        after={"username": username, "role": role, "district_id": district_id},
    )
    return user


def _get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound("用户不存在")
    return user


def set_active(session: Session, actor: User, user_id: int, active: bool) -> User:
    user = _get_user(session, user_id)
    if user.id == actor.id and not active:
        raise ValidationFailed("不能停用自己的账号")
    before = user.active
    user.active = active
    if not active:
        # Re-enabling later revives neither: the person signs in again, tokens are issued anew.
        _cut_off(session, user, "disabled")
    record(
        session,
        actor.id,
        "account.enable" if active else "account.disable",
        ("user", user.id),
        f"{'启用' if active else '停用'}用户 {user.username}",
        before={"active": before},
        after={"active": active},
    )
    return user


def reset_password(session: Session, actor: User, user_id: int, new_password: str) -> User:
    user = _get_user(session, user_id)
    if user.is_integration:
        raise ValidationFailed("接口账号没有密码，请为其签发或吊销令牌", {"password": "接口账号没有密码"})
    _check_password(new_password, user.username)
    user.password_hash = hash_password(new_password)
    user.must_change_password = actor.id != user.id
    _cut_off(session, user, "password_reset")
    unlock(session, user.username)
    record(session, actor.id, "account.password_reset", ("user", user.id), f"重置用户 {user.username} 的密码")
    return user


def change_own_password(session: Session, user: User, current: str, new_password: str) -> User:
    if not verify_password(user.password_hash, current):
        raise ValidationFailed("当前密码不正确", {"current": "当前密码不正确"})
    _check_password(new_password, user.username)
    if verify_password(user.password_hash, new_password):
        raise ValidationFailed("新密码不能与当前密码相同", {"password": "新密码不能与当前密码相同"})
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    # Every sign-in ends, this one too: the caller starts a fresh one for the person at hand.
    _cut_off(session, user, "password_change")
    record(session, user.id, "account.password_change", ("user", user.id), "修改密码")
    return user


def _cut_off(session: Session, user: User, reason: str) -> None:
    """End the user's sign-ins and revoke their tokens (a credential or a scope changed)."""
    end_all_sign_ins(session, user.id, reason)
    revoke_tokens_of(session, user.id, reason)


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MOBILE = re.compile(r"^1\d{10}$")


def update_contact(session: Session, user: User, email: str, mobile: str) -> User:
    """The user's own addresses for e-mail and SMS notifications (both optional)."""
    email, mobile = (email or "").strip(), (mobile or "").strip()
    errors = {}
    if email and (len(email) > 200 or not EMAIL.match(email)):
        errors["email"] = "邮箱格式不正确"
    if mobile and not MOBILE.match(mobile):
        errors["mobile"] = "手机号应为 11 位数字，以 1 开头"
    if errors:
        raise ValidationFailed("联系方式未保存，请检查标红的项目", errors)
    before = {"email": user.email, "mobile": user.mobile}
    user.email, user.mobile = email, mobile
    record(
        session,
        user.id,
        "account.contact",
        ("user", user.id),
        "修改联系方式",
        before=before,
        after={"email": email, "mobile": mobile},
    )
    return user


def move_to_district(session: Session, actor: User, user_id: int, district_id: int) -> User:
    user = _get_user(session, user_id)
    if user.role != "liaison":
        raise ValidationFailed("只有区联络员属于某个区")
    if session.get(District, district_id) is None:
        raise ValidationFailed("区不存在", {"district_id": "区不存在"})
    before = user.district_id
    user.district_id = district_id
    # Their claimed tasks of the old district are released so the new liaison there can take them.
    release_all_claims(session, actor, user.id, district_id=before)
    _cut_off(session, user, "moved")
    record(
        session,
        actor.id,
        "account.move_district",
        ("user", user.id),
        f"调整用户 {user.username} 的所属区",
        before={"district_id": before},
        after={"district_id": district_id},
    )
    return user


def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_api_token(
    session: Session,
    actor: User,
    user: User,
    name: str,
    days: int = 90,
    scopes: Iterable[str] | None = None,
) -> tuple[ApiToken, str]:
    """A new token; the plain value is returned once and never stored.

    A person's tokens carry the person's scopes (tasks, rounds); the 综合考核 export belongs to
    an 接口账号, so a person's password change never breaks the integration."""
    allowed = INTEGRATION_SCOPES if user.is_integration else PERSONAL_SCOPES
    chosen = sorted(allowed) if scopes is None else sorted(set(scopes))
    errors = {}
    if not chosen or any(s not in TOKEN_SCOPES for s in chosen):
        errors["scopes"] = "请选择令牌的权限范围"
    elif any(s not in allowed for s in chosen):
        errors["scopes"] = (
            "接口账号的令牌只能用于综合考核数据导出"
            if user.is_integration
            else "综合考核数据导出须签发给接口账号，个人账号的令牌只能用于待办任务和轮次查询"
        )
    if not 1 <= days <= 366:
        errors["days"] = "有效期须在 1 到 366 天之间"
    if not user.active:
        errors["user_id"] = "该账号已停用"
    if errors:
        raise ValidationFailed("令牌未创建，请检查标红的项目", errors)
    plain = "szcg_" + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name.strip()[:100] or "API",
        prefix=plain[:12],
        token_hash=_token_digest(plain),
        scopes=" ".join(chosen),
        expires_at=clock.now() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    record(
        session,
        actor.id,
        "api_token.create",
        ("api_token", token.id),
        f"为 {user.username} 创建 API 令牌 {token.name}（{token.scopes}）",
        after={"scopes": token.scopes, "days": days},
    )
    return token, plain


def valid_token(session: Session, plain: str) -> ApiToken | None:
    """The live token with this value (not revoked, not expired, its user active); marks it used."""
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _token_digest(plain)))
    now = clock.now()
    if token is None or token.revoked_at is not None or (token.expires_at and token.expires_at < now):
        return None
    if not token.user.active:
        return None
    # Written at most once a minute per token, so a busy client does not write on every call.
    if token.last_used_at is None or token.last_used_at < now - timedelta(minutes=1):
        session.execute(update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        session.commit()
    return token


def revoke_api_token(session: Session, actor: User, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or token.revoked_at is not None or (actor.role != "admin" and token.user_id != actor.id):
        raise NotFound("令牌不存在")
    token.revoked_at = clock.now()
    token.revoke_reason = "revoked"
    record(session, actor.id, "api_token.revoke", ("api_token", token.id), f"吊销 API 令牌 {token.name}")


def revoke_tokens_of(session: Session, user_id: int, reason: str) -> int:
    """Revoke every live token of a user; audited by the operation that calls this."""
    return rowcount(
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=clock.now(), revoke_reason=reason)
            .execution_options(synchronize_session=False)
        )
    )

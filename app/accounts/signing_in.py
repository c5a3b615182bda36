"""Signing in and out: credentials checked under a throttle, one record per browser sign-in.

Throttling is per account name *and* client address: five wrong passwords lock only that pair
for a while, so nobody can lock the leader out on 审定 day by guessing from elsewhere, and the
account's owner is told. Each attempt is counted before the password is checked, so concurrent
guesses cannot slip past the limit. Every failure is recorded with its time and address.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from app.accounts.models import SignIn, SignInFailure, User
from app.accounts.passwords import hash_password, verify_password
from app.audit.operations import record
from app.errors import ValidationFailed
from app.notifications.operations import notify
from app.ratelimits import operations as ratelimits
from workflows import clock

BUCKET = "login"
WRONG = "用户名或密码错误"
# A hash to compare against when the username does not exist, so timing does not tell.
_DUMMY_HASH = hash_password("not-a-real-password-Xy1!")
TOUCH_EVERY = timedelta(minutes=1)


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _throttle_key(username: str, address: str) -> str:
    return f"{username.strip().lower()[:50]}|{address}"


def authenticate(session: Session, username: str, password: str, address: str, channel: str = "page") -> User:
    """The user, if the password is right and the account may sign in; otherwise one message for
    every cause, so neither existing names nor a disabled account's right password are revealed.

    Commits: the attempt's count and a failure's record must outlive the refusal."""
    config = current_app.config
    limit, minutes = config["LOGIN_MAX_FAILURES"], config["LOGIN_LOCK_MINUTES"]
    name = username.strip()[:50]
    key = _throttle_key(name, address)
    attempt = ratelimits.take(session, BUCKET, key, timedelta(minutes=minutes))
    user = session.scalar(select(User).where(User.username == name))
    if attempt.locked() or attempt.count > limit:
        _failed(session, name, user, address, "throttled", channel)
        session.commit()
        raise ValidationFailed(f"登录失败次数过多，请 {attempt.minutes_left() or minutes} 分钟后再试")
    reason = _refusal(user, password)
    if reason is not None:
        _failed(session, name, user, address, reason, channel)
        if attempt.count >= limit:
            until = clock.now() + timedelta(minutes=minutes)
            if ratelimits.lock(session, BUCKET, key, until) and user is not None:
                _tell_owner(session, user, address, limit, minutes)
        session.commit()
        raise ValidationFailed(WRONG)
    assert user is not None
    ratelimits.clear(session, BUCKET, key)
    user.last_login_at = clock.now()
    session.commit()
    return user


def _refusal(user: User | None, password: str) -> str | None:
    if user is None:
        verify_password(_DUMMY_HASH, password)
        return "unknown_user"
    if user.is_integration:
        verify_password(_DUMMY_HASH, password)
        return "no_password"
    if not verify_password(user.password_hash, password):
        return "wrong_password"
    if not user.active:
        return "disabled"
    return None


def _failed(session: Session, name: str, user: User | None, address: str, reason: str, channel: str) -> None:
    session.add(
        SignInFailure(
            username=name, user_id=user.id if user else None, address=address, reason=reason, channel=channel
        )
    )
    current_app.logger.warning("sign-in failed: %r from %s (%s, %s)", name, address, reason, channel)


def _tell_owner(session: Session, user: User, address: str, limit: int, minutes: int) -> None:
    local = clock.local(clock.now())
    when = local.strftime("%Y-%m-%d %H:%M") if local else ""
    record(
        session,
        None,
        "account.throttled",
        ("user", user.id),
        f"{user.username} 自 {address} 连续 {limit} 次密码错误，该地址暂停登录 {minutes} 分钟",
        after={"address": address},
    )
    notify(
        session,
        [user.id],
        "账号登录异常提醒",
        f"{when} 有人从地址 {address} 连续 {limit} 次输入错误密码登录您的账号，"
        f"已暂停该地址登录此账号 {minutes} 分钟，您在其他设备上的登录不受影响。"
        "如非本人操作，请修改密码并告知考核管理员。",
        "/account/password",
    )


def start_sign_in(session: Session, user: User, address: str, user_agent: str) -> str:
    """Record a new sign-in and return the key the session cookie will carry (shown only here)."""
    key = secrets.token_urlsafe(32)
    session.add(
        SignIn(key_hash=_digest(key), user_id=user.id, address=address, user_agent=(user_agent or "")[:200])
    )
    record(session, user.id, "account.login", ("user", user.id), "登录", after={"address": address})
    return key


def live_sign_in(session: Session, key: str, idle: timedelta) -> tuple[SignIn | None, bool]:
    """The sign-in the cookie names, if it has not ended, and whether it just expired from idleness.

    Its last-seen time is written at most once a minute (committed here: call it first thing in
    a request)."""
    sign_in = session.scalar(select(SignIn).where(SignIn.key_hash == _digest(key)))
    if sign_in is None or sign_in.ended_at is not None:
        return None, False
    now = clock.now()
    if now - sign_in.last_seen_at > idle:
        _end(session, [sign_in.id], "idle")
        session.commit()
        return None, True
    if now - sign_in.last_seen_at >= TOUCH_EVERY:
        session.execute(
            update(SignIn)
            .where(SignIn.id == sign_in.id)
            .values(last_seen_at=now)
            .execution_options(synchronize_session=False)
        )
        session.commit()
    return sign_in, False


def end_sign_in(session: Session, key: str) -> None:
    """Sign out: this sign-in only (the same person stays signed in on their other devices)."""
    sign_in = session.scalar(select(SignIn).where(SignIn.key_hash == _digest(key)))
    if sign_in is not None and sign_in.ended_at is None:
        _end(session, [sign_in.id], "logout")
        record(session, sign_in.user_id, "account.logout", ("user", sign_in.user_id), "退出登录")


def end_all_sign_ins(session: Session, user_id: int, reason: str) -> int:
    """End every open sign-in of a user (password changed or reset, disabled, moved)."""
    ids = list(session.scalars(select(SignIn.id).where(SignIn.user_id == user_id, SignIn.ended_at.is_(None))))
    _end(session, ids, reason)
    return len(ids)


def _end(session: Session, ids: list[int], reason: str) -> None:
    if ids:
        session.execute(
            update(SignIn)
            .where(SignIn.id.in_(ids), SignIn.ended_at.is_(None))
            .values(ended_at=clock.now(), end_reason=reason)
            .execution_options(synchronize_session=False)
        )


def unlock(session: Session, username: str) -> int:
    """Lift every address's throttle on an account (the administrator's reset does this)."""
    return ratelimits.clear(session, BUCKET, key_prefix=f"{username.strip().lower()[:50]}|")

from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.db import Base
from app.districts.models import District
from workflows import clock

ROLE_LABELS = {
    "liaison": "区联络员",
    "inspector": "核查员",
    "admin": "考核管理员",
    "leader": "领导",
    "ops": "运维",
    "integration": "接口账号",
}
CITY_ROLES = frozenset({"inspector", "admin", "leader", "ops"})
# City staff who work on the districts' case files (facts, evidence, letters). 运维 runs the system
# (jobs, health, backups) and sees none of them.
CASE_ROLES = frozenset({"inspector", "admin", "leader"})
# An 接口账号 belongs to a system (the 综合考核 platform), not a person: no password, no page
# sign-in, only the scoped tokens an administrator issues to it.
INTEGRATION_ROLE = "integration"
NO_PASSWORD = "!"  # noqa: S105 - stored in place of a hash: no password ever verifies against it


class User(UserMixin, Base):
    """A person who signs in. Liaisons belong to one district; city staff to none."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(50), unique=True)
    display_name: Mapped[str] = mapped_column(String(50))
    role: Mapped[str] = mapped_column(String(20))
    district_id: Mapped[int | None] = mapped_column(ForeignKey("districts.id"), nullable=True)
    # Addresses for the outside notification channels (e-mail, an SMS gateway); optional.
    email: Mapped[str] = mapped_column(String(200), default="")
    mobile: Mapped[str] = mapped_column(String(20), default="")
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)

    district: Mapped[District | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return str(self.id)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_city_staff(self) -> bool:
        return self.role in CITY_ROLES

    @property
    def is_case_staff(self) -> bool:
        return self.role in CASE_ROLES

    @property
    def is_integration(self) -> bool:
        return self.role == INTEGRATION_ROLE


class SignIn(Base):
    """登录会话 — one browser sign-in. The session cookie names it by a random key (only the key's
    SHA-256 is stored); signing out ends this one, a password change or reset ends them all."""

    __tablename__ = "sign_ins"
    __table_args__ = (Index("ix_sign_ins_user", "user_id", "ended_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    address: Mapped[str] = mapped_column(String(45), default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="")
    started_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Written at most once a minute, not on every request.
    last_seen_at: Mapped[datetime] = mapped_column(default=clock.now)
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    end_reason: Mapped[str] = mapped_column(String(20), default="")

    user: Mapped[User] = relationship(lazy="joined")


FAILURE_REASONS = {
    "unknown_user": "用户名不存在",
    "wrong_password": "密码错误",
    "disabled": "账号已停用",
    "no_password": "接口账号不能登录",
    "throttled": "尝试过多，已限制",
}


class SignInFailure(Base):
    """登录失败记录 — every failed attempt, unknown usernames included, with time and address
    (the monthly operations inspection counts them)."""

    __tablename__ = "sign_in_failures"
    __table_args__ = (Index("ix_sign_in_failures_at", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=clock.now)
    username: Mapped[str] = mapped_column(String(50))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    address: Mapped[str] = mapped_column(String(45), default="")
    reason: Mapped[str] = mapped_column(String(20))
    channel: Mapped[str] = mapped_column(String(10), default="page")  # page | api

    @property
    def reason_label(self) -> str:
        return FAILURE_REASONS.get(self.reason, self.reason)


# What a bearer token may call (one token model for the whole API); session logins are not scoped.
TOKEN_SCOPES = {
    "tasks": "待办任务（查看、认领、办理）",
    "rounds": "轮次与得分（只读，按账号权限）",
    "export": "综合考核数据导出（已发布轮次）",
}
DEFAULT_SCOPES = "tasks rounds"
# A person's tokens act as that person; an 接口账号's tokens only export published results.
PERSONAL_SCOPES = frozenset({"tasks", "rounds"})
INTEGRATION_SCOPES = frozenset({"export"})


class ApiToken(Base):
    """A bearer token for the JSON API; only its hash is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(12))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[str] = mapped_column(Text, default=DEFAULT_SCOPES)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    expires_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(nullable=True)
    revoke_reason: Mapped[str] = mapped_column(String(40), default="")

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())

    @property
    def scope_labels(self) -> list[str]:
        return [TOKEN_SCOPES[s] for s in TOKEN_SCOPES if s in self.scope_set]

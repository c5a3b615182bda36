from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
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
}
CITY_ROLES = frozenset({"inspector", "admin", "leader", "ops"})


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
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(nullable=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    last_login_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column(default=clock.now)
    # Bumped on password change or disable: old sessions carry the old value and are refused.
    session_generation: Mapped[int] = mapped_column(Integer, default=0)

    district: Mapped[District | None] = relationship(lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    def get_id(self) -> str:
        return f"{self.id}:{self.session_generation}"

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    @property
    def is_city_staff(self) -> bool:
        return self.role in CITY_ROLES


# What a bearer token may call (one token model for the whole API); session logins are not scoped.
TOKEN_SCOPES = {
    "tasks": "待办任务（查看、认领、办理）",
    "rounds": "轮次与得分（只读，按账号权限）",
    "export": "综合考核数据导出（已发布轮次）",
}
DEFAULT_SCOPES = "tasks rounds"


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

    user: Mapped[User] = relationship(lazy="joined")

    @property
    def scope_set(self) -> set[str]:
        return set(self.scopes.split())

    @property
    def scope_labels(self) -> list[str]:
        return [TOKEN_SCOPES[s] for s in TOKEN_SCOPES if s in self.scope_set]

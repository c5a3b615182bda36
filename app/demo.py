"""Demo data: the six districts, one account per role, the 2026 scheme and an open round."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.accounts.models import User
from app.accounts.operations import create_user
from app.districts.models import District
from app.rounds.issuing import issue_round
from app.rounds.models import Round
from app.schemes.models import Scheme
from app.schemes.operations import load_default_scheme
from workflows import clock

DISTRICTS = [
    ("wujiang", "吴江区", "沈佳怡"),
    ("wuzhong", "吴中区", "陆文杰"),
    ("xiangcheng", "相城区", "顾晓燕"),
    ("gusu", "姑苏区", "钱志强"),
    ("sip", "苏州工业园区", "周敏"),
    ("snd", "苏州高新区", "徐磊"),
]
LIAISON_NAMES = {code: person for code, _name, person in DISTRICTS}
DEMO_PASSWORD = "Szcg#2026demo"  # noqa: S105 - printed demo login, documented in the README
STAFF = [
    ("admin", "王建国", "admin"),
    ("leader", "李振华", "leader"),
    ("ops", "赵一鸣", "ops"),
    ("inspector1", "张海峰", "inspector"),
    ("inspector2", "孙丽娟", "inspector"),
]


def seed_districts(session: Session) -> list[District]:
    districts = []
    for order, (code, name, _person) in enumerate(DISTRICTS):
        district = session.scalar(select(District).where(District.code == code))
        if district is None:
            district = District(code=code, name=name, sort_order=order)
            session.add(district)
        districts.append(district)
    session.flush()
    return districts


def seed_default_scheme(session: Session) -> Scheme:
    return load_default_scheme(session, 2026, "2026版", "城管执法考核实施细则（执法实效+队伍管理）")


def seed_users(session: Session, districts: list[District]) -> list[tuple[str, str, str]]:
    logins = []
    accounts: list[tuple[str, str, str, int | None]] = [(u, n, r, None) for u, n, r in STAFF]
    accounts += [(f"liaison_{d.code}", LIAISON_NAMES[d.code], "liaison", d.id) for d in districts]
    for username, name, role, district_id in accounts:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, None, username, name, role, DEMO_PASSWORD, district_id)
        logins.append((username, name, DEMO_PASSWORD))
    return logins


def seed_demo(session: Session, with_round: bool = True) -> list[tuple[str, str, str]]:
    districts = seed_districts(session)
    scheme = seed_default_scheme(session)
    logins = seed_users(session, districts)
    if with_round and session.scalar(select(Round.id).limit(1)) is None:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        now = clock.local(clock.now())
        assert now is not None
        period = f"{now.year}-{now.month:02d}"
        issue_round(
            session,
            admin,
            f"{now.year}年{now.month}月城管执法考核",
            period,
            scheme.id,
            [d.id for d in districts],
            {
                "self_report": {
                    "kind": "fixed",
                    "at": (now + timedelta(days=7)).replace(hour=17, minute=0, second=0, microsecond=0),
                },
                "verification": {"kind": "days", "days": 7},
                "appeal": {"kind": "days", "days": 3},
                "review": {"kind": "days", "days": 5},
            },
        )
    return logins

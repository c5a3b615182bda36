"""Where a district whose veto fails the period ranks: after all the others on new scheme versions,
by its total on the versions that existed before the setting; stated on the results page and in
the circular, and never changed for a published round by a recomputation."""

from __future__ import annotations

import io
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from app.db import db
from app.notices.jobs import run_pending
from app.notices.models import Notice
from app.rounds.models import RoundResult
from app.schemes.models import Scheme
from tests.helpers import complete_round, occurrence

pytestmark = pytest.mark.db

RULE = "一票否决（当期不达标）的单位排在其他单位之后"
# At verification 姑苏 keeps full marks but a fail veto is found; 园区 loses one point on DW03.
VERIFICATION = {
    "gusu": {
        "f_VETO_item_violent_enforcement": "1",
        "f_VETO_desc": "执法过程中殴打当事人",
        "reason_VETO": "经查属实",
    },
    "sip": {
        "f_DW03_present": "1",
        **occurrence("DW03", 1, "执勤着装不规范", "superior"),
        "reason_DW03": "省厅督查发现着装不规范",
    },
}


def results() -> dict[str, tuple[Decimal, int, bool, str]]:
    db.session.expire_all()
    return {
        r.district.code: (r.total, r.rank, r.failed, r.grade) for r in db.session.scalars(select(RoundResult))
    }


def circular_text(app: Flask, round_id: int) -> str:
    with app.app_context():
        run_pending()  # what the scheduler's notice job does in the background
    db.session.expire_all()
    circular = db.session.scalar(select(Notice).where(Notice.round_id == round_id, Notice.kind == "circular"))
    assert circular is not None
    pdf = (Path(app.config["NOTICE_DIR"]) / circular.path).read_bytes()
    # Table cells wrap (苏州工 / 业园区): the text is read as one line.
    return "".join(page.extract_text().replace("\n", "") for page in PdfReader(io.BytesIO(pdf)).pages)


def recompute(app: Flask, round_id: int) -> Any:
    return app.test_cli_runner().invoke(args=["round", "recompute", str(round_id)])


def test_a_new_version_ranks_a_vetoed_district_after_every_clean_one(app, demo, client_as) -> None:
    assert db.session.scalar(select(Scheme.vetoed_rank_last)) is True  # created after the setting
    round_id = complete_round(client_as, ["gusu", "sip"], VERIFICATION)

    # A vetoed 75.00 below a clean 74.00; totals and grades are what they were.
    assert results() == {
        "gusu": (Decimal("75.00"), 2, True, "不达标"),
        "sip": (Decimal("74.00"), 1, False, "优"),
    }
    page = client_as("leader").get(f"/rounds/{round_id}/results").get_data(as_text=True)
    assert f"得分相同者名次并列，其后名次顺延（如 1、1、3）；{RULE}。" in page
    assert page.index("苏州工业园区") < page.index("姑苏区")
    assert "姑苏区：否决事项「暴力执法造成恶劣影响」成立" in page

    text = circular_text(app, round_id)
    assert f"排名规则：{RULE}。" in text
    assert text.index("1 苏州工业园区") < text.index("2 姑苏区")

    outcome = recompute(app, round_id)
    assert outcome.exit_code == 0 and "重算结果与已存结果一致" in outcome.output


def test_a_version_from_before_the_setting_keeps_ranking_by_total(app, demo, client_as) -> None:
    """What migration 0012 gives every existing version: its rounds rank, recompute and read as
    before, and the setting cannot be switched on for a version a round has used."""
    with db.transaction() as session:
        session.scalar(select(Scheme)).vetoed_rank_last = False
    round_id = complete_round(client_as, ["gusu", "sip"], VERIFICATION)

    assert results() == {
        "gusu": (Decimal("75.00"), 1, True, "不达标"),
        "sip": (Decimal("74.00"), 2, False, "优"),
    }
    page = client_as("leader").get(f"/rounds/{round_id}/results").get_data(as_text=True)
    assert "得分相同者名次并列，其后名次顺延（如 1、1、3）。" in page and RULE not in page
    text = circular_text(app, round_id)
    assert "排名规则" not in text
    assert text.index("1 姑苏区") < text.index("2 苏州工业园区")

    admin = client_as("admin")
    scheme_id = db.session.scalar(select(Scheme.id))
    refused = admin.post(
        f"/schemes/{scheme_id}/settings",
        data={
            "rounding_places": "2",
            "rounding_mode": "half_up",
            "grade_bands": "优 90，良 80，中 60，差 0",
            "tie_break": "",
            "annual_rule": "mean_scaled",
            "vetoed_rank_last": "y",
        },
        follow_redirects=True,
    )
    assert "已被考核轮次使用，不能修改" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(select(Scheme.vetoed_rank_last)) is False
    outcome = recompute(app, round_id)
    assert outcome.exit_code == 0 and "重算结果与已存结果一致" in outcome.output
    assert results()["gusu"][1] == 1

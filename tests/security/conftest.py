"""A round in progress that the security tests probe: 姑苏区 has reported with a photo and is being
verified; the other districts are still reporting."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from app.db import db
from app.evidence.models import EvidenceFile
from app.notices.operations import issue_notice
from app.rounds.models import DistrictAssessment, Round
from app.schemes.models import Indicator
from tests.evidence.builders import jpeg
from tests.helpers import district_ids, full_marks, issue_round, occurrence, task_of


@pytest.fixture
def world(app, demo, client_as):
    """A round where 姑苏区 has submitted its self-report with a photo; verification is open."""
    ids = district_ids()
    issue_round(client_as("admin"))
    gusu = client_as("liaison_gusu")
    record = task_of("self_report", ids["gusu"])
    response = gusu.post(
        f"/tasks/{record.id}",
        data=full_marks(
            {
                "action": "submit",
                **occurrence("DW03", 1, "着装不规范"),
                "reason_DW03": "着装不规范",
                "evidence_DW03": (io.BytesIO(jpeg(size=(32, 32), colour="white")), "着装.jpg"),
            }
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    round_ = db.session.scalar(select(Round))
    assessment = db.session.scalar(
        select(DistrictAssessment).where(DistrictAssessment.district_id == ids["gusu"])
    )
    with app.app_context(), db.transaction() as session:
        letter = issue_notice(
            session,
            None,
            "letter",
            session.get(Round, round_.id),
            session.get(DistrictAssessment, assessment.id),
            "verified",
        )
        notice_id = letter.id
    return {
        "round": round_.id,
        "gusu": ids["gusu"],
        "wujiang": ids["wujiang"],
        "instance": assessment.instance_id,
        "task": task_of("verification", ids["gusu"]).id,
        "evidence": db.session.scalar(select(EvidenceFile.id)),
        "scheme": round_.scheme_id,
        "indicator": db.session.scalar(select(Indicator.id).where(Indicator.code == "ZF0301")),
        "user": 2,
        "notice": notice_id,
    }

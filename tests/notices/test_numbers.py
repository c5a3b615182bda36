"""Document numbers: every document of a round has its own, whatever runs at the same time, and
the bureau sets each kind's 代字 and format."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from app.appeals.models import Appeal
from app.audit.models import AuditRecord
from app.db import db
from app.notices.jobs import run_pending
from app.notices.models import Notice, NumberingRule
from tests.helpers import (
    appeal_adjustment,
    correct_dw03,
    district_ids,
    full_marks,
    issue_round,
    occurrence,
    task_of,
)

pytestmark = pytest.mark.db

LOSS = {
    "f_DW03_present": "1",
    **occurrence("DW03", 1, "执勤人员未着制服", "superior"),
    "reason_DW03": "省厅督查",
}


def at_once(*calls: Any) -> list[Any]:
    """Run the calls in threads released together; their results in order."""
    start = threading.Barrier(len(calls), timeout=10)
    results: list[Any] = [None] * len(calls)

    def run(n: int, call: Any) -> None:
        start.wait()
        results[n] = call()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def drain(app: Any) -> str:
    with app.app_context():
        return run_pending()


def test_every_number_in_a_round_is_unique_even_when_releases_and_generation_run_at_once(
    app, demo, client_as
) -> None:
    ids = district_ids()
    codes = ["gusu", "sip", "wujiang"]
    admin = client_as("admin")
    issue_round(admin, district_ids=[ids[c] for c in codes])
    for code in codes:
        client_as(f"liaison_{code}").post(
            f"/tasks/{task_of('self_report', ids[code]).id}", data=full_marks({"action": "submit"})
        )
    # Two inspectors release two districts' verified results at the same moment.
    verify = {c: task_of("verification", ids[c]).id for c in codes}
    first, second = client_as("inspector1"), client_as("inspector2")
    released = at_once(
        lambda: first.post(f"/tasks/{verify['gusu']}", data={"action": "submit", **LOSS}),
        lambda: second.post(f"/tasks/{verify['sip']}", data={"action": "submit", **LOSS}),
    )
    assert [r.status_code for r in released] == [302, 302]
    first.post(f"/tasks/{verify['wujiang']}", data={"action": "submit"})

    # 姑苏 appeals and is decided; the others accept; the round is published.
    gusu = client_as("liaison_gusu")
    assert appeal_adjustment(gusu, ids["gusu"], "检查前已整改").status_code == 302
    appeal = db.session.scalar(select(Appeal.id))
    client_as("inspector2").post(
        f"/tasks/{task_of('appeal_review', ids['gusu']).id}",
        data={f"decision_{appeal}": "rejected", f"decision_reason_{appeal}": "照片显示未整改"},
    )
    for code in ("sip", "wujiang"):
        client_as(f"liaison_{code}").post(
            f"/tasks/{task_of('result_confirmation', ids[code]).id}", data={"decision": "accept"}
        )
    admin.post(f"/tasks/{task_of('finalise').id}", data={"confirm": "1"})
    client_as("leader").post(f"/tasks/{task_of('approval').id}", data={"decision": "approve", "comment": ""})

    # Two runners drain the queue at once (a scheduler handing over its lease, a second host).
    summaries = at_once(lambda: drain(app), lambda: drain(app))
    assert all("失败" not in s for s in summaries), summaries
    db.session.expire_all()
    round_id = db.session.scalar(select(Notice.round_id).limit(1))
    assert correct_dw03(admin, round_id, ids["sip"], "复查不成立").status_code == 302

    issued = db.session.scalars(select(Notice).where(Notice.round_id == round_id)).all()
    kinds = sorted((n.kind, n.stage) for n in issued)
    assert kinds == sorted(
        [("letter", "verified")] * 3
        + [("decision", "")]
        + [("circular", "")]
        + [("letter", "final")] * 3
        + [("correction", ""), ("corrected_letter", "final")]
    )
    numbers = [n.doc_number for n in issued]
    assert len(set(numbers)) == len(numbers), numbers
    serials: dict[str, list[int]] = defaultdict(list)
    for notice in issued:
        serials[notice.prefix].append(notice.serial)
    # Nothing skipped, nothing taken twice: each 代字's serials run 1, 2, 3, …
    assert {p: sorted(s) for p, s in serials.items()} == {
        "苏城管考": [1, 2],
        "苏城管考告": [1, 2, 3, 4, 5, 6, 7],
        "苏城管考复": [1],
    }


def test_the_administrator_sets_each_kinds_prefix_and_format(app, demo, client_as) -> None:
    admin = client_as("admin")
    page = admin.get("/notices/numbering").get_data(as_text=True)
    assert "核查结果告知书" in page
    assert "苏城管考告〔" in page  # the next number, previewed

    form = {f"prefix-{k}": p for k, p in (("circular", "苏城管考"), ("correction", "苏城管考"))}
    form |= {f"pattern-{k}": "{代字}〔{年}〕{号}号" for k in ("circular", "correction")}
    form |= {
        "prefix-verified_letter": "苏城管核",
        "pattern-verified_letter": "{代字}字〔{年}〕第{号}号",
        "prefix-final_letter": "苏城管考告",
        "pattern-final_letter": "{代字}〔{年}〕{号}号",
        "prefix-corrected_letter": "苏城管考告",
        "pattern-corrected_letter": "{代字}〔{年}〕{号}号",
        "prefix-decision": "苏城管考复",
        "pattern-decision": "{代字}〔{年}〕{号}号",
    }
    bad = admin.post("/notices/numbering", data=form | {"pattern-decision": "{代字}{年}{号}"})
    assert bad.status_code == 422
    text = bad.get_data(as_text=True)
    assert "未保存任何改动" in text
    assert "{年} 与 {号} 之间须有分隔" in text
    assert admin.post("/notices/numbering", data=form | {"prefix-decision": "<b>"}).status_code == 422
    assert db.session.scalar(select(NumberingRule.kind)) is None

    assert admin.post("/notices/numbering", data=form).status_code == 302
    db.session.expire_all()
    stored = db.session.scalars(select(NumberingRule)).all()
    assert [(r.kind, r.prefix, r.pattern) for r in stored] == [
        ("verified_letter", "苏城管核", "{代字}字〔{年}〕第{号}号")
    ]
    assert db.session.scalar(select(AuditRecord.summary).where(AuditRecord.action == "notice.numbering"))
    assert "苏城管核字〔" in admin.get("/notices/numbering").get_data(as_text=True)
    assert client_as("liaison_gusu").get("/notices/numbering").status_code == 403

    ids = district_ids()
    issue_round(admin, district_ids=[ids["gusu"]])
    client_as("liaison_gusu").post(
        f"/tasks/{task_of('self_report', ids['gusu']).id}", data=full_marks({"action": "submit"})
    )
    client_as("inspector1").post(
        f"/tasks/{task_of('verification', ids['gusu']).id}", data={"action": "submit"}
    )
    assert drain(app) == "生成文件 1 份"
    letter = db.session.scalar(select(Notice))
    assert letter.doc_number == f"苏城管核字〔{letter.year}〕第1号"

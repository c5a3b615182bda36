"""Two simultaneous completions of one task: exactly one is applied."""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

import pytest
from sqlalchemy import func, select

import app.tasks.operations as task_operations
from app.audit.models import AuditRecord
from app.db import db
from app.scoring.models import Fact
from tests.helpers import district_ids, full_marks, issue_round, task_of

pytestmark = pytest.mark.db


def test_two_sessions_submitting_the_same_task_apply_it_once(app, demo, client_as, monkeypatch) -> None:
    ids = district_ids()
    issue_round(client_as("admin"))
    record = task_of("self_report", ids["sip"])
    # The same liaison in two browsers (desk and phone).
    first, second = client_as("liaison_sip"), client_as("liaison_sip")

    # Widen the race window: both requests pass every check before either saves.
    original = task_operations.run_user_task
    arrived = threading.Barrier(2, timeout=2)

    def slow_run(*args: Any, **kwargs: Any) -> None:
        # On a database that serialises writers the second request only gets here after the first commits.
        with contextlib.suppress(threading.BrokenBarrierError):
            arrived.wait()
        time.sleep(0.2)
        original(*args, **kwargs)

    monkeypatch.setattr(task_operations, "run_user_task", slow_run)
    results: dict[str, Any] = {}

    def submit(name: str, client: Any, amount: str) -> None:
        form = full_marks(
            {
                "action": "submit",
                "f_ZF0301_numerator": amount,
                "f_ZF0301_denominator": "100",
                "reason_ZF0301": f"{name} 提交",
            }
        )
        results[name] = client.post(f"/tasks/{record.id}", data=form)

    threads = [
        threading.Thread(target=submit, args=("desk", first, "91")),
        threading.Thread(target=submit, args=("phone", second, "92")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    locations = sorted(r.headers.get("Location", "") for r in results.values())
    assert locations == ["/tasks", f"/tasks/{record.id}"], locations
    loser = first if results["desk"].headers["Location"] != "/tasks" else second
    page = loser.get(f"/tasks/{record.id}").get_data(as_text=True)
    assert "已被他人处理" in page or "已处理或已被取消" in page

    db.session.expire_all()
    rates = db.session.scalars(select(Fact).where(Fact.kind == "rate")).all()
    assert len(rates) == 1
    assert rates[0].numerator in (91, 92)
    completions = db.session.scalar(
        select(func.count(AuditRecord.id)).where(AuditRecord.action == "task.complete")
    )
    assert completions == 1
    assert task_of("verification", ids["sip"]) is not None

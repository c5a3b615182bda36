"""Cost of one inbox page (GET /tasks, with its capped count) at 1,000 and 100,000 open tasks.

    python -m benchmarks.inbox [requests_per_role]

Fills the task projection of a fresh SQLite database (production engine settings,
via ``create_app``) with open tasks spread over 600 districts and every pool
(liaison, inspector, reviewer, admin, leader), first to 1,000 and then to
100,000 rows, and times the inbox page through the Flask test client for a
district liaison and for an inspector (whose pool — inspector + reviewer tasks of
every district — is the largest). The page includes the header badge count and
the page's own count, both capped at 99+.

Prints a table and, last, ``inbox_ratio_100k_vs_1k=…`` (target ≤ 1.5): the median
at 100k over the median at 1k for the worse of the two roles.
"""

from __future__ import annotations

import random
import re
import sys
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import func, insert, select

from app.accounts.models import User
from app.db import db
from app.demo import seed_default_scheme
from app.rounds.issuing import issue_round
from app.tasks.models import TaskRecord
from app.tasks.queries import PAGE_SIZE, inbox_query
from benchmarks._common import (
    DEADLINES,
    Browser,
    add_districts,
    add_user,
    bench_app,
    logged_in,
    median,
    ms,
    p95,
)
from workflows import clock

SIZES = (1_000, 100_000)
DISTRICTS = 600
DEFAULT_REQUESTS = 50
WARMUP_REQUESTS = 10
BATCH = 5_000
LIAISON_DISTRICT = 300  # d300: the measured liaison's district
LIAISON_FLOOR = 25  # tasks guaranteed in the measured district within the first 1,000, so both pages are full

# Pool mix of the open tasks (weights), and what each pool's tasks look like.
POOLS = {
    "liaison": (30, "self_report", "自评填报"),
    "inspector": (30, "verification", "核查"),
    "reviewer": (20, "appeal_review", "申诉复核"),
    "admin": (10, "finalise", "汇总定分"),
    "leader": (10, "approval", "领导审定"),
}
COUNT_HEADER = re.compile(r"<h1>待办任务 <small>（([^）]*)）</small>")
TASK_LINK = re.compile(r'href="/tasks/(\d+)"')


class Filler:
    """Appends open task rows in bulk (core inserts in batches), deterministically."""

    def __init__(
        self, round_id: int, instance_id: int, district_ids: list[int], users: dict[str, int]
    ) -> None:
        self.round_id = round_id
        self.instance_id = instance_id
        self.district_ids = district_ids
        self.users = users
        self.rng = random.Random(20261101)
        self.serial = 0
        self.now = clock.now()
        self.names = list(POOLS)
        self.weights = [POOLS[p][0] for p in self.names]

    def row(self, pool: str, district_id: int | None) -> dict[str, Any]:
        self.serial += 1
        rng = self.rng
        _, element, name = POOLS[pool]
        claimed_by = None
        excluded = None
        if pool in ("inspector", "reviewer") and rng.random() < 0.05:
            claimed_by = self.users["inspector2"]  # claimed by a colleague: not in inspector1's inbox
        if pool == "reviewer" and rng.random() < 0.05:
            excluded = self.users["inspector1"]  # 回避: inspector1 verified it
        return {
            "instance_id": self.instance_id,
            "task_id": f"bench-{self.serial:010d}",
            "round_id": self.round_id,
            "district_id": district_id if pool not in ("admin", "leader") else None,
            "assessment_id": None,
            "element": element,
            "name": name,
            "form_key": element,
            "pool": pool,
            "state": "ready",
            "claimed_by": claimed_by,
            "claimed_at": self.now if claimed_by else None,
            "excluded_user_id": excluded,
            "escalated": False,
            "due_at": self.now + timedelta(days=rng.randint(-3, 10)),
            "created_at": self.now,
        }

    def random_row(self) -> dict[str, Any]:
        pool = self.rng.choices(self.names, self.weights)[0]
        return self.row(pool, self.rng.choice(self.district_ids))

    def fill(self, session: Any, rows: int, guaranteed: list[tuple[str, int]] | None = None) -> None:
        """Insert *rows* open tasks: the *guaranteed* ones scattered among random ones."""
        guaranteed = list(guaranteed or [])
        slots = set(self.rng.sample(range(rows), len(guaranteed)))
        batch: list[dict[str, Any]] = []
        for n in range(rows):
            batch.append(self.row(*guaranteed.pop()) if n in slots else self.random_row())
            if len(batch) >= BATCH:
                session.execute(insert(TaskRecord.__table__), batch)
                batch = []
        if batch:
            session.execute(insert(TaskRecord.__table__), batch)


def open_tasks(session: Any) -> int:
    return (
        session.scalar(select(func.count()).select_from(TaskRecord).where(TaskRecord.state == "ready")) or 0
    )


def setup(app: Any) -> dict[str, Any]:
    with app.app_context():
        with db.transaction() as session:
            scheme = seed_default_scheme(session)
            district_ids = add_districts(session, DISTRICTS)
            admin = add_user(session, "bench_admin", "admin")
            users = {
                "inspector1": add_user(session, "inspector1", "inspector").id,
                "inspector2": add_user(session, "inspector2", "inspector").id,
                "liaison": add_user(
                    session, "liaison_d300", "liaison", district_ids[LIAISON_DISTRICT - 1]
                ).id,
            }
        # A real round (6 small district processes) gives the rows valid round and instance keys.
        with db.transaction() as session:
            actor = session.get(User, admin.id)
            round_ = issue_round(
                session, actor, "2026年11月城管执法考核", "2026-11", scheme.id, district_ids[:6], DEADLINES
            )
            round_id, instance_id = round_.id, round_.round_instance_id
        db.Session.remove()
    assert instance_id is not None
    return {
        "filler": Filler(round_id, instance_id, district_ids, users),
        "liaison_district": district_ids[LIAISON_DISTRICT - 1],
    }


def fill_to(app: Any, filler: Filler, total: int, guaranteed: list[tuple[str, int]] | None = None) -> float:
    started = time.perf_counter()
    with app.app_context():
        with db.transaction() as session:
            missing = total - open_tasks(session)
            filler.fill(session, missing, guaranteed)
        with db.transaction() as session:
            assert open_tasks(session) == total
        db.Session.remove()
    return time.perf_counter() - started


def visible(app: Any, username: str) -> int:
    """How many open tasks the user's inbox holds (uncapped; for the table only)."""
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == username))
        n = db.session.scalar(select(func.count()).select_from(inbox_query(user).subquery())) or 0
        db.Session.remove()
    return n


def page(browser: Browser, url: str = "/tasks") -> tuple[float, str, int]:
    started = time.perf_counter()
    response = browser.get(url)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"{url} answered {response.status_code}")
    body = response.get_data(as_text=True)
    header = COUNT_HEADER.search(body)
    return elapsed, header.group(1) if header else "?", len(TASK_LINK.findall(body))


def measure(browsers: dict[str, Browser], requests: int) -> dict[str, dict[str, Any]]:
    for _ in range(WARMUP_REQUESTS):
        for browser in browsers.values():
            page(browser)
    times: dict[str, list[float]] = {role: [] for role in browsers}
    shown: dict[str, tuple[str, int]] = {}
    for _ in range(requests):  # interleaved, so drift hits both roles alike
        for role, browser in browsers.items():
            elapsed, count, rows = page(browser)
            times[role].append(elapsed)
            shown[role] = (count, rows)
    return {
        role: {"median": median(v), "p95": p95(v), "count": shown[role][0], "rows": shown[role][1]}
        for role, v in times.items()
    }


def main() -> None:
    requests = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_REQUESTS
    overall = time.perf_counter()
    results: dict[int, dict[str, dict[str, Any]]] = {}
    pools: dict[int, dict[str, int]] = {}
    with bench_app() as (app, _tmp):
        print("setup (not timed):", flush=True)
        ctx = setup(app)
        filler: Filler = ctx["filler"]
        browsers = {"liaison": logged_in(app, "liaison_d300"), "inspector": logged_in(app, "inspector1")}
        usernames = {"liaison": "liaison_d300", "inspector": "inspector1"}
        for n, size in enumerate(SIZES):
            guaranteed = [("liaison", ctx["liaison_district"])] * LIAISON_FLOOR if n == 0 else None
            took = fill_to(app, filler, size, guaranteed)
            print(f"  task table filled to {size:,} open tasks in {took:.1f} s", flush=True)
            pools[size] = {role: visible(app, name) for role, name in usernames.items()}
            results[size] = measure(browsers, requests)

    print()
    print(
        f"One inbox page (GET /tasks through the Flask test client: first keyset page of {PAGE_SIZE} rows,"
        " header badge count + page count, capped at 99+),"
        " SQLite with app.db.make_engine settings;"
        f" {requests} requests per role after {WARMUP_REQUESTS} warm-up"
    )
    print(
        f"open tasks spread over {DISTRICTS} districts, pools (weights) "
        + ", ".join(f"{p} {w[0]}%" for p, w in POOLS.items())
    )
    print()
    header = (
        f"{'open tasks':>10} | {'role':<9} | {'in inbox':>8} | {'count shown':>11} | {'rows':>4} |"
        f" {'median ms':>9} | {'p95 ms':>8}"
    )
    print(header)
    print("-" * len(header))
    for size in SIZES:
        for role, r in results[size].items():
            print(
                f"{size:>10,} | {role:<9} | {pools[size][role]:>8,} | {r['count']:>11} | {r['rows']:>4} |"
                f" {ms(r['median']):>9} | {ms(r['p95'])}"
            )
    ratios = {
        role: results[SIZES[1]][role]["median"] / results[SIZES[0]][role]["median"]
        for role in results[SIZES[0]]
    }
    worse = max(ratios, key=lambda role: ratios[role])
    print()
    for role, ratio in ratios.items():
        print(f"median 100k / 1k, {role}: {ratio:.2f}")
    print(f"total run time {time.perf_counter() - overall:.0f} s")
    print(f"(inbox_ratio_100k_vs_1k below is the worse of the two roles: {worse})")
    print()
    print(f"inbox_ratio_100k_vs_1k={ratios[worse]:.2f}")


if __name__ == "__main__":
    main()

"""Cost of one click (a district's self-report, all 19 indicators filled) against round size.

    python -m benchmarks.click_cost [samples_per_size]

Builds rounds of 6, 60 and 600 districts in one fresh SQLite database (production
engine settings, via ``create_app``), then completes self-report tasks through the
Flask test client, logged in as each district's liaison with the page's CSRF token.
Every click does the same work (19 deductions with reasons, same process
definition, same stage); only the size of the round around it differs. Sizes are
interleaved so drift on the machine hits all of them alike.

In the same run it measures the engine floor: load the district's saved state,
run the self-report task and the engine steps, save — with SpiffWorkflow alone
(the spec parsed once and cached, the restricted script engine attached, the
app's serializer), no Flask and no database.

Prints a table, ``click_vs_engine_floor=…`` (target ≤ 10) and, last,
``click_cost_ratio_600_vs_6=…`` (target ≤ 1.3).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path
from typing import Any

from SpiffWorkflow.util.task import TaskState
from sqlalchemy import select

from app.accounts.models import User
from app.db import db
from app.demo import seed_default_scheme
from app.processes import DISTRICT_PROCESS
from app.rounds.issuing import issue_round
from app.rounds.models import DistrictAssessment
from app.scoring.scores import indicator_rules
from app.tasks.models import TaskRecord
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
from workflows.definitions import ProcessLibrary
from workflows.store import ProcessInstance

SIZES = (6, 60, 600)
DEFAULT_SAMPLES = 60
FLOOR_REPEATS = 500
WARMUP_CLICKS = 6


def spread(count: int, wanted: int) -> list[int]:
    """*wanted* indexes spread evenly over range(count)."""
    if wanted >= count:
        return list(range(count))
    return sorted({int(i * count / wanted) for i in range(wanted)})


def self_report_payload(scheme: Any) -> dict[str, str]:
    """The form of a click: every scored leaf indicator gets facts that lose points, and a reason."""
    data = {"action": "submit"}
    for indicator in scheme.scored_leaves:
        rules = indicator_rules(indicator)
        p = f"f_{indicator.code}_"
        if rules.method == "deduct":
            data.update(
                {f"{p}occ1_desc": "自查发现问题", f"{p}occ1_place": "某街道", f"{p}occ1_found_by": "district"}
            )
        elif rules.method == "rate":
            data.update({f"{p}numerator": "90", f"{p}denominator": "100"})
        elif rules.method == "tiered":
            data[f"{p}value"] = "65"
        elif rules.method == "checklist":
            data.update({f"{p}item_{item.key}": "1" for item in rules.items[1:]})
        elif rules.method == "manual":
            data[f"{p}amount"] = "0.5"
        data.update({f"{p}extra_{extra.key}": "1" for extra in rules.extras})
        data[f"reason_{indicator.code}"] = f"{indicator.name}：本月自查发现问题，已整改并附台账说明"
    return data


def build(app: Any, samples: int) -> dict[str, Any]:
    """Districts, accounts, the scheme and the rounds; returns what the clicks need."""
    six_rounds = -(-samples // 6)  # enough 6-district rounds for *samples* clicks
    with app.app_context():
        with db.transaction() as session:
            scheme = seed_default_scheme(session)
            admin = add_user(session, "bench_admin", "admin")
            district_ids = add_districts(session, max(SIZES))
        payload = self_report_payload(scheme)
        leaves = len(scheme.scored_leaves)

        def issue(title: str, ids: list[int]) -> int:
            started = time.perf_counter()
            with db.transaction() as session:
                actor = session.get(User, admin.id)
                round_ = issue_round(session, actor, title, "2026-11", scheme.id, ids, DEADLINES)
                round_id = round_.id
            print(
                f"  issued {title}: {len(ids)} districts in {time.perf_counter() - started:.1f} s", flush=True
            )
            return round_id

        print("setup (not timed):", flush=True)
        # Round for warm-up clicks (first requests compile templates, fill caches).
        warm_round = issue(f"预热轮次 ({WARMUP_CLICKS} 区)", district_ids[-WARMUP_CLICKS:])
        rounds: dict[int, list[int]] = {6: [], 60: [], 600: []}
        for n in range(six_rounds):
            rounds[6].append(issue(f"6 区轮次 #{n + 1}", district_ids[6 * n : 6 * n + 6]))
        rounds[60].append(issue("60 区轮次", district_ids[:60]))
        rounds[600].append(issue("600 区轮次", district_ids[:600]))

        def self_reports(round_ids: list[int]) -> list[TaskRecord]:
            return list(
                db.session.scalars(
                    select(TaskRecord)
                    .where(
                        TaskRecord.round_id.in_(round_ids),
                        TaskRecord.element == "self_report",
                        TaskRecord.state == "ready",
                    )
                    .order_by(TaskRecord.round_id, TaskRecord.district_id)
                )
            )

        picked: dict[int, list[tuple[int, int]]] = {}
        for size in SIZES:
            records = self_reports(rounds[size])
            picked[size] = [(records[i].id, records[i].district_id) for i in spread(len(records), samples)]
        warm = [(r.id, r.district_id) for r in self_reports([warm_round])]

        # Saved state of the district processes clicked at each size (constant per district by design).
        state_sizes = {}
        for size in SIZES:
            ids = [rid for rid, _ in picked[size]]
            instance_ids = db.session.scalars(select(TaskRecord.instance_id).where(TaskRecord.id.in_(ids)))
            states = db.session.scalars(
                select(ProcessInstance.state).where(ProcessInstance.id.in_(instance_ids))
            )
            state_sizes[size] = statistics.median(len(s.encode()) for s in states)
        first = db.session.get(TaskRecord, picked[6][0][0])
        floor_state = db.session.get(ProcessInstance, first.instance_id).state

        # One liaison per clicked district.
        needed = sorted({d for size in SIZES for _, d in picked[size]} | {d for _, d in warm})
        with db.transaction() as session:
            for district_id in needed:
                add_user(session, f"liaison_{district_id}", "liaison", district_id)
        db.Session.remove()
    return {
        "picked": picked,
        "warm": warm,
        "payload": payload,
        "leaves": leaves,
        "state_sizes": state_sizes,
        "floor_state": floor_state,
        "districts": needed,
    }


def click(browser: Browser, record_id: int, payload: dict[str, str]) -> float:
    """Open the form (untimed, as a user would), then time the submitting POST."""
    page = browser.get(f"/tasks/{record_id}")
    if page.status_code != 200:
        raise RuntimeError(f"task {record_id}: form page answered {page.status_code}")
    started = time.perf_counter()
    response = browser.post(f"/tasks/{record_id}", data=payload)
    elapsed = time.perf_counter() - started
    location = response.headers.get("Location", "")
    if response.status_code != 302 or not location.endswith("/tasks"):
        body = response.get_data(as_text=True)[:500]
        raise RuntimeError(f"task {record_id}: click failed ({response.status_code} {location}) {body}")
    browser.get("/tasks")  # follow the redirect (untimed), which also consumes the flash message
    return elapsed


class EngineFloor:
    """Load, run the self-report, engine steps, save — SpiffWorkflow and the app's engine layer only."""

    def __init__(self, bpmn_dir: Path, state: str) -> None:
        self.library = ProcessLibrary(bpmn_dir)
        self.library.current_file(DISTRICT_PROCESS)  # parsed once and cached, as in the app
        self.state = state
        self.totals: list[float] = []
        self.parts: list[tuple[float, float, float]] = []
        self.state_out = 0

    def once(self) -> None:
        library = self.library
        t0 = time.perf_counter()
        wf = library.loads(self.state, services=None)  # attaches the restricted AssessmentScriptEngine
        t1 = time.perf_counter()
        task = next(
            t
            for t in wf.get_tasks(state=TaskState.READY, manual=True)
            if t.task_spec.bpmn_id == "self_report"
        )
        task.data.update({"self_report_submitted": True})
        task.run()
        wf.do_engine_steps()
        t2 = time.perf_counter()
        out = library.dumps(wf)
        t3 = time.perf_counter()
        self.totals.append(t3 - t0)
        self.parts.append((t1 - t0, t2 - t1, t3 - t2))
        self.state_out = len(out.encode())
        ready = [t.task_spec.bpmn_id for t in wf.get_tasks(state=TaskState.READY, manual=True)]
        assert ready == ["verification"], ready

    def warm_up(self, repeats: int = 20) -> None:
        for _ in range(repeats):
            self.once()
        self.totals.clear()
        self.parts.clear()

    def summary(self) -> dict[str, float]:
        return {
            "median": median(self.totals),
            "p95": p95(self.totals),
            "loads": median([p[0] for p in self.parts]),
            "run": median([p[1] for p in self.parts]),
            "dumps": median([p[2] for p in self.parts]),
            "state_out": self.state_out,
            "repeats": len(self.totals),
        }


def main() -> None:
    samples = int(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SAMPLES
    overall = time.perf_counter()
    with bench_app() as (app, _tmp):
        setup = build(app, samples)
        picked, payload = setup["picked"], setup["payload"]
        browsers = {d: logged_in(app, f"liaison_{d}") for d in setup["districts"]}

        floor_runner = EngineFloor(Path(app.config["BPMN_DIR"]), setup["floor_state"])
        floor_runner.warm_up()
        for record_id, district_id in setup["warm"]:
            click(browsers[district_id], record_id, payload)

        # Interleave the sizes (6, 60, 600, 6, 60, 600, …) and the engine floor between them,
        # so load from other processes on the machine hits every figure alike.
        times: dict[int, list[float]] = {size: [] for size in SIZES}
        count = min(len(picked[size]) for size in SIZES)
        floor_per_step = -(-FLOOR_REPEATS // count)
        for i in range(count):
            for size in SIZES:
                record_id, district_id = picked[size][i]
                times[size].append(click(browsers[district_id], record_id, payload))
            for _ in range(floor_per_step):
                floor_runner.once()

        with app.app_context():
            done = db.session.scalars(
                select(TaskRecord.state).where(
                    TaskRecord.id.in_([r for size in SIZES for r, _ in picked[size][:count]])
                )
            ).all()
            assert set(done) == {"completed"}, set(done)
            submitted = db.session.scalars(
                select(DistrictAssessment.self_submitted_at).where(
                    DistrictAssessment.instance_id.in_(
                        select(TaskRecord.instance_id).where(
                            TaskRecord.id.in_([r for size in SIZES for r, _ in picked[size][:count]])
                        )
                    )
                )
            ).all()
            assert all(submitted), "every clicked district's self-report is recorded as submitted"
            db.Session.remove()

        floor = floor_runner.summary()

    print()
    print(
        f"One self-report click ({setup['leaves']} indicators filled): POST /tasks/<id> through the Flask"
        " test client, SQLite with app.db.make_engine settings;"
        f" {count} clicks per size, each a different district's task"
    )
    print()
    columns = ("median ms", "p95 ms", "min ms", "max ms", "state KB")
    header = f"{'round size':>10} | {'clicks':>6} | " + " | ".join(f"{c:>9}" for c in columns)
    print(header)
    print("-" * len(header))
    for size in SIZES:
        values = times[size]
        cells = [ms(median(values)), ms(p95(values)), ms(min(values)), ms(max(values))]
        cells.append(f"{setup['state_sizes'][size] / 1024:.1f}")
        print(f"{size:>10} | {len(values):>6} | " + " | ".join(f"{c.strip():>9}" for c in cells))
    cells = [
        ms(floor["median"]),
        ms(floor["p95"]),
        "",
        "",
        f"{len(setup['floor_state'].encode()) / 1024:.1f}",
    ]
    print(f"{'floor':>10} | {floor['repeats']:>6} | " + " | ".join(f"{c.strip():>9}" for c in cells))
    print()
    print(
        "engine floor = SpiffWorkflow only, no Flask, no database: "
        f"loads {floor['loads'] * 1000:.2f} ms + run & engine steps {floor['run'] * 1000:.2f} ms"
        f" + dumps {floor['dumps'] * 1000:.2f} ms (median of each part);"
        f" state after {floor['state_out'] / 1024:.1f} KB"
    )
    print(f"total run time {time.perf_counter() - overall:.0f} s")
    print()
    print(f"click_vs_engine_floor={median(times[6]) / floor['median']:.2f}")
    print(f"click_cost_ratio_600_vs_6={median(times[600]) / median(times[6]):.2f}")


if __name__ == "__main__":
    main()

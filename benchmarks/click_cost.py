"""Cost of one click (a district's self-report, every scored indicator filled) against round size,
and of the other stages' submissions.

    python -m benchmarks.click_cost [samples_per_size]

Builds rounds of 6, 60 and 600 districts in one fresh SQLite database (production
engine settings, via ``create_app``), then completes self-report tasks through the
Flask test client, logged in as each district's liaison with the page's CSRF token.
Every click does the same work (every scored indicator loses points, with a reason; same
process definition, same stage); only the size of the round around it differs. Sizes are
interleaved so drift on the machine hits all of them alike.

In the same run it measures the engine floor: load the district's saved state,
run the self-report task and the engine steps, save — with SpiffWorkflow alone
(the spec parsed once and cached, the restricted script engine attached, the
app's serializer), no Flask and no database.

The shipped diagrams have no script task and only bounded conditions, so none of those clicks
reaches the script sandbox (``workflows.sandbox``). So the run also deploys a scripted variant of
the district process — the shipped ``bpmn/district_assessment.bpmn`` edited with lxml
(``scripted_variant``): right after the self-report, a script task (an f-string summary and some
arithmetic into process variables) and an exclusive gateway whose condition is a free expression
(arithmetic and a method call, which ``workflows.script_bounds`` does not keep in-process), both
flows leading on to the verification unchanged. It is deployed as an installation deploys a new
version: the app runs from its own copy of ``bpmn/`` (its ``BPMN_DIR``), the variant replaces
``district_assessment.bpmn`` there after the shipped rounds are issued, and ``issue_round`` records
it as a new process definition version for the 6-district rounds issued next (same districts,
same liaisons). Its self-report click is measured the same way (same samples, interleaved with the
sizes), and so is its own engine floor (the same load, run, engine steps, save, with the variant's
spec: the restricted script environment, whose scripts and unbounded expressions go to the
sandbox). Sandbox calls are counted around each click by wrapping ``SandboxPool._run`` for the
run (the pool counts only the children it starts); every scripted click must make at least one
(it makes two: the script, the condition). The variant's warm-up districts go on through
verification, appeal and review, so its later stages are shown to still work.

Interleaved with those clicks, the later submissions of the same districts (6-district rounds),
each through the test client as its user: the inspector's verification (the whole form as the
page posts it, one indicator adjusted: one more occurrence, with a reason; no uploads), then,
untimed, the liaison's appeal of that adjustment, then the reviewer's appeal review (an inspector
other than the verifier upholds the one appeal; no uploads). The verification's release and the
review ask the background queue for their notices; the table says whether any notice was
rendered inside a click. SQL statements per click are counted with a ``before_cursor_execute``
listener.

Last, the cost of storing one 12-megapixel phone JPEG (4000×3000, noisy, quality 90, ~4 MB, EXIF
with GPS so the location stripping runs) through ``app.evidence.operations.store_uploads``, the
function the task forms' upload fields use (median of a few, files removed afterwards).

Prints the size table (with rows ``6 scripted``, the variant's click, and ``scr. floor``, its
engine floor), the submissions table, ``evidence_store_12mp_jpeg_ms=…``,
``slowest_click_vs_self_report=…`` (median of the slowest of the verification and review clicks
over the median self-report click at 6 districts; target ≤ 1.5), ``click_vs_engine_floor=…``
(median self-report click at 6 districts over the shipped diagram's engine floor; target ≤ 6),
``scripted_engine_floor_ms=…`` (the variant's own engine floor, for information),
``sandbox_calls_per_scripted_click=…`` (median; must be ≥ 1), ``scripted_click_vs_engine_floor=…``
(median scripted click over the variant's engine floor — the floor's definition, the engine with
the restricted script environment and no web or database, applied to the diagram the click runs,
whose script and condition the environment sends to the sandbox; held to the same target, ≤ 6),
``scripted_click_vs_shipped_floor=…`` (the same click over the shipped diagram's floor, for
information: what a script task and a free condition add to a click) and, last,
``click_cost_ratio_600_vs_6=…`` (target ≤ 1.3).
"""

from __future__ import annotations

import io
import re
import shutil
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import piexif
from lxml import etree
from PIL import Image, ImageChops
from SpiffWorkflow.util.task import TaskState
from sqlalchemy import event, func, select
from werkzeug.datastructures import FileStorage

from app.accounts.models import User
from app.db import db
from app.demo import seed_default_scheme
from app.evidence.operations import discard, store_uploads
from app.notices.models import Notice, NoticeJob
from app.processes import DISTRICT_PROCESS, processes
from app.rounds.issuing import issue_round
from app.rounds.models import DistrictAssessment, Round
from app.scoring.scores import indicator_rules
from app.tasks.context import UploadSettings
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
from workflows.definitions import ProcessLibrary, definition_version
from workflows.sandbox import SandboxPool
from workflows.script_bounds import is_statically_bounded
from workflows.store import ProcessDefinitionRecord, ProcessInstance

SIZES = (6, 60, 600)
DEFAULT_SAMPLES = 60
FLOOR_REPEATS = 500
WARMUP_CLICKS = 6
EVIDENCE_SAMPLES = 5


class StatementCounter:
    """SQL statements sent to the database (a ``before_cursor_execute`` listener); ``last`` is the
    count of the last timed submission."""

    def __init__(self) -> None:
        self.count = 0
        self.last = 0

    def __call__(self, *_args: Any) -> None:
        self.count += 1


STATEMENTS = StatementCounter()
APPEAL_FIELD = re.compile(r'name="appeal_(\d+)"')
DECISION_FIELD = re.compile(r'name="decision_(\d+)"')

# The scripted variant of the district process: after the self-report, a script task and an
# exclusive gateway whose condition is a free expression (arithmetic and a method call, so
# workflows.script_bounds does not keep it in-process), both flows on to the verification.
BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SUMMARY_SCRIPT = """self_report_days = deadline_rules["self_report"]["days"]
self_report_summary = f"区 {district_id} 第 {round_id} 轮自评已提交（期限 {self_report_days} 天）"
self_report_check = district_id * 100 + assessment_id % 97 + self_report_days
"""
SUMMARY_CONDITION = 'self_report_check % 2 in (0, 1) and self_report_summary.startswith("区")'


def scripted_variant(shipped: bytes) -> bytes:
    """The shipped district diagram with ``self_report → summarize_self_report (script task) →
    summary_gateway (exclusive; SUMMARY_CONDITION on one flow, the other the default) →
    verification``; everything else (lanes, forms, timers, later stages) unchanged. The new
    elements get no diagram shapes (the engine does not need them)."""
    root = etree.fromstring(shipped)
    ns = {"bpmn": BPMN_NS}

    def one(path: str) -> Any:
        found = root.findall(path, ns)
        if len(found) != 1:
            raise RuntimeError(f"the shipped district diagram has {len(found)} of {path}, expected 1")
        return found[0]

    def element(tag: str, text: str | None = None, **attributes: str) -> Any:
        node = etree.Element(f"{{{BPMN_NS}}}{tag}", attributes)
        node.text = text
        return node

    def with_children(node: Any, *children: Any) -> Any:
        node.extend(children)
        return node

    process = one(f"bpmn:process[@id='{DISTRICT_PROCESS}']")
    one("bpmn:process/bpmn:laneSet/bpmn:lane[@id='Lane_liaison']").extend(
        [element("flowNodeRef", "summarize_self_report"), element("flowNodeRef", "summary_gateway")]
    )
    into_verification = one("bpmn:process/bpmn:sequenceFlow[@id='flow_self_verify']")
    if (
        into_verification.get("sourceRef") != "self_report"
        or into_verification.get("targetRef") != "verification"
    ):
        raise RuntimeError("the shipped district diagram no longer goes from self_report to verification")
    into_verification.set("targetRef", "summarize_self_report")
    verification = one("bpmn:process/bpmn:userTask[@id='verification']")
    incoming = one("bpmn:process/bpmn:userTask[@id='verification']/bpmn:incoming[.='flow_self_verify']")
    incoming.text = "flow_summary_checked"
    incoming.addnext(element("incoming", "flow_summary_default"))
    added = [
        with_children(
            element("scriptTask", id="summarize_self_report", name="自评摘要", scriptFormat="python"),
            element("incoming", "flow_self_verify"),
            element("outgoing", "flow_summary_gateway"),
            element("script", SUMMARY_SCRIPT),
        ),
        element(
            "sequenceFlow",
            id="flow_summary_gateway",
            sourceRef="summarize_self_report",
            targetRef="summary_gateway",
        ),
        with_children(
            element(
                "exclusiveGateway", id="summary_gateway", name="摘要校验", default="flow_summary_default"
            ),
            element("incoming", "flow_summary_gateway"),
            element("outgoing", "flow_summary_checked"),
            element("outgoing", "flow_summary_default"),
        ),
        with_children(
            element(
                "sequenceFlow",
                id="flow_summary_checked",
                name="摘要有效",
                sourceRef="summary_gateway",
                targetRef="verification",
            ),
            element("conditionExpression", SUMMARY_CONDITION),
        ),
        element(
            "sequenceFlow",
            id="flow_summary_default",
            name="其他",
            sourceRef="summary_gateway",
            targetRef="verification",
        ),
    ]
    anchor, indent = into_verification, into_verification.tail
    for node in added:
        anchor.addnext(node)
        anchor.tail = node.tail = indent
        anchor = node
    assert verification.getparent() is process
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


class SandboxCalls:
    """Evaluations sent to the sandbox processes. The pool has no call counter (only ``started``,
    the children it started), so while installed this wraps ``SandboxPool._run``, the one path of
    both ``evaluate`` (expressions) and ``execute`` (scripts) to a child."""

    def __init__(self) -> None:
        self.count = 0
        self.by_mode: dict[str, int] = {"exec": 0, "eval": 0}

    @contextmanager
    def installed(self) -> Iterator[None]:
        original = SandboxPool._run

        def counted(pool: SandboxPool, mode: str, *args: Any) -> Any:
            self.count += 1
            self.by_mode[mode] = self.by_mode.get(mode, 0) + 1
            return original(pool, mode, *args)

        SandboxPool._run = counted  # type: ignore[method-assign]
        try:
            yield
        finally:
            SandboxPool._run = original  # type: ignore[method-assign]


SANDBOX_CALLS = SandboxCalls()


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


def verification_payload(scheme: Any, self_report: dict[str, str]) -> dict[str, str]:
    """The verification form as the page posts it: every indicator's fields prefilled with the
    self-report's facts and marked present, no reasons; the first deduction indicator adjusted
    (one more occurrence, found by the city) with its reason."""
    data = {"action": "submit"}
    data.update({key: value for key, value in self_report.items() if key.startswith("f_")})
    adjusted = next(i for i in scheme.scored_leaves if indicator_rules(i).method == "deduct")
    for indicator in scheme.scored_leaves:
        data[f"f_{indicator.code}_present"] = "1"
        data[f"reason_{indicator.code}"] = ""
    p = f"f_{adjusted.code}_occ2_"
    data.update({f"{p}desc": "核查发现漏报问题一起", f"{p}place": "某社区", f"{p}found_by": "city"})
    data[f"reason_{adjusted.code}"] = "核查发现自评漏报一起，按规则扣分"
    return data


def deploy(deploy_dir: Path, xml: bytes) -> None:
    """Deploy a new version of the district process as an installation does: replace its file in
    the app's BPMN_DIR. ``issue_round`` reads the file (``library().current_file``) and records the
    version (``store().definition_record``): rounds issued from now on run it, earlier ones keep
    theirs."""
    (deploy_dir / f"{DISTRICT_PROCESS}.bpmn").write_bytes(xml)


def build(app: Any, samples: int, deploy_dir: Path, variant_xml: bytes) -> dict[str, Any]:
    """Districts, accounts, the scheme and the rounds (the shipped diagram's, then, once the
    scripted variant is deployed, the variant's); returns what the clicks need."""
    six_rounds = -(-samples // 6)  # enough 6-district rounds for *samples* clicks
    with app.app_context():
        with db.transaction() as session:
            scheme = seed_default_scheme(session)
            admin = add_user(session, "bench_admin", "admin")
            district_ids = add_districts(session, max(SIZES))
        payload = self_report_payload(scheme)
        verify_payload = verification_payload(scheme, payload)
        leaves = len(scheme.scored_leaves)

        definition_ids: set[int] = set()

        def issue(title: str, ids: list[int]) -> int:
            started = time.perf_counter()
            with db.transaction() as session:
                actor = session.get(User, admin.id)
                round_ = issue_round(session, actor, title, "2026-11", scheme.id, ids, DEADLINES)
                round_id = round_.id
                definition_ids.add(round_.district_definition_id)
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
        shipped_definitions = set(definition_ids)

        # A new version of the district process, deployed; the rounds issued next run it (the
        # same districts as the 6-district rounds above, so the same liaisons click).
        deploy(deploy_dir, variant_xml)
        definition_ids.clear()
        scripted_warm_round = issue(f"脚本版预热轮次 ({WARMUP_CLICKS} 区)", district_ids[-WARMUP_CLICKS:])
        scripted_rounds = [
            issue(f"脚本版 6 区轮次 #{n + 1}", district_ids[6 * n : 6 * n + 6]) for n in range(six_rounds)
        ]
        scripted_definition = db.session.scalars(
            select(ProcessDefinitionRecord).where(ProcessDefinitionRecord.id.in_(definition_ids))
        ).one()
        assert scripted_definition.id not in shipped_definitions, "the variant is a new process version"
        scripted_version = str(scripted_definition.version)
        assert scripted_version == definition_version(variant_xml)
        assert set(
            db.session.scalars(select(Round.district_definition_id).where(Round.id.in_(scripted_rounds)))
        ) == {scripted_definition.id}

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
        records = self_reports(scripted_rounds)
        scripted = [(records[i].id, records[i].district_id) for i in spread(len(records), samples)]
        scripted_warm = [(r.id, r.district_id) for r in self_reports([scripted_warm_round])]

        # Saved state of the district processes clicked at each size (constant per district by design).
        def state_size(clicked: list[tuple[int, int]]) -> float:
            ids = [rid for rid, _ in clicked]
            instance_ids = db.session.scalars(select(TaskRecord.instance_id).where(TaskRecord.id.in_(ids)))
            states = db.session.scalars(
                select(ProcessInstance.state).where(ProcessInstance.id.in_(instance_ids))
            )
            return statistics.median(len(s.encode()) for s in states)

        state_sizes: dict[int | str, float] = {size: state_size(picked[size]) for size in SIZES}
        state_sizes["scripted"] = state_size(scripted)

        def saved_state(record_id: int) -> str:
            record = db.session.get(TaskRecord, record_id)
            return str(db.session.get(ProcessInstance, record.instance_id).state)

        floor_state = saved_state(picked[6][0][0])
        scripted_floor_state = saved_state(scripted[0][0])

        # One liaison per clicked district.
        needed = sorted(
            {d for size in SIZES for _, d in picked[size]}
            | {d for _, d in warm}
            | {d for _, d in scripted}
            | {d for _, d in scripted_warm}
        )
        with db.transaction() as session:
            for district_id in needed:
                add_user(session, f"liaison_{district_id}", "liaison", district_id)
            add_user(session, "bench_inspector", "inspector")
            add_user(session, "bench_reviewer", "inspector")  # reviews: not the verifier (回避)
        db.Session.remove()
    return {
        "picked": picked,
        "warm": warm,
        "payload": payload,
        "verify_payload": verify_payload,
        "leaves": leaves,
        "state_sizes": state_sizes,
        "floor_state": floor_state,
        "districts": needed,
        "scripted": scripted,
        "scripted_warm": scripted_warm,
        "scripted_floor_state": scripted_floor_state,
        "scripted_version": scripted_version,
    }


def open_form(browser: Browser, record_id: int) -> str:
    """The task's page, as the user opens it before submitting (untimed)."""
    page = browser.get(f"/tasks/{record_id}")
    if page.status_code != 200:
        raise RuntimeError(f"task {record_id}: form page answered {page.status_code}")
    return str(page.get_data(as_text=True))


def submit(browser: Browser, record_id: int, payload: dict[str, str]) -> float:
    """Time the submitting POST; it must succeed (redirect to the inbox)."""
    before = STATEMENTS.count
    started = time.perf_counter()
    response = browser.post(f"/tasks/{record_id}", data=payload)
    elapsed = time.perf_counter() - started
    STATEMENTS.last = STATEMENTS.count - before
    location = response.headers.get("Location", "")
    if response.status_code != 302 or not location.endswith("/tasks"):
        body = response.get_data(as_text=True)[:500]
        raise RuntimeError(f"task {record_id}: click failed ({response.status_code} {location}) {body}")
    browser.get("/tasks")  # follow the redirect (untimed), which also consumes the flash message
    return elapsed


def click(browser: Browser, record_id: int, payload: dict[str, str]) -> float:
    """Open the form (untimed, as a user would), then time the submitting POST."""
    open_form(browser, record_id)
    return submit(browser, record_id, payload)


def next_task(app: Any, record_id: int, element: str) -> int:
    """The ready task at *element* of the process that task *record_id* belongs to (untimed)."""
    with app.app_context():
        instance = select(TaskRecord.instance_id).where(TaskRecord.id == record_id).scalar_subquery()
        found = db.session.scalar(
            select(TaskRecord.id).where(
                TaskRecord.instance_id == instance, TaskRecord.element == element, TaskRecord.state == "ready"
            )
        )
        db.Session.remove()
    if found is None:
        raise RuntimeError(f"no ready {element} task after task {record_id}")
    return int(found)


def later_stages(
    app: Any, staff: dict[str, Browser], liaison: Browser, record_id: int, verify_payload: dict[str, str]
) -> dict[str, tuple[float, int]]:
    """The district's verification (timed), its appeal of the adjustment (untimed) and the review of
    that appeal (timed), after its self-report *record_id*: (seconds, SQL statements) of each."""
    verification = next_task(app, record_id, "verification")
    open_form(staff["inspector"], verification)
    verify_time = submit(staff["inspector"], verification, verify_payload)
    verify_statements = STATEMENTS.last

    confirmation = next_task(app, record_id, "result_confirmation")
    revision_ids = APPEAL_FIELD.findall(open_form(liaison, confirmation))
    if len(revision_ids) != 1:
        raise RuntimeError(f"task {confirmation}: expected one appealable adjustment, got {revision_ids}")
    rid = revision_ids[0]
    appeal = {"decision": "appeal", f"appeal_{rid}": "1", f"appeal_reason_{rid}": "漏报问题已于月内整改完毕"}
    submit(liaison, confirmation, appeal)

    review = next_task(app, record_id, "appeal_review")
    appeal_ids = sorted(set(DECISION_FIELD.findall(open_form(staff["reviewer"], review))))
    if len(appeal_ids) != 1:
        raise RuntimeError(f"task {review}: expected one appeal to decide, got {appeal_ids}")
    aid = appeal_ids[0]
    decision = {
        "action": "submit",
        f"decision_{aid}": "upheld",
        f"decision_reason_{aid}": "整改材料属实，申诉成立",
    }
    review_time = submit(staff["reviewer"], review, decision)
    return {"verification": (verify_time, verify_statements), "review": (review_time, STATEMENTS.last)}


def notice_counts(app: Any) -> tuple[int, int]:
    """(notices rendered, notice jobs queued) so far."""
    with app.app_context():
        counts = (
            int(db.session.scalar(select(func.count(Notice.id))) or 0),
            int(db.session.scalar(select(func.count(NoticeJob.id))) or 0),
        )
        db.Session.remove()
    return counts


def phone_jpeg() -> bytes:
    """A 12-megapixel phone photo: 4000×3000, noisy (so ~4 MB at quality 90), EXIF with GPS."""
    width, height = 4000, 3000
    base = Image.merge(
        "RGB",
        [
            Image.linear_gradient("L").resize((width, height)),
            Image.linear_gradient("L").rotate(90).resize((width, height)),
            Image.new("L", (width, height), 110),
        ],
    )
    noise = Image.merge("RGB", [Image.effect_noise((width, height), 12) for _ in range(3)])
    photo = ImageChops.add(base, noise, scale=1.0, offset=-128)
    exif = piexif.dump(
        {
            "0th": {piexif.ImageIFD.Make: b"Phone", piexif.ImageIFD.Orientation: 1},
            "Exif": {piexif.ExifIFD.DateTimeOriginal: b"2026:11:05 10:00:00"},
            "GPS": {
                piexif.GPSIFD.GPSLatitudeRef: b"N",
                piexif.GPSIFD.GPSLatitude: ((31, 1), (18, 1), (0, 1)),
                piexif.GPSIFD.GPSLongitudeRef: b"E",
                piexif.GPSIFD.GPSLongitude: ((120, 1), (37, 1), (0, 1)),
            },
        }
    )
    buffer = io.BytesIO()
    photo.save(buffer, "JPEG", quality=90, exif=exif)
    return buffer.getvalue()


def evidence_store_times(app: Any, data: bytes) -> list[float]:
    """Store the photo as an upload field does (``store_uploads``), timed; the files are removed."""
    config = app.config
    times = []
    for _ in range(EVIDENCE_SAMPLES):
        uploads = UploadSettings(
            Path(config["UPLOAD_DIR"]), config["MAX_EVIDENCE_BYTES"], config["DISPLAY_IMAGE_MAX_PX"]
        )
        upload = FileStorage(io.BytesIO(data), filename="IMG_20261105_100000.jpg", content_type="image/jpeg")
        started = time.perf_counter()
        pending = store_uploads(uploads, "evidence_ZF0101", [upload], None)
        times.append(time.perf_counter() - started)
        stored = Path(config["UPLOAD_DIR"]) / pending[0].stored.stored_name
        if piexif.load(stored.read_bytes())["GPS"]:
            raise RuntimeError("the stored photo still carries GPS data")
        discard(uploads, pending)
    return times


class EngineFloor:
    """Load, run the self-report, engine steps, save — SpiffWorkflow and the app's engine layer only.

    The district diagram is ``bpmn_dir``'s, or *xml* (a version deployed elsewhere) if given."""

    def __init__(self, bpmn_dir: Path, state: str, xml: bytes | None = None) -> None:
        self.library = ProcessLibrary(bpmn_dir)
        # Parsed once and cached, as in the app.
        if xml is None:
            self.library.current_file(DISTRICT_PROCESS)
        else:
            self.library.register(DISTRICT_PROCESS, xml)
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
    with bench_app() as (app, tmp), SANDBOX_CALLS.installed():
        # The app runs its diagrams from its own copy of bpmn/ (BPMN_DIR, bound as create_app binds
        # it), so deploying the variant there leaves the repository's files alone.
        shipped_dir = Path(app.config["BPMN_DIR"])
        deploy_dir = tmp / "bpmn"
        shutil.copytree(shipped_dir, deploy_dir)
        app.config["BPMN_DIR"] = str(deploy_dir)
        processes.init(deploy_dir)
        variant_xml = scripted_variant((shipped_dir / f"{DISTRICT_PROCESS}.bpmn").read_bytes())
        assert not is_statically_bounded(SUMMARY_CONDITION), "the gateway condition must go to the sandbox"

        setup = build(app, samples, deploy_dir, variant_xml)
        picked, payload = setup["picked"], setup["payload"]
        scripted = setup["scripted"]
        browsers = {d: logged_in(app, f"liaison_{d}") for d in setup["districts"]}
        staff = {"inspector": logged_in(app, "bench_inspector"), "reviewer": logged_in(app, "bench_reviewer")}
        assert db.engine is not None
        event.listen(db.engine, "before_cursor_execute", STATEMENTS)

        floor_runner = EngineFloor(shipped_dir, setup["floor_state"])
        floor_runner.warm_up()
        scripted_floor_runner = EngineFloor(shipped_dir, setup["scripted_floor_state"], variant_xml)
        scripted_floor_runner.warm_up()
        for record_id, district_id in setup["warm"]:
            click(browsers[district_id], record_id, payload)
        for record_id, district_id in setup["warm"]:
            later_stages(app, staff, browsers[district_id], record_id, setup["verify_payload"])
        # The variant's warm-up clicks also take their districts through the later stages: the
        # script task and the gateway leave a process the rest of the round still works with.
        for record_id, district_id in setup["scripted_warm"]:
            click(browsers[district_id], record_id, payload)
        for record_id, district_id in setup["scripted_warm"]:
            later_stages(app, staff, browsers[district_id], record_id, setup["verify_payload"])
        notices_before = notice_counts(app)

        # Interleave the sizes (6, 60, 600, 6, 60, 600, …), the scripted variant's click and the
        # engine floors between them, so load from other processes on the machine hits every
        # figure alike. The 6-district click's later stages (verification, appeal, review) follow
        # it in each step. Sandbox calls are counted around every click (the floors' are not).
        times: dict[int, list[float]] = {size: [] for size in SIZES}
        stages: dict[str, list[tuple[float, int]]] = {"self_report": [], "verification": [], "review": []}
        scripted_times: list[tuple[float, int]] = []
        sandbox_calls: dict[str, list[int]] = {"shipped": [], "scripted": []}
        count = min([len(picked[size]) for size in SIZES] + [len(scripted)])
        floor_per_step = -(-FLOOR_REPEATS // count)
        for i in range(count):
            for size in SIZES:
                record_id, district_id = picked[size][i]
                before = SANDBOX_CALLS.count
                times[size].append(click(browsers[district_id], record_id, payload))
                sandbox_calls["shipped"].append(SANDBOX_CALLS.count - before)
                if size == 6:
                    stages["self_report"].append((times[size][-1], STATEMENTS.last))
            record_id, district_id = scripted[i]
            before = SANDBOX_CALLS.count
            scripted_times.append((click(browsers[district_id], record_id, payload), STATEMENTS.last))
            sandbox_calls["scripted"].append(SANDBOX_CALLS.count - before)
            record_id, district_id = picked[6][i]
            later = later_stages(app, staff, browsers[district_id], record_id, setup["verify_payload"])
            for stage, measured in later.items():
                stages[stage].append(measured)
            for _ in range(floor_per_step):
                floor_runner.once()
                scripted_floor_runner.once()
        notices_after = notice_counts(app)
        event.remove(db.engine, "before_cursor_execute", STATEMENTS)
        photo = phone_jpeg()
        evidence = evidence_store_times(app, photo)

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
            scripted_ids = [r for r, _ in scripted[:count]]
            scripted_done = db.session.scalars(
                select(TaskRecord.state).where(TaskRecord.id.in_(scripted_ids))
            )
            assert set(scripted_done) == {"completed"}, "every scripted click completed its task"
            scripted_instances = select(TaskRecord.instance_id).where(TaskRecord.id.in_(scripted_ids))
            verifications = db.session.scalar(
                select(func.count(TaskRecord.id)).where(
                    TaskRecord.instance_id.in_(scripted_instances),
                    TaskRecord.element == "verification",
                    TaskRecord.state == "ready",
                )
            )
            assert verifications == count, "after the script task and gateway, the verification is open"
            states = db.session.scalars(
                select(ProcessInstance.state).where(ProcessInstance.id.in_(scripted_instances))
            ).all()
            assert all("self_report_summary" in state for state in states), "the script ran"
            db.Session.remove()

        floor = floor_runner.summary()
        scripted_floor = scripted_floor_runner.summary()
    if min(sandbox_calls["scripted"]) < 1:
        raise RuntimeError(f"a scripted click made no sandbox call: {sandbox_calls['scripted']}")

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

    def row(label: str, count: int, cells: list[str]) -> None:
        print(f"{label:>10} | {count:>6} | " + " | ".join(f"{c.strip():>9}" for c in cells))

    def clicks_row(label: str, values: list[float], state_bytes: float) -> None:
        cells = [ms(median(values)), ms(p95(values)), ms(min(values)), ms(max(values))]
        row(label, len(values), [*cells, f"{state_bytes / 1024:.1f}"])

    def floor_row(label: str, measured: dict[str, Any], state: str) -> None:
        cells = [ms(measured["median"]), ms(measured["p95"]), "", ""]
        row(label, measured["repeats"], [*cells, f"{len(state.encode()) / 1024:.1f}"])

    for size in SIZES:
        clicks_row(str(size), times[size], setup["state_sizes"][size])
    floor_row("floor", floor, setup["floor_state"])
    scripted_values = [seconds for seconds, _ in scripted_times]
    scripted_median = median(scripted_values)
    clicks_row("6 scripted", scripted_values, setup["state_sizes"]["scripted"])
    floor_row("scr. floor", scripted_floor, setup["scripted_floor_state"])
    print()
    print(
        "engine floor = SpiffWorkflow only, no Flask, no database: "
        f"loads {floor['loads'] * 1000:.2f} ms + run & engine steps {floor['run'] * 1000:.2f} ms"
        f" + dumps {floor['dumps'] * 1000:.2f} ms (median of each part);"
        f" state after {floor['state_out'] / 1024:.1f} KB"
    )
    print(
        "6 scripted = 6-district rounds of the scripted district variant"
        f" (version {setup['scripted_version']}, deployed to BPMN_DIR before they were issued):"
        " after the self-report a script task and an exclusive gateway with a free-expression"
        " condition, both run in the sandbox;"
        f" {median([n for _, n in scripted_times]):.0f} SQL statements per click (median);"
        f" sandbox calls per click: scripted {statistics.median(sandbox_calls['scripted']):g}"
        f" ({SANDBOX_CALLS.by_mode['exec']} exec, {SANDBOX_CALLS.by_mode['eval']} eval in the whole run,"
        f" floors and warm-up included), shipped {max(sandbox_calls['shipped'])} at most"
    )
    print(
        "scr. floor = the same engine floor with the variant's spec (script and gateway condition in"
        f" the sandbox): loads {scripted_floor['loads'] * 1000:.2f} ms + run & engine steps"
        f" {scripted_floor['run'] * 1000:.2f} ms + dumps {scripted_floor['dumps'] * 1000:.2f} ms;"
        f" state after {scripted_floor['state_out'] / 1024:.1f} KB"
    )
    print()
    print(
        "Submissions of one district's later stages (6-district rounds, each step right after that"
        " district's self-report above), POST /tasks/<id> as the stage's user:"
    )
    print()
    labels = {
        "self_report": f"self-report (liaison, {setup['leaves']} indicators)",
        "verification": "verification (inspector, 1 indicator adjusted)",
        "review": "appeal review (inspector, 1 appeal upheld)",
    }
    columns = ("median ms", "p95 ms", "min ms", "max ms", "SQL stmts")
    header = f"{'submission':<47} | {'clicks':>6} | " + " | ".join(f"{c:>9}" for c in columns)
    print(header)
    print("-" * len(header))
    for stage, label in labels.items():
        values = [seconds for seconds, _ in stages[stage]]
        cells = [ms(median(values)), ms(p95(values)), ms(min(values)), ms(max(values))]
        cells.append(f"{median([n for _, n in stages[stage]]):.0f}")
        print(f"{label:<47} | {len(values):>6} | " + " | ".join(f"{c.strip():>9}" for c in cells))
    print()
    rendered = notices_after[0] - notices_before[0]
    queued = notices_after[1] - notices_before[1]
    print(
        f"notices rendered inside these clicks: {rendered};"
        f" notice jobs queued for the background queue: {queued}"
    )
    print(
        f"evidence: one 4000×3000 phone JPEG ({len(photo) / 2**20:.1f} MB, EXIF with GPS) through"
        f" app.evidence.operations.store_uploads, {len(evidence)} times:"
        f" median {median(evidence) * 1000:.0f} ms,"
        f" min {min(evidence) * 1000:.0f} ms, max {max(evidence) * 1000:.0f} ms"
    )
    print(f"total run time {time.perf_counter() - overall:.0f} s")
    print()
    slowest = max(median([t for t, _ in stages[stage]]) for stage in ("verification", "review"))
    print(f"evidence_store_12mp_jpeg_ms={median(evidence) * 1000:.1f}")
    print(f"slowest_click_vs_self_report={slowest / median(times[6]):.2f}")
    print(f"click_vs_engine_floor={median(times[6]) / floor['median']:.2f}")
    print(f"scripted_engine_floor_ms={scripted_floor['median'] * 1000:.2f}")
    print(f"sandbox_calls_per_scripted_click={statistics.median(sandbox_calls['scripted']):g}")
    # The floor of the diagram the click runs (the same definition as click_vs_engine_floor's).
    print(f"scripted_click_vs_engine_floor={scripted_median / scripted_floor['median']:.2f}")
    print(f"scripted_click_vs_shipped_floor={scripted_median / floor['median']:.2f}")
    print(f"click_cost_ratio_600_vs_6={median(times[600]) / median(times[6]):.2f}")


if __name__ == "__main__":
    main()

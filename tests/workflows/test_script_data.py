"""What scripts see and leave behind when they run in the sandbox: the task data as SpiffWorkflow
would leave it, the date helpers (imports are refused), and a clear refusal of str.format."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from uuid import UUID

import pytest

from tests.workflows.test_restricted import diagram
from workflows.calendar import WorkCalendar
from workflows.clock import SHANGHAI
from workflows.deadlines import script_functions
from workflows.definitions import ProcessDefinitionError, parse_definition
from workflows.restricted import RestrictedEnvironment
from workflows.sandbox import SandboxLimits, SandboxPool, ScriptError
from workflows.script_data import from_json, to_json
from workflows.script_helpers import format_date


@pytest.fixture(scope="module")
def pool() -> Iterator[SandboxPool]:
    shared = SandboxPool(SandboxLimits(budget_seconds=2))
    yield shared
    shared.close()


def run(pool: SandboxPool, script: str, calendar: WorkCalendar | None = None, **data: object) -> dict:
    env = RestrictedEnvironment(script_functions(calendar), calendar, sandbox=pool)
    context = dict(data)
    env.execute(script, context)
    return context


def test_task_data_after_a_script_is_what_spiffworkflow_would_leave(pool: SandboxPool) -> None:
    left = run(pool, "c = a * 2\ndel b\ndef twice(v):\n    return v * 2\nd = twice(c)", a=2, b=3)
    assert left == {"a": 2, "c": 4, "d": 8}  # deleted gone, functions not kept


def test_values_of_every_kind_cross_both_ways(pool: SandboxPool) -> None:
    values = {
        "day": date(2026, 3, 5),
        "moment": datetime(2026, 3, 5, 14, 30, tzinfo=SHANGHAI),
        "utc": datetime(2026, 3, 5, 6, 30, tzinfo=UTC),
        "at": time(9, 0),
        "span": timedelta(days=2, seconds=5),
        "amount": Decimal("12.50"),
        "ident": UUID(int=7),
        "pair": (1, "二"),
        "by_id": {1: "a", (2, 3): "b"},
        "tagged_looking": {"$t": "date", "v": "x"},
        "nested": [{"a": [1.5, None, True]}],
    }
    left = run(
        pool, "copied = [day, moment, utc, at, span, amount, ident, pair, by_id, tagged_looking]", **values
    )
    assert left["copied"] == [values[k] for k in list(values)[:10]]
    assert left["moment"].tzinfo is SHANGHAI
    assert left == {**values, "copied": left["copied"]}


def test_a_value_that_cannot_be_kept_is_a_clear_script_error(pool: SandboxPool) -> None:
    with pytest.raises(ScriptError, match="脚本留下的变量 pending"):
        run(pool, "pending = (i for i in [1])")


def test_malformed_tags_are_refused_not_trusted() -> None:
    with pytest.raises(ValueError, match="无法读取"):
        from_json({"$t": "date", "v": 5})
    assert from_json(to_json({"$t": 1})) == {"$t": 1}


def test_date_helpers_compute_and_format(pool: SandboxPool) -> None:
    left = run(
        pool,
        "due = add_days(to_date(start), 3)\n"
        "gap = days_between(start, due)\n"
        "label = format_date(due, 'chinese')\n"
        "stamp = format_date(to_datetime('2026-03-05T14:30'), 'iso')\n"
        "late = today() > due",
        start="2026-03-05",
    )
    assert left["due"] == date(2026, 3, 8)
    assert left["gap"] == 3
    assert left["label"] == "2026年3月8日"
    assert left["stamp"] == "2026-03-05 14:30"
    assert left["late"] is True


def test_working_days_use_the_calendar_and_its_corrections(pool: SandboxPool) -> None:
    # 2026-10-01..07 is the National Day holiday; the administrator's correction makes 10-01 worked.
    start = date(2026, 9, 30)
    assert run(pool, "d = add_work_days(start, 1)", start=start)["d"] == date(2026, 10, 8)
    corrected = WorkCalendar({date(2026, 10, 1): True})
    left = run(pool, "d = add_work_days(start, 1)\nw = is_work_day(d)", corrected, start=start)
    assert left == {"start": start, "d": date(2026, 10, 1), "w": True}


def test_helpers_refuse_unbounded_spans(pool: SandboxPool) -> None:
    with pytest.raises(ValueError, match="天数须在"):
        run(pool, "d = add_work_days(today(), 10 ** 6)")
    with pytest.raises(ValueError, match="iso、chinese、compact"):
        format_date(date(2026, 3, 5), "%Y")


@pytest.mark.parametrize("script", ["x = '{}'.format(a)", "x = '{a}'.format_map(data)", "f = '{}'.format"])
def test_str_format_is_refused_when_the_diagram_is_loaded(script: str) -> None:
    with pytest.raises(ProcessDefinitionError) as excinfo:
        parse_definition(diagram(script), "p")
    message = str(excinfo.value)
    assert "script" in message
    assert "str.format" in message
    assert "f-string" in message


def test_what_the_load_check_suggests_instead_runs(pool: SandboxPool) -> None:
    script = "label = f'{name}：{score}分，截止 ' + format_date(add_work_days(start, 5), 'chinese')"
    parse_definition(diagram(script), "p")
    left = run(pool, script, name="吴江区", score=88, start=date(2026, 3, 2))
    assert left["label"] == "吴江区：88分，截止 2026年3月9日"

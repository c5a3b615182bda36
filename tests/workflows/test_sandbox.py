"""Scripts run within a budget: runaway scripts fail in bounded time and memory wherever they run
(a web request, a deadline-scheduler thread), nothing a script raises escapes as a server error,
and the sandbox comes back after a kill."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request
from SpiffWorkflow.exceptions import WorkflowException
from SpiffWorkflow.util.task import TaskState

from tests.workflows.script_diagrams import FUTURE, PAST, RUNAWAYS, timed_script_process
from workflows import sandbox
from workflows.deadlines import script_functions
from workflows.definitions import ProcessLibrary, parse_definition
from workflows.incidents import TaskFailure
from workflows.restricted import RESTRICTED_GLOBALS, RestrictedEnvironment
from workflows.runner import fire_due_timers
from workflows.sandbox import SandboxLimits, SandboxPool, ScriptError
from workflows.sandbox_child import _failure as child_failure

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"
BUDGET = 0.5
LIMITS = SandboxLimits(budget_seconds=BUDGET)

ESCAPES = {
    "system_exit": "raise SystemExit(1)",
    "keyboard_interrupt": "raise KeyboardInterrupt",
    "generator_exit": "raise GeneratorExit",
    "base_exception": "raise BaseException('x')",
    "thrown_into_generator": "x = (i for i in [1]).throw(SystemExit)",
}


def diagram(script: str, due: str = PAST) -> bytes:
    return timed_script_process(script, due)


@pytest.fixture(autouse=True)
def _small_budget() -> Iterator[None]:
    sandbox.configure(LIMITS)
    yield
    sandbox.configure(SandboxLimits())


@pytest.fixture
def library() -> ProcessLibrary:
    return ProcessLibrary(BPMN_DIR)


def web_app(library: ProcessLibrary) -> Flask:
    """A request that starts a process whose first step is the posted script (as issuing does)."""
    app = Flask(__name__)

    @app.post("/run")
    def run() -> Any:
        definition = parse_definition(diagram(request.get_data(as_text=True)), "p")
        try:
            wf = library.new_workflow(definition, {"a": 1}, services=None)
        except WorkflowException as exc:
            return {"error": str(exc)}, 422
        return {"x": wf.last_task.data.get("x")}

    return app


def fire_in_scheduler_thread(library: ProcessLibrary, script: str) -> Callable[[], Any]:
    """A waiting instance whose timer leads to *script*, fired on a one-thread pool like SQLite's."""
    wf = library.new_workflow(parse_definition(diagram(script, FUTURE), "p"), {"a": 1}, services=None)
    for task in wf.get_tasks(state=TaskState.WAITING):
        task._set_internal_data(event_value="2000-01-01T00:00:00+08:00")  # as an extension moves it

    def fire() -> Any:
        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(lambda: (fire_due_timers(wf), wf.last_task.data.get("x"))).result()

    return fire


def timed(call: Callable[[], Any]) -> tuple[float, Any]:
    started = time.monotonic()
    try:
        outcome = call()
    except Exception as exc:
        outcome = exc
    return time.monotonic() - started, outcome


@pytest.mark.parametrize("payload", RUNAWAYS, ids=list(RUNAWAYS))
def test_runaway_script_in_a_request_fails_within_the_budget(library: ProcessLibrary, payload: str) -> None:
    client = web_app(library).test_client()
    client.post("/run", data="x = 0")  # the sandbox is started before the clock
    elapsed, response = timed(lambda: client.post("/run", data=RUNAWAYS[payload]))
    assert elapsed < BUDGET + 1
    assert response.status_code == 422
    assert "脚本" in response.json["error"]
    assert client.post("/run", data="x = a + 1").json == {"x": 2}  # and the next click works


@pytest.mark.parametrize("payload", RUNAWAYS, ids=list(RUNAWAYS))
def test_runaway_script_in_a_scheduler_thread_fails_within_the_budget(
    library: ProcessLibrary, payload: str
) -> None:
    fire_in_scheduler_thread(library, "x = 0")()
    elapsed, outcome = timed(fire_in_scheduler_thread(library, RUNAWAYS[payload]))
    assert elapsed < BUDGET + 1
    # The firing's failure, naming the script task, for its incident; its cause is the sandbox's.
    assert isinstance(outcome, TaskFailure) and outcome.kind == "脚本任务"
    assert getattr(outcome.cause, "error_type", None) == "ScriptError", outcome.cause
    assert fire_in_scheduler_thread(library, "x = a + 1")() == (True, 2)


@pytest.mark.parametrize(
    "expression",
    ["9 ** 9 ** 9 > 0", "len('x'.ljust(10 ** 10)) > 0", "[0] * 10 ** 9 == []", "f'{1:>{10 ** 10}}'"],
)
def test_runaway_expression_fails_within_the_budget(expression: str) -> None:
    pool = SandboxPool(LIMITS)
    env = RestrictedEnvironment(sandbox=pool)
    try:
        env.evaluate("a + 1", {"a": 1})
        elapsed, outcome = timed(lambda: env.evaluate(expression, {}))
        assert elapsed < BUDGET + 1
        assert isinstance(outcome, ScriptError)
        assert env.evaluate("a + 1", {"a": 1}) == 2
    finally:
        pool.close()


def test_timeout_names_the_budget_and_the_script(library: ProcessLibrary) -> None:
    response = web_app(library).test_client().post("/run", data=RUNAWAYS["loop"])
    assert "脚本运行超过 0.5 秒被终止：while True:" in response.json["error"]


@pytest.mark.parametrize("payload", ESCAPES, ids=list(ESCAPES))
def test_script_raising_a_base_exception_is_a_script_error_and_the_server_goes_on(
    library: ProcessLibrary, payload: str
) -> None:
    client = web_app(library).test_client()
    response = client.post("/run", data=ESCAPES[payload])
    assert response.status_code == 422
    assert client.post("/run", data="x = a + 1").json == {"x": 2}


def test_scripts_see_no_base_exception_that_is_not_an_exception() -> None:
    visible = RESTRICTED_GLOBALS["__builtins__"]
    for name in ("BaseException", "SystemExit", "KeyboardInterrupt", "GeneratorExit"):
        assert name not in visible
    exceptions = [v for v in visible.values() if isinstance(v, type) and issubclass(v, BaseException)]
    assert all(issubclass(v, Exception) for v in exceptions)


def test_base_exception_in_an_in_process_expression_becomes_a_script_error() -> None:
    def stops(*_: Any) -> str:
        raise KeyboardInterrupt

    env = RestrictedEnvironment({"due_date": stops}, sandbox=SandboxPool(LIMITS))
    with pytest.raises(ScriptError, match="KeyboardInterrupt"):
        env.evaluate('due_date(deadline_rules, "review")', {"deadline_rules": {}})


def test_base_exception_in_the_sandbox_comes_back_as_a_script_error() -> None:
    reply = child_failure(SystemExit(3))
    assert reply["ok"] is False
    assert isinstance(sandbox._failure(reply, LIMITS), ScriptError)


def test_after_a_kill_the_next_evaluation_works_and_a_fresh_child_is_ready() -> None:
    pool = SandboxPool(LIMITS)
    env = RestrictedEnvironment(sandbox=pool)
    try:
        with pytest.raises(ScriptError, match=r"0\.5 秒"):
            env.execute("while True:\n    pass", {})
        assert pool.started == 2  # the successor was started with the kill
        data = {"a": 1}
        elapsed, _ = timed(lambda: env.execute("x = a + 1", data))
        assert data == {"a": 1, "x": 2}
        assert pool.started == 2
        assert elapsed < 1
    finally:
        pool.close()


def test_a_sandbox_process_that_dies_is_replaced() -> None:
    pool = SandboxPool(SandboxLimits(budget_seconds=5))
    env = RestrictedEnvironment(sandbox=pool)
    try:
        env.execute("x = 0", {})
        os.kill(next(iter(pool._all)).proc.pid, signal.SIGKILL)  # idle, e.g. the OOM killer
        time.sleep(0.1)
        assert env.evaluate("a + 1", {"a": 1}) == 2
        busy = next(iter(pool._all)).proc.pid
        threading.Timer(0.3, os.kill, (busy, signal.SIGKILL)).start()  # while it runs a script
        elapsed, outcome = timed(lambda: env.execute("while True:\n    pass", {}))
        assert elapsed < 1
        assert isinstance(outcome, ScriptError)
        assert "沙箱进程退出" in str(outcome)
        assert env.evaluate("a + 1", {"a": 1}) == 2
    finally:
        pool.close()


def test_a_runaway_script_does_not_hold_up_another_thread() -> None:
    pool = SandboxPool(SandboxLimits(budget_seconds=1))
    env = RestrictedEnvironment(sandbox=pool)
    try:
        env.execute("x = 0", {})
        env.execute("x = 0", {})
        runaway = threading.Thread(target=lambda: timed(lambda: env.execute("while True:\n    pass", {})))
        runaway.start()
        time.sleep(0.1)
        elapsed, _ = timed(lambda: env.execute("x = 1", {}))
        assert elapsed < 0.5  # the second child answers while the first is busy
        runaway.join()
    finally:
        pool.close()


def test_statically_bounded_expressions_do_not_start_the_sandbox() -> None:
    pool = SandboxPool(LIMITS)
    env = RestrictedEnvironment(script_functions(None), sandbox=pool)
    rules = {"review": {"kind": "working_days", "days": 5}}
    assert env.evaluate("appealed == True", {"appealed": True}) is True
    assert env.evaluate("not closed and score >= 60", {"closed": False, "score": 75}) is True
    assert env.evaluate('status in ("a", "b") or items[0] == 1', {"status": "c", "items": [1]}) is True
    assert env.evaluate('due_date(deadline_rules, "review")', {"deadline_rules": rules}).endswith("+08:00")
    assert pool.started == 0
    assert env.evaluate("'x' * n", {"n": 3}) == "xxx"  # arithmetic goes to the sandbox
    assert pool.started == 1
    pool.close()


def test_the_standard_diagram_runs_without_starting_the_sandbox(library: ProcessLibrary) -> None:
    definition = library.current_file("district_assessment")
    stages = ("self_report", "verification", "appeal", "review")
    wf = library.new_workflow(
        definition,
        {"deadline_rules": {s: {"kind": "working_days", "days": 3} for s in stages}},
        services=lambda _name, _task, _params: {},
    )
    for data in ({}, {}, {"appealed": True}, {}):
        task = wf.get_tasks(state=TaskState.READY, manual=True)[0]
        task.data.update(data)
        task.run()
        wf.do_engine_steps()  # timers (due_date) and the gateway's condition
    assert wf.completed
    assert sandbox._default is None  # no sandbox process was ever needed

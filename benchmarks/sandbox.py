"""Script budgets: how far past its budget a runaway script runs, and what a sandboxed evaluation costs.

    python -m benchmarks.sandbox [rounds]

Each runaway payload of the issue (an endless loop, ``9 ** 9 ** 9``, ``ljust`` and f-string widths of
10^10, ``[0] * 10 ** 9``, ``'%10000000000d' % 1``) runs as the script task of a process, with the
production limits (2 s, 512 MB):

- in a web request handled on the main thread, as a gunicorn sync worker does (Flask test client);
- in a web request of the threaded development server (werkzeug, over a real socket);
- in a deadline firing on a one-thread pool, as the scheduler fires on SQLite (a waiting timer
  made due, ``fire_due_timers``).

Every time is wall clock, taken by the caller around the whole request or firing. Then the median
of one sandboxed evaluation of a trivial script, through the engine's environment, beside the same
evaluation in this process (the floor: what RestrictedPython itself costs).

Prints a table and, last, ``script_budget_overrun_s=…`` (the worst time past the budget, target
≤ 1) and ``sandbox_call_ms=…`` (target ≤ 1), with ``inprocess_call_ms=…`` beside it.
"""

from __future__ import annotations

import http.client
import logging
import statistics
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask import Flask, request
from SpiffWorkflow.util.task import TaskState
from werkzeug.serving import make_server

from tests.workflows.script_diagrams import FUTURE, PAST, RUNAWAYS, timed_script_process
from workflows import sandbox
from workflows.deadlines import script_functions
from workflows.definitions import ProcessLibrary, parse_definition
from workflows.restricted import RestrictedEnvironment, run_restricted
from workflows.runner import fire_due_timers

PAYLOADS = RUNAWAYS
CALLS = 2000
LIBRARY = ProcessLibrary(Path(__file__).resolve().parents[1] / "bpmn")


def definition(script: str, due: str) -> Any:
    return parse_definition(timed_script_process(script, due), "p")


def web_app() -> Flask:
    """A request that starts a process whose first step is the posted script (as issuing does)."""
    app = Flask(__name__)

    @app.post("/run")
    def run() -> Any:
        try:
            LIBRARY.new_workflow(definition(request.get_data(as_text=True), PAST), {"a": 1}, None)
        except Exception as exc:
            return {"error": str(exc)[:200]}, 422
        return {"ok": True}

    return app


def sync_worker(script: str) -> Callable[[], int]:
    client = web_app().test_client()
    return lambda: client.post("/run", data=script).status_code


def dev_server(port: int, script: str) -> Callable[[], int]:
    def post() -> int:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.request("POST", "/run", body=script.encode())
        status = connection.getresponse().status
        connection.close()
        return status

    return post


def scheduler_thread(script: str) -> Callable[[], int]:
    wf = LIBRARY.new_workflow(definition(script, FUTURE), {"a": 1}, None)
    for task in wf.get_tasks(state=TaskState.WAITING):
        task._set_internal_data(event_value="2000-01-01T00:00:00+08:00")  # due now, as an extension moves it

    def fire() -> int:
        with ThreadPoolExecutor(max_workers=1) as pool:
            try:
                pool.submit(fire_due_timers, wf).result()
            except Exception:
                return 422
        return 200

    return fire


def overruns(rounds: int, port: int) -> float:
    budget = sandbox.SandboxLimits().budget_seconds
    contexts: dict[str, Callable[[str], Callable[[], int]]] = {
        "request (sync worker)": sync_worker,
        "request (dev server thread)": lambda script: dev_server(port, script),
        "scheduler thread": scheduler_thread,
    }
    worst = float("-inf")
    print(f"{'payload':<18}{'context':<30}{'worst s':>9}{'past budget s':>15}")
    for name, script in PAYLOADS.items():
        for label, make in contexts.items():
            make("x = 0")()  # a ready sandbox: its start-up is not the script's budget
            times = []
            for _ in range(rounds):
                call = make(script)
                started = time.monotonic()
                status = call()
                times.append(time.monotonic() - started)
                if status != 422:
                    raise RuntimeError(f"{name} in {label} did not fail ({status})")
            over = max(times) - budget
            worst = max(worst, over)
            print(f"{name:<18}{label:<30}{max(times):>9.3f}{over:>15.3f}")
    return worst


def call_costs() -> tuple[float, float]:
    env = RestrictedEnvironment(script_functions(None))
    functions = script_functions(None)
    sandboxed, local = [], []
    for i in range(CALLS):
        data = {"a": i, "name": "吴江区", "score": 88}
        started = time.perf_counter()
        env.execute("x = a + 1", data)
        sandboxed.append(time.perf_counter() - started)
        data = {"a": i, "name": "吴江区", "score": 88}
        started = time.perf_counter()
        run_restricted("exec", "x = a + 1", data, functions, {})
        local.append(time.perf_counter() - started)
    return statistics.median(sandboxed) * 1000, statistics.median(local) * 1000


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    sandbox.configure(sandbox.SandboxLimits())
    server = make_server("127.0.0.1", 0, web_app(), threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        worst = overruns(rounds, server.server_port)
    finally:
        server.shutdown()
    sandboxed_ms, local_ms = call_costs()
    print(f"started sandbox processes: {sandbox.default_pool().started}")
    print(f"script_budget_overrun_s={worst:.3f}")
    print(f"sandbox_call_ms={sandboxed_ms:.3f}")
    print(f"inprocess_call_ms={local_ms:.3f}")


if __name__ == "__main__":
    main()

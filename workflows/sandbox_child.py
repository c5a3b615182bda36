"""The sandbox process (脚本沙箱子进程): limit itself, then run one request at a time.

Started by ``workflows.sandbox`` as ``python -I -c … ROOT MEMORY_BYTES MAX_REPLY_BYTES``. It reads
one JSON request per line on stdin and writes one JSON reply per line on the original stdout
(fd 1 is pointed at stderr first, so nothing else can write into the protocol). It exits when
stdin closes (its parent is gone); a script that keeps it busy meanwhile meets the CPU limit.
(Not PR_SET_PDEATHSIG: it fires when the *thread* that started the child ends, and a development
server starts it from a request thread that ends with the request.)
"""

from __future__ import annotations

import json
import os
import resource
import sys
import traceback
from datetime import date
from functools import lru_cache
from typing import Any, BinaryIO

from workflows.calendar import WorkCalendar
from workflows.deadlines import script_functions
from workflows.restricted import run_restricted
from workflows.script_data import decode_variables, dumps, encode_variables, to_json

_NOBODY = 65534
_WARM_UP = dumps(
    {
        "mode": "exec",
        "source": "d = format_date(add_work_days(today(), 1), 'chinese') + f'{1.5:>4}'",
        "data": {},
        "external": {},
        "cpu": 5,
    }
)


def _limit_memory(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # SIGXCPU would otherwise dump core


def _arm_cpu(seconds: float) -> None:
    """CPU backstop for this request: RLIMIT_CPU counts the whole life of the process, so the soft
    limit is moved to what is used now plus the budget (SIGXCPU then ends the process)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    soft = int(usage.ru_utime + usage.ru_stime + seconds) + 1
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _drop_privileges() -> None:
    """As root, run scripts as nobody: RestrictedPython is the wall, this the ditch behind it."""
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(_NOBODY)
        os.setuid(_NOBODY)


@lru_cache(maxsize=8)
def _calendar(overrides: tuple[tuple[str, bool], ...]) -> WorkCalendar:
    return WorkCalendar({date.fromisoformat(day): bool(work) for day, work in overrides})


def _run(request: dict[str, Any]) -> dict[str, Any]:
    data = decode_variables(request["data"])
    external = decode_variables(request["external"])
    overrides = tuple((str(day), bool(work)) for day, work in request.get("overrides") or ())
    functions = script_functions(_calendar(overrides))
    if request["mode"] == "eval":
        value = run_restricted("eval", request["source"], data, functions, external)
        return {"ok": True, "value": to_json(value)}
    run_restricted("exec", request["source"], data, functions, external)
    return {"ok": True, "data": encode_variables(data, "脚本留下的变量")}


def _failure(exc: BaseException) -> dict[str, Any]:
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == "<bpmn>":
            line = frame.lineno
    try:
        message = str(exc)[:500]
    except BaseException:  # a script's exception whose text cannot be made
        message = ""
    return {"ok": False, "type": type(exc).__name__, "message": message, "line": line}


def handle(line: bytes) -> dict[str, Any]:
    """The reply to one request line; whatever the script raises becomes a failure reply."""
    try:
        request = json.loads(line)
        _arm_cpu(float(request["cpu"]))
        return _run(request)
    except BaseException as exc:  # SystemExit, MemoryError …: the script's failures
        return _failure(exc)


def _reply(out: BinaryIO, reply: dict[str, Any], max_bytes: int) -> None:
    try:
        raw = dumps(reply)
    except BaseException as exc:  # e.g. an integer too long to write as text
        raw = dumps(_failure(exc))
    if len(raw) > max_bytes:
        message = f"脚本的结果超过 {max_bytes // 2**20} MB"
        raw = dumps({"ok": False, "type": "ScriptError", "message": message})
    out.write(raw)
    out.flush()


def main() -> None:
    memory_bytes, max_reply = int(sys.argv[2]), int(sys.argv[3])
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    handle(_WARM_UP)  # whatever a run imports lazily is imported while the files are still readable
    _drop_privileges()
    _limit_memory(memory_bytes)
    _reply(out, {"ready": True}, max_reply)
    for line in sys.stdin.buffer:
        _reply(out, handle(line), max_reply)

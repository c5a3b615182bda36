"""The script sandbox (脚本沙箱): diagram scripts run in separate, limited Python processes.

Why processes: ``signal.alarm`` stops a runaway script only on the main thread, and deadlines fire
on a scheduler thread; a tracing hook or an asynchronous exception stops a Python loop but not
C-level work (``9 ** 9 ** 9``, ``'x'.ljust(10 ** 10)``); a memory limit applies to a whole process,
and this one renders PDFs; forking a limited child per evaluation costs about 4 ms. So a few
persistent children, each a clean interpreter (never a fork of a threaded server), limit their own
address space and CPU time and run one request at a time (``workflows.sandbox_child``). The
parent waits on the wall clock: a child that overruns its budget is killed and a fresh one is
started at once, so the next click does not pay for it.

Requests and replies are one JSON line each (``workflows.script_data``): data goes in, the value
or the script's variables come back, and nothing from the child is ever unpickled.
"""

from __future__ import annotations

import atexit
import builtins
import json
import os
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from workflows.sandbox_process import Died, NotListening, SandboxProcess, TooLarge, TooLate
from workflows.sandbox_process import SandboxLimits as SandboxLimits  # re-exported for callers
from workflows.script_data import (
    UnrepresentableValue,
    decode_variables,
    dumps,
    encode_variables,
    from_json,
)

T = TypeVar("T")
# Exceptions a script raised that come back as themselves (SpiffWorkflow names them in its message).
_PASSED_THROUGH = frozenset(
    {
        "ArithmeticError",
        "AssertionError",
        "AttributeError",
        "IndexError",
        "KeyError",
        "LookupError",
        "NameError",
        "NotImplementedError",
        "OverflowError",
        "RecursionError",
        "RuntimeError",
        "SyntaxError",
        "TypeError",
        "ValueError",
        "ZeroDivisionError",
    }
)


class ScriptError(Exception):
    """A script or expression failed; the message (Chinese) says why."""


def _head(source: str) -> str:
    first = source.strip().splitlines()[0] if source.strip() else ""
    return first[:60] + ("…" if len(first) > 60 or "\n" in source.strip() else "")


def _failure(reply: dict[str, Any], limits: SandboxLimits) -> Exception:
    """The exception for a script's failure reported by the child."""
    kind, message = str(reply.get("type", ""))[:60], str(reply.get("message", ""))[:500]
    line = reply.get("line")
    where = f"（第 {line} 行）" if isinstance(line, int) else ""
    if kind == "MemoryError":
        return ScriptError(f"脚本占用内存超过 {limits.memory_bytes // 2**20} MB 被终止{where}")
    if kind in _PASSED_THROUGH:
        error: Exception = getattr(builtins, kind)(message)
        if where:
            error.add_note(where)
        return error
    return ScriptError(f"{message or kind}{where}")


class SandboxPool:
    """At most ``limits.workers`` sandbox children, shared by every thread of this process."""

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self.started = 0  # children started so far (tests and the benchmark read it)
        self._cond = threading.Condition()
        self._idle: list[SandboxProcess] = []
        self._all: set[SandboxProcess] = set()
        self._count = 0  # children alive or being started, idle or busy
        self._closed = False

    def evaluate(
        self, expression: str, data: dict[str, Any], external: dict[str, Any], overrides: list[Any]
    ) -> Any:
        """The value of *expression* over *data*, computed in a sandbox child."""
        reply = self._run("eval", expression, data, external, overrides)
        return self._decoded(lambda: from_json(reply.get("value")))

    def execute(
        self, script: str, data: dict[str, Any], external: dict[str, Any], overrides: list[Any]
    ) -> dict[str, Any]:
        """The variables *script* leaves when run over *data* in a sandbox child."""
        reply = self._run("exec", script, data, external, overrides)
        return self._decoded(lambda: decode_variables(reply.get("data")))

    @staticmethod
    def _decoded(decode: Callable[[], T]) -> T:
        try:
            return decode()
        except (UnrepresentableValue, RecursionError) as exc:
            raise ScriptError(f"脚本的结果无法读取：{exc}") from exc

    def _run(
        self, mode: str, source: str, data: dict[str, Any], external: dict[str, Any], overrides: list[Any]
    ) -> dict[str, Any]:
        try:
            request = dumps(
                {
                    "mode": mode,
                    "source": source,
                    "data": encode_variables(data, "流程变量"),
                    "external": encode_variables(external, "数据对象"),
                    "overrides": overrides,
                    "cpu": self.limits.budget_seconds + 1,  # the child's own backstop
                }
            )
        except (UnrepresentableValue, RecursionError) as exc:
            raise ScriptError(f"脚本所需的数据无法传入沙箱：{exc}") from exc
        try:
            reply = json.loads(self._exchange(request, source))
        except (ValueError, RecursionError) as exc:
            raise ScriptError("脚本的结果无法读取") from exc
        if not isinstance(reply, dict):
            raise ScriptError("脚本的结果无法读取")
        if not reply.get("ok"):
            raise _failure(reply, self.limits)
        return reply

    def _exchange(self, request: bytes, source: str) -> bytes:
        """The child's answer line; a child found dead before the request is replaced once."""
        for attempt in (1, 2):
            child = self._acquire()
            try:
                child.wait_ready()
            except BaseException as exc:
                self._discard(child, replace=False)
                if not isinstance(exc, Died | TooLate | ValueError):
                    raise
                if attempt == 2:
                    raise ScriptError("脚本沙箱进程无法启动，请联系运维人员") from exc
                continue
            try:
                return self._answer(child, request, source)
            except NotListening as exc:  # it died while idle: the request never reached it
                self._discard(child, replace=False)
                if attempt == 2:
                    raise ScriptError("脚本沙箱进程无法启动，请联系运维人员") from exc
        raise AssertionError("unreachable")

    def _answer(self, child: SandboxProcess, request: bytes, source: str) -> bytes:
        """Send one request to a ready child; the child goes back to the pool only after a full answer."""
        seconds = f"{self.limits.budget_seconds:g}"
        try:
            line = child.exchange(request)
        except NotListening:
            raise  # died while idle: the caller tries another child
        except TooLate as exc:
            self._discard(child, replace=True)
            raise ScriptError(f"脚本运行超过 {seconds} 秒被终止：{_head(source)}") from exc
        except TooLarge as exc:
            self._discard(child, replace=True)
            raise ScriptError(f"脚本的结果超过 {self.limits.max_reply_bytes // 2**20} MB") from exc
        except Died as exc:
            self._discard(child, replace=True)
            raise ScriptError(f"脚本运行时沙箱进程退出（超出资源限制）：{_head(source)}") from exc
        except BaseException:
            # Interrupted here (a signal, the server stopping): the child's state is unknown.
            self._discard(child, replace=False)
            raise
        self._release(child)
        return line

    def _acquire(self) -> SandboxProcess:
        with self._cond:
            while True:
                if self._closed:
                    raise ScriptError("脚本沙箱已关闭")
                while self._idle:
                    child = self._idle.pop()
                    if child.alive():
                        return child
                    self._forget(child)
                if self._count < self.limits.workers:
                    self._count += 1
                    break
                self._cond.wait()
        try:
            return self._spawn()
        except BaseException:
            with self._cond:
                self._count -= 1
                self._cond.notify()
            raise

    def _spawn(self) -> SandboxProcess:
        try:
            child = SandboxProcess(self.limits)
        except OSError as exc:
            raise ScriptError(f"脚本沙箱进程无法启动：{exc}") from exc
        with self._cond:
            self.started += 1
            self._all.add(child)
        return child

    def _forget(self, child: SandboxProcess) -> None:
        """Drop a dead or killed child from the counts (the lock is held)."""
        child.kill()
        self._all.discard(child)
        self._count -= 1
        self._cond.notify()

    def _release(self, child: SandboxProcess) -> None:
        with self._cond:
            if self._closed:
                self._forget(child)
            else:
                self._idle.append(child)
                self._cond.notify()

    def _discard(self, child: SandboxProcess, replace: bool) -> None:
        """Kill *child*; with *replace*, start its successor now so the next click finds it ready."""
        child.kill()
        with self._cond:
            self._forget(child)
            if not replace or self._closed:
                return
            self._count += 1
        try:
            successor = self._spawn()
        except ScriptError:
            with self._cond:
                self._count -= 1
            return
        self._release(successor)

    def close(self) -> None:
        """Stop every child (at interpreter exit, or when the limits change)."""
        with self._cond:
            self._closed = True
            children, self._idle = list(self._all), []
            self._all.clear()
            self._count = 0
            self._cond.notify_all()
        for child in children:
            child.kill()


_default_lock = threading.Lock()
_default_limits = SandboxLimits()
_default: SandboxPool | None = None


def configure(limits: SandboxLimits) -> None:
    """Set the limits of this process's sandbox (create_app, benchmarks, tests)."""
    global _default, _default_limits
    with _default_lock:
        if limits == _default_limits:
            return
        _default_limits = limits
        old, _default = _default, None
    if old is not None:
        old.close()


def default_pool() -> SandboxPool:
    """This process's sandbox, created on first use (a process that runs no script starts none)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = SandboxPool(_default_limits)
        return _default


def _close_default() -> None:
    if _default is not None:
        _default.close()


def _after_fork() -> None:
    # A forked worker (gunicorn --preload) must not share its parent's children, nor a lock that
    # another thread may have held at the fork.
    global _default, _default_lock
    _default, _default_lock = None, threading.Lock()


atexit.register(_close_default)
os.register_at_fork(after_in_child=_after_fork)

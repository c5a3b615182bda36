"""Restricted evaluation of BPMN scripts, conditions and timer expressions.

SpiffWorkflow runs every script and expression with plain ``exec``/``eval``;
an uploaded diagram could otherwise run arbitrary code as the server user.
Everything is compiled with RestrictedPython's ``compile_restricted`` and
executed with its guards, and diagrams are checked when loaded so a bad
script is refused before any instance starts.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterable
from functools import lru_cache
from types import CodeType
from typing import Any, Literal, TypeVar

# Imported from the modules that define them: the package re-exports them implicitly only.
from RestrictedPython.compile import compile_restricted
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.Limits import limited_builtins
from RestrictedPython.Utilities import utility_builtins
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

from workflows.calendar import WorkCalendar
from workflows.sandbox import SandboxPool, ScriptError, default_pool
from workflows.script_bounds import is_statically_bounded, names_used
from workflows.script_helpers import CALENDAR_HELPERS
from workflows.script_messages import restricted_refusal, script_refusal, syntax_refusal

T = TypeVar("T")
ScriptMode = Literal["exec", "eval"]  # a script statement, or an expression (condition, timer, ...)

# Load-time bounds of one script or expression. The diagrams' scripts are a few lines, nested a
# few levels; RestrictedPython's transformer recurses about three frames per level.
MAX_SCRIPT_CHARS = 20_000
MAX_SCRIPT_DEPTH = 100

# Names that give access to the interpreter, the file system or other code.
# RestrictedPython already refuses names starting with "_" at compile time.
FORBIDDEN_NAMES = frozenset(
    {
        "open",
        "exec",
        "eval",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "input",
        "breakpoint",
        "memoryview",
        "help",
        "exit",
        "quit",
        "type",
        "object",
        "super",
        "classmethod",
        "staticmethod",
        "property",
    }
)


# RestrictedPython refuses str.format at run time only (its fields read attributes unguarded):
# refuse it when the diagram is loaded, and say what to write instead.
FORMAT_METHODS = frozenset({"format", "format_map"})


class UnsafeScriptError(ValueError):
    """A script or expression in a diagram that the restricted engine refuses."""

    def __init__(self, element: str, source: str, reason: str, hint: str = "", technical: str = "") -> None:
        super().__init__(f"流程元素 {element} 的脚本不安全或无法编译：{reason}（{source.strip()[:80]}）")
        self.element = element
        self.source = source
        self.reason = reason
        self.hint = hint  # what to write instead, in Chinese
        self.technical = technical  # Python's or RestrictedPython's own words, if any


def _inplace(op: str, x: Any, y: Any) -> Any:
    ops: dict[str, Callable[[Any, Any], Any]] = {
        "+=": lambda a, b: a + b,
        "-=": lambda a, b: a - b,
        "*=": lambda a, b: a * b,
        "/=": lambda a, b: a / b,
    }
    if op not in ops:
        raise SyntaxError(f"不支持的运算 {op}")
    return ops[op](x, y)


def _builtins() -> dict[str, Any]:
    allowed = dict(safe_builtins)
    allowed.update(limited_builtins)
    allowed.update(utility_builtins)
    for name in ("sum", "min", "max", "any", "all", "sorted", "enumerate", "dict", "list", "round", "abs"):
        allowed[name] = __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in FORBIDDEN_NAMES:
        allowed.pop(name, None)
    # Only Exception subclasses: SystemExit, KeyboardInterrupt, GeneratorExit and BaseException
    # pass SpiffWorkflow's error handling (it catches Exception) and would end a server worker.
    for name, value in list(allowed.items()):
        if isinstance(value, type) and issubclass(value, BaseException) and not issubclass(value, Exception):
            del allowed[name]
    return allowed


RESTRICTED_GLOBALS: dict[str, Any] = {
    "__builtins__": _builtins(),
    "_getattr_": safer_getattr,
    "_getitem_": default_guarded_getitem,
    "_getiter_": default_guarded_getiter,
    "_write_": full_write_guard,
    "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
    "_unpack_sequence_": guarded_unpack_sequence,
    "_inplacevar_": _inplace,
}


@lru_cache(maxsize=2048)
def _compile(source: str, mode: ScriptMode) -> CodeType:
    return compile_restricted(source, filename="<bpmn>", mode=mode)


def _nesting_depth(tree: ast.AST, limit: int) -> int:
    """How deep *tree* nests, counted without recursion; stops counting past *limit*."""
    deepest = 0
    stack = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            break
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return deepest


def check_source(element: str, source: str, mode: ScriptMode) -> None:
    """Raise UnsafeScriptError if *source* would be refused or is plainly unsafe.

    Python's parser and RestrictedPython's transformer recurse: a few hundred chained ``+``,
    ``-`` or ``not`` raise RecursionError, thousands MemoryError. Size and nesting are bounded
    first, and both errors are refusals too.
    """
    if len(source) > MAX_SCRIPT_CHARS:
        raise UnsafeScriptError(
            element, source, *script_refusal("too_long", length=len(source), limit=MAX_SCRIPT_CHARS)
        )
    too_deep = script_refusal("too_deep", limit=MAX_SCRIPT_DEPTH)
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise UnsafeScriptError(element, source, *syntax_refusal(exc), technical=str(exc.msg)) from exc
    except (RecursionError, MemoryError):
        raise UnsafeScriptError(element, source, *too_deep) from None
    if _nesting_depth(tree, MAX_SCRIPT_DEPTH) > MAX_SCRIPT_DEPTH:
        raise UnsafeScriptError(element, source, *too_deep)
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise UnsafeScriptError(element, source, *script_refusal("forbidden_name", ref=node.id))
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name.startswith("_"):
                raise UnsafeScriptError(element, source, *script_refusal("underscore", ref=name))
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise UnsafeScriptError(element, source, *script_refusal("import"))
        if isinstance(node, ast.Attribute) and node.attr in FORMAT_METHODS:
            raise UnsafeScriptError(element, source, *script_refusal("format"))
    try:
        _compile(source, mode)
    except SyntaxError as exc:
        raise UnsafeScriptError(element, source, *restricted_refusal(exc), technical=str(exc)) from exc
    except (RecursionError, MemoryError):
        raise UnsafeScriptError(element, source, *too_deep) from None


def run_restricted(
    mode: ScriptMode,
    source: str,
    data: dict[str, Any],
    functions: dict[str, Any],
    external: dict[str, Any],
) -> Any:
    """Run *source* as SpiffWorkflow's TaskDataEnvironment would, with the restricted bytecode.

    eval returns the value. exec updates *data* in place and leaves what the script left in it,
    without builtins, guards, functions, data objects or any callable (the base class's clean-up).
    """
    scope = copy.copy(RESTRICTED_GLOBALS)
    scope.update(functions)
    scope.update(external)
    if mode == "eval":
        scope.update(data)
        return eval(_compile(source, "eval"), scope)  # noqa: S307 - restricted bytecode
    data.update(scope)
    try:
        exec(_compile(source, "exec"), data)  # noqa: S102 - restricted bytecode
    finally:
        for key in list(data):
            if key == "__builtins__" or callable(data[key]) or key in functions or key in external:
                del data[key]
    return None


def contained(run: Callable[[], T]) -> T:
    """Run an in-process evaluation; a BaseException that is no Exception becomes a ScriptError,
    which the engine reports like any script failure instead of letting it end the worker."""
    try:
        return run()
    except Exception:
        raise
    except BaseException as exc:
        raise ScriptError(f"脚本引发了不允许的异常 {type(exc).__name__}") from exc


# SpiffWorkflow ships no types, so its base class is Any to mypy.
class RestrictedEnvironment(TaskDataEnvironment):  # type: ignore[misc]
    """TaskDataEnvironment whose eval/exec go through RestrictedPython, within a budget.

    Scripts, and expressions whose shape does not bound their cost, run in the sandbox process
    (``workflows.sandbox``) under its time and memory limits; there they see the standard helpers
    (``deadlines.script_functions``) bound to *calendar*, whose corrections are sent along.
    Statically bounded expressions (gateway conditions, ``due_date`` timers) run here, with
    *functions*.
    """

    def __init__(
        self,
        functions: dict[str, Callable[..., Any]] | None = None,
        calendar: WorkCalendar | None = None,
        sandbox: SandboxPool | None = None,
    ) -> None:
        super().__init__(dict(functions or {}))
        self.calendar = calendar
        self.sandbox = sandbox  # None: this process's pool, as configured when it is first used

    def evaluate(
        self, expression: str, context: dict[str, Any], external_context: dict[str, Any] | None = None
    ) -> Any:
        external = external_context or {}
        if is_statically_bounded(expression):
            return contained(lambda: run_restricted("eval", expression, context, self.globals, external))
        overrides = self._overrides(expression, "eval")
        return self._pool().evaluate(expression, context, external, overrides)

    def execute(
        self, script: str, context: dict[str, Any], external_context: dict[str, Any] | None = None
    ) -> bool:
        external = external_context or {}
        self.check_for_overwrite(context, external)
        left = self._pool().execute(script, context, external, self._overrides(script, "exec"))
        # Task data becomes what the script left, exactly as after the base class's exec.
        context.clear()
        context.update(left)
        return True

    def _pool(self) -> SandboxPool:
        return self.sandbox or default_pool()

    def _overrides(self, source: str, mode: ScriptMode) -> list[list[Any]]:
        """The calendar's corrections, read and sent only for a source that calls a working-day helper."""
        if self.calendar is None or not names_used(source, mode) & CALENDAR_HELPERS:
            return []
        return [[day.isoformat(), work] for day, work in sorted(self.calendar.overrides.items())]


def iter_spec_sources(task_specs: Iterable[Any]) -> Iterable[tuple[str, str, ScriptMode]]:
    """Yield (element id, source, mode) for every script and expression of the specs."""
    for spec in task_specs:
        element = getattr(spec, "bpmn_id", None) or spec.name
        script = getattr(spec, "script", None)
        if isinstance(script, str) and script.strip():
            yield element, script, "exec"
        for attr in ("prescript", "postscript"):
            value = getattr(spec, attr, None)
            if isinstance(value, str) and value.strip():
                yield element, value, "exec"
        for attr in ("condition", "cardinality"):
            value = getattr(spec, attr, None)
            if isinstance(value, str) and value.strip():
                yield element, value, "eval"
        for condition, _target in getattr(spec, "cond_task_specs", []) or []:
            args = getattr(condition, "args", None) or []
            for arg in args:
                value = getattr(arg, "name", arg)
                if isinstance(value, str) and value.strip():
                    yield element, value, "eval"
        event = getattr(spec, "event_definition", None)
        expression = getattr(event, "expression", None)
        if isinstance(expression, str) and expression.strip():
            yield element, expression, "eval"
        for param in (getattr(spec, "operation_params", None) or {}).values():
            value = param.get("value") if isinstance(param, dict) else None
            if isinstance(value, str) and value.strip():
                yield element, value, "eval"

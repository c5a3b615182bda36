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
from typing import Any

from RestrictedPython import compile_restricted, limited_builtins, safe_builtins, utility_builtins
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    full_write_guard,
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safer_getattr,
)
from SpiffWorkflow.bpmn.script_engine.python_environment import TaskDataEnvironment

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


class UnsafeScriptError(ValueError):
    """A script or expression in a diagram that the restricted engine refuses."""

    def __init__(self, element: str, source: str, reason: str) -> None:
        super().__init__(f"流程元素 {element} 的脚本不安全或无法编译：{reason}（{source.strip()[:80]}）")
        self.element = element
        self.source = source
        self.reason = reason


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
def _compile(source: str, mode: str) -> Any:
    result = compile_restricted(source, filename="<bpmn>", mode=mode)
    return result


def check_source(element: str, source: str, mode: str) -> None:
    """Raise UnsafeScriptError if *source* would be refused or is plainly unsafe."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError as exc:
        raise UnsafeScriptError(element, source, f"语法错误 {exc.msg}") from exc
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and node.id in FORBIDDEN_NAMES:
            raise UnsafeScriptError(element, source, f"禁止使用 {node.id}")
        if isinstance(node, ast.Name | ast.Attribute):
            name = node.id if isinstance(node, ast.Name) else node.attr
            if name.startswith("_"):
                raise UnsafeScriptError(element, source, f"禁止访问下划线名称 {name}")
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise UnsafeScriptError(element, source, "禁止 import")
    try:
        _compile(source, mode)
    except SyntaxError as exc:
        raise UnsafeScriptError(element, source, str(exc)) from exc


class RestrictedEnvironment(TaskDataEnvironment):
    """TaskDataEnvironment whose eval/exec go through RestrictedPython."""

    def __init__(self, functions: dict[str, Callable[..., Any]] | None = None) -> None:
        super().__init__(dict(functions or {}))

    def evaluate(self, expression: str, context: dict, external_context: dict | None = None) -> Any:
        scope = copy.copy(RESTRICTED_GLOBALS)
        scope.update(self.globals)
        scope.update(external_context or {})
        scope.update(context)
        return eval(_compile(expression, "eval"), scope)  # noqa: S307 - restricted bytecode

    def execute(self, script: str, context: dict, external_context: dict | None = None) -> bool:
        self.check_for_overwrite(context, external_context or {})
        scope = copy.copy(RESTRICTED_GLOBALS)
        scope.update(self.globals)
        scope.update(external_context or {})
        context.update(scope)
        try:
            exec(_compile(script, "exec"), context)  # noqa: S102 - restricted bytecode
        finally:
            # The guards are callables, so the parent's clean-up drops them with the functions.
            self._remove_globals_and_functions_from_context(context, external_context)
        return True


def iter_spec_sources(task_specs: Iterable[Any]) -> Iterable[tuple[str, str, str]]:
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

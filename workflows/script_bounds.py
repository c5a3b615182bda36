"""Which expressions may run in the engine's own process, and what a source reads.

A script or expression that can loop or allocate without bound runs in the sandbox process
(``workflows.sandbox``), where it has a time and memory budget. That costs a round trip, so the
expressions diagrams are mostly made of — gateway conditions over process variables and the
timers' ``due_date(deadline_rules, "…")`` — stay here when their shape alone proves them cheap:
comparisons, boolean logic, names, constants, attribute and item reads, literal collections and
calls of helpers whose own cost is bounded. No arithmetic (``"x" * n``, ``9 ** 9 ** 9``), no
comprehension, no f-string, no method call: each of those goes to the sandbox.
"""

from __future__ import annotations

import ast
from functools import lru_cache

from workflows.script_helpers import date_helpers

# Each costs time bounded by its arguments' size (spans and formats are bounded in the helper).
BOUNDED_CALLS = frozenset({"due_date", "len", *date_helpers(None)})

# Every node is O(1) on its own or linear in data that already exists (a comparison of two lists,
# ``x in items``, a slice); constants are bounded by the source, which the loader bounds.
_BOUNDED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.Compare,
    ast.BoolOp,
    ast.UnaryOp,
    ast.IfExp,
    ast.Name,
    ast.Constant,
    ast.Attribute,
    ast.Subscript,
    ast.Slice,
    ast.Tuple,
    ast.List,
    ast.Set,
    ast.Dict,
    ast.keyword,
    ast.expr_context,
    ast.boolop,
    ast.cmpop,
    ast.Not,
    ast.USub,
    ast.UAdd,
)


def _bounded_node(node: ast.AST) -> bool:
    if isinstance(node, ast.Call):
        # Only a helper called by its name (its arguments are nodes of the walk, checked too).
        return isinstance(node.func, ast.Name) and node.func.id in BOUNDED_CALLS
    return isinstance(node, _BOUNDED_NODES)


@lru_cache(maxsize=4096)
def is_statically_bounded(expression: str) -> bool:
    """True if *expression*'s shape alone bounds its cost, so it may run in this process."""
    try:
        tree = ast.parse(expression, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False  # the sandbox reports the error (the load check refused it already)
    # ast.walk is iterative, so a deeply nested expression cannot exhaust the stack here.
    return all(_bounded_node(node) for node in ast.walk(tree))


@lru_cache(maxsize=4096)
def names_used(source: str, mode: str) -> frozenset[str]:
    """The names *source* reads (to send the sandbox the helper data it needs, and only that)."""
    try:
        tree = ast.parse(source, mode=mode)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()
    return frozenset(node.id for node in ast.walk(tree) if isinstance(node, ast.Name))

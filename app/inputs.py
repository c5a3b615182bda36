"""Parsing what users and clients type: ids within the database's integer range, small counts in
plain ASCII digits. No Flask here: forms, the API and the pure parts share these.

Each of these once gave a server error: an id past 2^31 in a URL or a form, a superscript digit
("²".isdigit() is true, int("²") raises), a count of 5,000 digits (past int()'s digit limit).
"""

from __future__ import annotations

import json
import re
from typing import Any

from werkzeug.routing import IntegerConverter

# Every id column is a 32-bit integer on PostgreSQL; anything beyond names no row.
MAX_ID = 2**31 - 1
_DIGITS = re.compile(r"[0-9]{1,10}")


class IdConverter(IntegerConverter):
    """``<int:…>`` in every URL: ASCII digits up to MAX_ID, so a larger id is a plain 404."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def parse_id(raw: object) -> int | None:
    """An id typed or posted: ASCII digits within the integer range, else None."""
    text = str(raw if raw is not None else "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None


def parse_count(raw: object, maximum: int) -> int | None:
    """A small whole number 0…maximum in ASCII digits (superscripts and other scripts' digits count
    as digits for ``str.isdigit`` but not here), else None."""
    text = str(raw if raw is not None else "").strip()
    if not _DIGITS.fullmatch(text):
        return None
    value = int(text)
    return value if value <= maximum else None


# Our JSON (scoring rules, API bodies, scheme files) nests a few levels; json.loads recurses once per
# level and a few thousand brackets crash it, and copying or walking deep values recurses too.
MAX_JSON_DEPTH = 20
_JSON_STRING, _BRACKETS = re.compile(r'"(?:[^"\\]|\\.)*"'), re.compile(r"[\[\]{}]")


class JsonTooDeep(ValueError):
    """Brackets nest deeper than MAX_JSON_DEPTH; ``str(exc)`` is a Chinese sentence."""


def json_nesting(text: str) -> int:
    """How deep brackets nest outside JSON strings (0 when there are obviously few)."""
    if text.count("{") + text.count("[") <= MAX_JSON_DEPTH:
        return 0
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def load_json(text: str) -> Any:
    """json.loads for text from users: refuses nesting past MAX_JSON_DEPTH before parsing."""
    if json_nesting(text) > MAX_JSON_DEPTH:
        raise JsonTooDeep(f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层")
    try:
        return json.loads(text)
    except RecursionError as exc:  # json_nesting bounds the depth; the last line of defence
        raise JsonTooDeep(f"JSON 嵌套超过 {MAX_JSON_DEPTH} 层") from exc

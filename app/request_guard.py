"""Values no request may carry, refused before any route reads them: NUL and lone surrogates in
any text (no database stores them; PostgreSQL refused the login form itself), and JSON nested
deeper than any of our payloads (the parser's recursion limit crashed the request).

The answer is a Chinese message naming the field, and nothing changes.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import BadRequest

from app.inputs import MAX_JSON_DEPTH
from app.main.error_pages import error_page

# The field's name is a form's internal key (f_ZF0301_desc), no help to a person: the API's answer
# names it in "fields", the page says what to do.
CONTROL_CHARACTERS = "提交的内容中含有不允许的控制字符（通常来自从其他软件粘贴的文字），请删除后重试"
_FORBIDDEN = re.compile("[\x00\ud800-\udfff]")


def _strings(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str, int]]:
    """Every string in a JSON value with where it sits and how deep."""
    if isinstance(value, str):
        yield path, value, depth
    elif isinstance(value, dict):
        for key, item in value.items():
            yield path + "." + str(key), str(key), depth + 1
            yield from _strings(item, f"{path}.{key}" if path else str(key), depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]", depth + 1)
    else:
        yield path, "", depth


def request_problem() -> tuple[str, str] | None:
    """(field, message) for the first value this request must not carry, or None."""
    for source in (request.args, request.form):
        for key, value in source.items(multi=True):
            if _FORBIDDEN.search(key) or _FORBIDDEN.search(value):
                return key, CONTROL_CHARACTERS
    for key, upload in request.files.items(multi=True):
        if upload.filename and _FORBIDDEN.search(upload.filename):
            return key, "文件名中含有不允许的控制字符，请重命名后再上传"
    if request.is_json and request.get_data(cache=True):
        try:
            body = request.get_json()
        except BadRequest:
            # Refused here, before a library parses it again with a parser that may crash on it.
            return "body", "请求内容不是有效的 JSON，或嵌套过深"
        for path, text, depth in _strings(body, ""):
            if depth > MAX_JSON_DEPTH:
                return path, f"请求内容嵌套超过 {MAX_JSON_DEPTH} 层"
            if _FORBIDDEN.search(text):
                return path or "body", CONTROL_CHARACTERS
    return None


class JSONProvider(DefaultJSONProvider):
    """Flask's JSON, where a body nested too deep for the parser is a bad request, not a crash."""

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        try:
            return json.loads(s, **kwargs)
        except RecursionError as exc:
            raise ValueError("JSON nested too deeply") from exc


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_unstorable_input() -> Any:
        found = request_problem()
        if found is None:
            return None
        field, message = found
        if request.path.startswith("/api/") or request.is_json:
            return jsonify(
                {"error": "validation_failed", "message": message, "fields": {field: message}}
            ), 422
        return error_page(400, message, "输入有误")

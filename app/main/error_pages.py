"""Error pages in Chinese (and JSON errors on the API), for every failure a request can meet: a
refused CSRF token, an HTTP error, a value the database refused, an unexpected error."""

from __future__ import annotations

from typing import Any

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from app.db import db

ERROR_TITLES = {
    400: "请求有误",
    403: "没有权限",
    404: "页面不存在",
    405: "不支持的操作",
    409: "操作冲突",
    413: "上传内容过大",
    429: "请求过于频繁",
    500: "系统错误",
}


def error_page(code: int, message: str, title: str | None = None) -> tuple[str, int]:
    """The Chinese error page with its status code (403/404 keep other districts' data out of sight)."""
    return render_template(
        "error.html", code=code, title=title or ERROR_TITLES.get(code, "请求有误"), message=message
    ), code


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def _answer(code: int, error: str, message: str, title: str | None = None) -> Any:
    """The failure as JSON ({"error", "message"}) on the API, else as the Chinese error page."""
    if wants_json():
        return jsonify({"error": error, "message": message}), code
    return error_page(code, message, title)


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> Any:
        return _answer(400, "csrf", "页面已过期或来源不明，请刷新页面后重试")

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        code = error.code or 500
        title = ERROR_TITLES.get(code, "请求有误")
        message = {
            403: "您没有权限访问此页面",
            404: "您要找的页面或记录不存在",
            413: "上传文件总大小超过限制",
        }.get(code, title)
        return _answer(code, error.name.lower().replace(" ", "_"), message, title)

    @app.errorhandler(DataError)
    def _data_error(error: DataError) -> Any:
        # A value the database refused (too long, out of range) that no form check caught first:
        # a clear answer instead of a crash; the transaction has rolled back.
        app.logger.warning("input refused by the database: %s", error.orig)
        db.session.rollback()
        message = "输入的内容超出允许的长度或数值范围，请检查后重试"
        return _answer(422, "validation_failed", message, "输入有误")

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Any:
        app.logger.exception("unhandled error")
        db.session.rollback()
        return _answer(500, "internal", "系统错误，请稍后重试")

"""What every response carries for safety: the client's real address and scheme behind the proxy,
a session cookie that is Secure over HTTPS, HSTS, no caching of signed-in pages, and the CSP."""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_login import current_user
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "object-src 'none'",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
    ]
)


def over_https(app: Flask) -> bool:
    mode = app.config["COOKIE_SECURE"]
    if mode == "always":
        return True
    if mode == "never":
        return False
    return request.is_secure


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, Secure whenever the request came over HTTPS (COOKIE_SECURE)."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return over_https(app)


def init_app(app: Flask) -> None:
    if app.config["COOKIE_SECURE"] not in ("auto", "always", "never"):
        raise ValueError("COOKIE_SECURE must be auto, always or never")
    hops = int(app.config["REVERSE_PROXY_HOPS"])
    if hops > 0:
        # Only the configured number of proxies is trusted: a client cannot forge its address by
        # sending X-Forwarded-For itself.
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)  # type: ignore[method-assign]
    app.session_interface = SessionInterface()

    @app.after_request
    def _security_headers(response: Any) -> Any:
        # Scripts only from our own static files (no CDN, no inline script); bpmn-js styles SVG inline.
        response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if over_https(app):
            response.headers.setdefault("Strict-Transport-Security", f"max-age={app.config['HSTS_SECONDS']}")
        if request.endpoint != "static" and current_user.is_authenticated:
            # A signed-in page holds a district's data: no shared or back-button cache keeps it.
            response.headers["Cache-Control"] = "no-store"
        return response

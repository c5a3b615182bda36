"""Configuration: defaults, then ``instance/config.py``, then environment variables."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = Path(os.environ.get("SZCG_INSTANCE", PROJECT_ROOT / "instance"))


class Config:
    DATABASE_URL = f"sqlite:///{INSTANCE_DIR / 'assessment.sqlite'}"
    UPLOAD_DIR = str(INSTANCE_DIR / "uploads")
    NOTICE_DIR = str(INSTANCE_DIR / "notices")  # issued PDF notices, written once
    VERIFY_RATE_PER_MINUTE = 10  # public verification page, per client address
    BPMN_DIR = str(PROJECT_ROOT / "bpmn")
    MAX_CONTENT_LENGTH = 60 * 1024 * 1024  # one form post with several photos
    MAX_EVIDENCE_BYTES = 20 * 1024 * 1024
    DISPLAY_IMAGE_MAX_PX = 1600
    # Upload and notice files with no row are removed once this old: longer than any request
    # or notice job runs, so a file whose row is still being committed is never touched.
    ORPHAN_FILE_MINUTES = 10
    PERMANENT_SESSION_LIFETIME = timedelta(minutes=30)  # idle sessions expire
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    # "auto": the cookie is Secure (and HSTS is sent) when the request came over HTTPS, as the
    # reverse proxy reports it; "always" for a deployment that is HTTPS only; "never" only for
    # local development over plain HTTP on another host.
    COOKIE_SECURE = "auto"
    HSTS_SECONDS = 31_536_000
    # How many reverse proxies stand in front of the app (0: none). Their X-Forwarded-For and
    # X-Forwarded-Proto are trusted that many hops deep; the one setting behind the client address
    # in rate limits, sign-in records and the audit, and behind the HTTPS decision above.
    REVERSE_PROXY_HOPS = 0
    # Five wrong passwords from one address lock that account *for that address* for 15 minutes.
    LOGIN_MAX_FAILURES = 5
    LOGIN_LOCK_MINUTES = 15
    WTF_CSRF_TIME_LIMIT = None
    WTF_I18N_ENABLED = False  # forms take WTForms' own Chinese messages (app/forms.py), not Babel's
    SCHEDULER_ENABLED = False
    # A standby takes over at most LEASE seconds after the holder's last renewal (plus one renewal).
    SCHEDULER_LEASE_SECONDS = 6.0
    SCHEDULER_RENEW_SECONDS = 2.0
    # Threads firing deadlines: None = one on SQLite (its writes are serialised anyway; more
    # threads only queue on the lock), four on PostgreSQL.
    SCHEDULER_WORKERS: int | None = None
    # A deadline whose firing fails is retried after 30 s, then 1, 2, 4 and 8 minutes; after that
    # its incident waits for an administrator (notified once) on 定时任务.
    INCIDENT_RETRY_SECONDS = 30.0
    INCIDENT_MAX_RETRIES = 5
    # Diagram scripts, and expressions not statically bounded, run in sandbox processes
    # (workflows/sandbox.py): wall-clock seconds per evaluation, memory per sandbox process, and
    # how many such processes each server process may run at once.
    SCRIPT_BUDGET_SECONDS = 2.0
    SCRIPT_MEMORY_MB = 512
    SCRIPT_SANDBOXES = 2
    REMINDER_POLL_SECONDS = 15.0
    OUTBOX_POLL_SECONDS = 5.0
    NOTICE_POLL_SECONDS = 3.0
    RECTIFY_GRADES = ("差", "不达标")  # grades that order a rectification (besides vetoes)
    RECTIFICATION_WORKING_DAYS = 10
    # Outside notification channels; e-mail is on only when SMTP_HOST is set.
    SMTP_HOST = ""
    SMTP_PORT = 25
    SMTP_USER = ""
    SMTP_PASSWORD = ""
    SMTP_STARTTLS = False
    SMTP_SSL = False
    SMTP_TIMEOUT_SECONDS = 10
    MAIL_FROM = "noreply@localhost"
    MAIL_SENDER_NAME = "苏州市城管执法考核系统"
    NOTIFICATION_CHANNELS: dict[str, str] = {}  # noqa: RUF012 - name → "module:Class"
    BASE_URL = ""  # for links in e-mails, e.g. https://kaohe.example.gov.cn
    API_TITLE = "苏州市城管执法考核系统 API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api"
    OPENAPI_JSON_PATH = "openapi.json"
    TESTING = False


def load_config(overrides: dict | None = None) -> dict:
    values = {k: getattr(Config, k) for k in dir(Config) if k.isupper()}
    instance_config = INSTANCE_DIR / "config.py"
    if instance_config.exists():
        scope: dict = {}
        exec(compile(instance_config.read_text(encoding="utf-8"), str(instance_config), "exec"), scope)  # noqa: S102 - local admin's file
        values.update({k: v for k, v in scope.items() if k.isupper()})
    for key in (
        "SECRET_KEY",
        "DATABASE_URL",
        "UPLOAD_DIR",
        "SMTP_HOST",
        "SMTP_USER",
        "SMTP_PASSWORD",
        "MAIL_FROM",
        "BASE_URL",
    ):
        if os.environ.get(key):
            values[key] = os.environ[key]
    if os.environ.get("SMTP_PORT"):
        values["SMTP_PORT"] = int(os.environ["SMTP_PORT"])
    if os.environ.get("REVERSE_PROXY_HOPS"):
        values["REVERSE_PROXY_HOPS"] = int(os.environ["REVERSE_PROXY_HOPS"])
    if os.environ.get("COOKIE_SECURE"):
        values["COOKIE_SECURE"] = os.environ["COOKIE_SECURE"]
    if os.environ.get("SCHEDULER_ENABLED"):
        values["SCHEDULER_ENABLED"] = os.environ["SCHEDULER_ENABLED"] == "1"
    values.update(overrides or {})
    if not values.get("SECRET_KEY"):
        values["SECRET_KEY"] = _instance_secret()
    return values


def _instance_secret() -> str:
    """A random key kept in instance/secret_key, so sessions survive restarts without a shipped secret."""
    path = INSTANCE_DIR / "secret_key"
    if not path.exists():
        INSTANCE_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(48), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()

"""苏州市城管执法考核系统 — the Flask application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

from app.config import PROJECT_ROOT, load_config
from app.db import db
from app.extensions import csrf, login_manager
from app.inputs import IdConverter
from app.notifications.channels import init_channels
from app.processes import processes
from app.request_guard import JSONProvider
from workflows import sandbox


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(PROJECT_ROOT / "instance"),
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder="static",
    )
    app.config.update(load_config(overrides))
    # Before any blueprint adds a rule: every <int:…> in the URL map stops at the integer range.
    app.url_map.converters["int"] = IdConverter
    app.json = JSONProvider(app)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("spiff").setLevel(logging.WARNING)  # one line per task state change otherwise
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("weasyprint").setLevel(logging.WARNING)  # a line per rendering step otherwise
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    Path(app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)

    db.bind(app.config["DATABASE_URL"])
    processes.init(app.config["BPMN_DIR"])
    sandbox.configure(
        sandbox.SandboxLimits(
            budget_seconds=float(app.config["SCRIPT_BUDGET_SECONDS"]),
            memory_bytes=int(app.config["SCRIPT_MEMORY_MB"]) * 1024 * 1024,
            workers=int(app.config["SCRIPT_SANDBOXES"]),
        )
    )
    register_process_handlers()
    csrf.init_app(app)
    login_manager.init_app(app)

    from app import auth, cli, request_guard, web_security
    from app.accounts.routes import bp as accounts_bp
    from app.api import init_api
    from app.calendar.routes import bp as calendar_bp
    from app.deadlines.routes import bp as deadlines_bp
    from app.evidence.routes import bp as evidence_bp
    from app.main import error_pages, templating
    from app.main.routes import bp as main_bp
    from app.notices.routes import bp as notices_bp
    from app.notifications.routes import bp as notifications_bp
    from app.rounds.routes import bp as rounds_bp
    from app.schemes.routes import bp as schemes_bp
    from app.tasks.routes import bp as tasks_bp

    web_security.init_app(app)
    request_guard.init_app(app)  # before auth: the loaders read the request's values
    auth.init_app(app)
    error_pages.init_app(app)
    templating.init_app(app)
    for blueprint in (
        main_bp,
        accounts_bp,
        calendar_bp,
        tasks_bp,
        rounds_bp,
        evidence_bp,
        schemes_bp,
        notifications_bp,
        deadlines_bp,
        notices_bp,
    ):
        app.register_blueprint(blueprint)
    init_api(app)
    cli.init_app(app)
    init_channels(app)

    @app.teardown_appcontext
    def _remove_session(_exc: BaseException | None) -> None:
        db.Session.remove()

    if app.config.get("SCHEDULER_ENABLED"):
        from app.deadlines.scheduling import start_scheduler

        start_scheduler(app)
    return app


def register_process_handlers() -> None:
    """Each process's handler, from the area that owns the process (app/processes/registry.py)."""
    from app.processes.runtime import registry
    from app.rectification.process import HANDLER as rectification
    from app.rounds.district_process import HANDLER as district
    from app.rounds.round_process import HANDLER as round_

    for handler in (district, round_, rectification):
        registry.register(handler)

"""The JSON API under /api, documented at /api/openapi.json by flask-smorest."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_smorest import Api

from app.inputs import IdConverter

api = Api()


def init_api(app: Flask) -> None:
    from app.api.routes import blp
    from app.extensions import csrf

    api.init_app(app, spec_kwargs={"info": {"description": "区联络员、核查员、管理员共用的考核任务接口"}})
    api.register_converter(IdConverter, _id_parameter)
    api.spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    # Token requests carry no cookie; session requests are checked by the blueprint itself.
    csrf.exempt(blp)
    api.register_blueprint(blp)


def _id_parameter(converter: Any) -> dict[str, Any]:
    return {"type": "integer", "minimum": 0, "maximum": converter.max}

"""The API under an OpenAPI fuzzer (schemathesis): whatever it sends, with a token of each scope,
no answer is a server error. Runs on PostgreSQL, where NUL bytes, lengths and integer ranges are
enforced by the database itself (the SQLite pass skips it to keep the suite short)."""

from __future__ import annotations

import logging
import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from sqlalchemy import select

from app.accounts.models import User
from app.accounts.operations import create_api_token, create_user
from app.db import db
from app.demo import DEMO_PASSWORD

pytestmark = [
    pytest.mark.db,
    pytest.mark.skipif(not os.environ.get("TEST_DATABASE_URL"), reason="the API fuzzer runs on PostgreSQL"),
]


@pytest.fixture
def scoped_tokens(app, world) -> list[dict[str, str]]:
    """A bearer token of each scope: a liaison's and an inspector's (tasks, rounds) and an
    接口账号's (export)."""
    client = app.test_client()
    headers = []
    for username in ("liaison_gusu", "inspector1"):
        answer = client.post("/api/auth/token", json={"username": username, "password": DEMO_PASSWORD})
        headers.append({"Authorization": f"Bearer {answer.get_json()['token']}"})
    with db.transaction() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        integration = create_user(session, admin, "zhkh_export", "综合考核接口", "integration", "")
        _token, plain = create_api_token(session, admin, integration, "综合考核", 30, ["export"])
    headers.append({"Authorization": f"Bearer {plain}"})
    return headers


def test_the_api_never_answers_with_a_server_error(app, world, scoped_tokens, caplog) -> None:
    caplog.set_level(logging.WARNING, logger="app")
    # Driven from here rather than by schemathesis' pytest plugin, whose lazy fixture schema does
    # not run under pytest 9; each operation gets valid and invalid (negative) cases.
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 9
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            @given(case=operation.as_strategy(generation_mode=mode))
            def send(case: schemathesis.Case) -> None:
                for headers in scoped_tokens:
                    case.call_and_validate(headers=headers, checks=[not_a_server_error])
                    # Nor a value only the database refused (the last-resort answer hides a 500).
                    assert "input refused by the database" not in caplog.text, case.as_curl_command()

            send()

"""Every route and API endpoint refuses users without the role or district (403/404)."""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sqlalchemy import select

from app.db import db
from app.evidence.models import EvidenceFile
from app.notices.operations import issue_notice
from app.rounds.models import DistrictAssessment, Round
from app.schemes.models import Indicator
from tests.helpers import district_ids, full_marks, issue_round, occurrence, task_of

pytestmark = pytest.mark.db

ANON = "anonymous"
USERS = [ANON, "liaison_wujiang", "liaison_gusu", "inspector1", "leader", "ops", "admin"]
CITY = {"inspector1", "leader", "ops", "admin"}
LOGGED_IN = set(USERS) - {ANON}
REFUSED = {401, 403, 404}


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), "white").save(buffer, "JPEG")
    return buffer.getvalue()


@pytest.fixture
def world(app, demo, client_as):
    """A round where 姑苏区 has submitted its self-report with a photo; verification is open."""
    ids = district_ids()
    issue_round(client_as("admin"))
    gusu = client_as("liaison_gusu")
    record = task_of("self_report", ids["gusu"])
    response = gusu.post(
        f"/tasks/{record.id}",
        data=full_marks(
            {
                "action": "submit",
                **occurrence("DW03", 1, "着装不规范"),
                "reason_DW03": "着装不规范",
                "evidence_DW03": (io.BytesIO(jpeg()), "着装.jpg"),
            }
        ),
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    round_ = db.session.scalar(select(Round))
    assessment = db.session.scalar(
        select(DistrictAssessment).where(DistrictAssessment.district_id == ids["gusu"])
    )
    with app.app_context(), db.transaction() as session:
        letter = issue_notice(
            session,
            None,
            "letter",
            session.get(Round, round_.id),
            session.get(DistrictAssessment, assessment.id),
            "verified",
        )
        notice_id = letter.id
    return {
        "round": round_.id,
        "gusu": ids["gusu"],
        "wujiang": ids["wujiang"],
        "instance": assessment.instance_id,
        "task": task_of("verification", ids["gusu"]).id,
        "evidence": db.session.scalar(select(EvidenceFile.id)),
        "scheme": round_.scheme_id,
        "indicator": db.session.scalar(select(Indicator.id).where(Indicator.code == "ZF0301")),
        "user": 2,
        "notice": notice_id,
    }


# (method, url template, who may pass). Every rule of the URL map must appear here.
def access_table(w: dict) -> list[tuple[str, str, str, set[str]]]:
    r, t = w["round"], w["task"]
    return [
        ("main.healthz", "GET", "/healthz", set(USERS)),
        ("accounts.login", "GET", "/login", set(USERS)),
        ("accounts.login", "POST", "/login", set()),  # credentials decide; tested in the account tests
        ("accounts.change_password", "POST", "/account/password", LOGGED_IN),
        ("accounts.users", "POST", "/admin/users", {"admin"}),
        ("rounds.new", "POST", "/rounds/new", {"admin"}),
        ("accounts.logout", "POST", "/logout", set()),  # harmless for anyone; not asserted
        ("accounts.change_password", "GET", "/account/password", LOGGED_IN),
        ("accounts.contact", "POST", "/account/contact", LOGGED_IN),
        ("accounts.users", "GET", "/admin/users", {"admin"}),
        ("accounts.revoke_token", "POST", "/admin/tokens/1/revoke", {"admin"}),
        ("accounts.create_token", "POST", "/admin/tokens", {"admin"}),
        ("rounds.cancel", "POST", f"/rounds/{r}/cancel", {"admin"}),
        ("rounds.export", "GET", f"/rounds/{r}/export.csv", {"admin", "leader"}),
        ("api.export_round", "GET", f"/api/rounds/{r}/export", LOGGED_IN),
        ("calendar.index", "GET", "/admin/calendar", {"admin"}),
        ("notifications.index", "GET", "/notifications", LOGGED_IN),
        ("notifications.read", "POST", "/notifications/1/read", LOGGED_IN),
        ("notifications.read_all", "POST", "/notifications/read-all", LOGGED_IN),
        ("calendar.index", "POST", "/admin/calendar", {"admin"}),
        ("calendar.delete", "POST", "/admin/calendar/2026-10-01/delete", {"admin"}),
        ("deadlines.index", "GET", "/admin/jobs", {"admin", "ops"}),
        ("notices.verify", "GET", "/verify", set(USERS)),
        ("notices.correct", "GET", f"/rounds/{r}/districts/{w['gusu']}/correct", {"admin"}),
        ("notices.correct", "POST", f"/rounds/{r}/districts/{w['gusu']}/correct", {"admin"}),
        ("notices.progress", "GET", f"/rounds/{r}/notices/progress", CITY),
        ("notices.retry", "POST", f"/rounds/{r}/notices/retry", {"admin"}),
        ("notices.verify", "POST", "/verify", set(USERS)),  # public and rate-limited; see the notice tests
        ("notices.download", "GET", f"/notices/{w['notice']}.pdf", CITY - {"leader"} | {"liaison_gusu"}),
        ("deadlines.retry_outbox", "POST", "/admin/jobs/outbox/retry", {"admin", "ops"}),
        ("deadlines.extend", "GET", f"/tasks/{t}/deadline", {"admin"}),
        ("deadlines.extend", "POST", f"/tasks/{t}/deadline", {"admin"}),
        ("accounts.set_active", "POST", f"/admin/users/{w['user']}/active", {"admin"}),
        ("accounts.reset_password", "POST", f"/admin/users/{w['user']}/password", {"admin"}),
        ("accounts.move_district", "POST", f"/admin/users/{w['user']}/district", {"admin"}),
        ("tasks.home", "GET", "/", LOGGED_IN),
        ("tasks.inbox", "GET", "/tasks", LOGGED_IN),
        ("tasks.show", "GET", f"/tasks/{t}", {"inspector1", "admin"}),
        ("tasks.show", "POST", f"/tasks/{t}", {"inspector1", "admin"}),
        ("tasks.claim", "POST", f"/tasks/{t}/claim", {"inspector1", "admin"}),
        ("tasks.release", "POST", f"/tasks/{t}/release", {"inspector1", "admin"}),
        ("tasks.reassign", "POST", f"/tasks/{t}/reassign", {"admin"}),
        ("rounds.index", "GET", "/rounds", LOGGED_IN),
        ("rounds.new", "GET", "/rounds/new", {"admin"}),
        ("rounds.overview", "GET", f"/rounds/{r}", CITY | {"liaison_wujiang", "liaison_gusu"}),
        ("rounds.diagram", "GET", f"/rounds/{r}/instances/{w['instance']}/diagram", CITY | {"liaison_gusu"}),
        ("rounds.annual", "GET", "/rounds/annual/2026", LOGGED_IN),
        ("rounds.results", "GET", f"/rounds/{r}/results", {"admin"}),
        ("rounds.district", "GET", f"/rounds/{r}/districts/{w['gusu']}", CITY | {"liaison_gusu"}),
        ("evidence.download", "GET", f"/evidence/{w['evidence']}", CITY | {"liaison_gusu"}),
        ("evidence.view", "GET", f"/evidence/{w['evidence']}/view", CITY | {"liaison_gusu"}),
        ("api-docs.openapi_json", "GET", "/api/openapi.json", set(USERS)),
        ("api.token", "POST", "/api/auth/token", set()),  # credentials decide; tested in the API tests
        ("api.list_tasks", "GET", "/api/tasks", LOGGED_IN),
        ("api.get_task", "GET", f"/api/tasks/{t}", {"inspector1", "admin"}),
        ("api.claim", "POST", f"/api/tasks/{t}/claim", {"inspector1", "admin"}),
        ("api.release", "POST", f"/api/tasks/{t}/release", {"inspector1", "admin"}),
        ("api.complete", "POST", f"/api/tasks/{t}/complete", {"inspector1", "admin"}),
        ("api.draft", "POST", f"/api/tasks/{t}/draft", {"inspector1", "admin"}),
        ("api.get_round", "GET", f"/api/rounds/{r}", LOGGED_IN),
        ("api.get_scores", "GET", f"/api/rounds/{r}/scores", LOGGED_IN),
        *scheme_routes(w["scheme"], w["indicator"]),
    ]


def scheme_routes(s: int, i: int) -> list[tuple[str, str, str, set[str]]]:
    """考核细则: city staff read, the administrator changes (the world's scheme is locked by its round)."""
    indicator = f"/schemes/{s}/indicators/{i}"
    return [
        ("schemes.index", "GET", "/schemes", CITY),
        ("schemes.show", "GET", f"/schemes/{s}", CITY),
        ("schemes.export", "GET", f"/schemes/{s}/export.xlsx", CITY),
        ("schemes.export", "GET", f"/schemes/{s}/export.json", CITY),
        ("schemes.import_scheme", "POST", "/schemes/import", {"admin"}),
        ("schemes.clone", "POST", f"/schemes/{s}/clone", {"admin"}),
        ("schemes.activate", "POST", f"/schemes/{s}/activate", {"admin"}),
        ("schemes.settings", "POST", f"/schemes/{s}/settings", {"admin"}),
        ("schemes.new_indicator", "GET", f"/schemes/{s}/indicators/new", {"admin"}),
        ("schemes.new_indicator", "POST", f"/schemes/{s}/indicators/new", {"admin"}),
        ("schemes.edit_indicator", "GET", f"{indicator}/edit", {"admin"}),
        ("schemes.edit_indicator", "POST", f"{indicator}/edit", {"admin"}),
        ("schemes.shift_indicator", "POST", f"{indicator}/shift", {"admin"}),
        ("schemes.move_indicator", "POST", f"{indicator}/move", {"admin"}),
        ("schemes.delete_indicator", "POST", f"{indicator}/delete", {"admin"}),
    ]


def test_access_table_covers_every_route(app, world) -> None:
    listed = {(endpoint, method) for endpoint, method, _url, _who in access_table(world)}
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (rule.endpoint, method) in listed, f"{rule.endpoint} {method} has no access expectation"


def _refused(response) -> bool:
    if response.status_code in REFUSED:
        return True
    return response.status_code == 302 and "/login" in response.headers.get("Location", "")


def test_every_route_refuses_the_wrong_role_or_district(world, client_as) -> None:
    clients = {name: client_as(None if name == ANON else name) for name in USERS}
    clients[ANON].refresh_token("/login")  # a valid CSRF token, so the login check is what refuses
    for endpoint, method, url, allowed in access_table(world):
        if endpoint in ("accounts.logout", "api.token", "accounts.login", "notices.verify"):
            continue
        for name in USERS:
            client = clients[name]
            if method == "POST" and name in allowed:
                continue  # the allowed POSTs change state; their own tests cover them
            if method == "GET":
                response = client.get(url)
            elif url.startswith("/api/"):
                headers = {"X-CSRFToken": client.token} if client.token else {}
                response = client.client.post(url, json={"values": {}}, headers=headers)
            else:
                response = client.post(url, data={})
            if name in allowed:
                if method == "GET":
                    assert not _refused(response), f"{name} refused {method} {url}: {response.status_code}"
            else:
                assert _refused(response), f"{name} was not refused {method} {url}: {response.status_code}"


def test_a_liaison_sees_no_other_districts_data(world, client_as) -> None:
    wujiang = client_as("liaison_wujiang")
    for url in (
        "/tasks",
        "/rounds",
        f"/rounds/{world['round']}",
        f"/api/rounds/{world['round']}",
        f"/api/rounds/{world['round']}/scores?district_id={world['gusu']}",
        "/api/tasks",
    ):
        response = wujiang.get(url, follow_redirects=True)
        assert response.status_code == 200, url
        body = response.get_data(as_text=True)
        assert "姑苏区" not in body and "着装不规范" not in body, url
    scores = wujiang.get(f"/api/rounds/{world['round']}/scores?district_id={world['gusu']}").get_json()
    assert scores["results"] == [] and scores["district_detail"] == []

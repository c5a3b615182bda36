"""Bad input never gives a server error: every form field of the pages people use, every id in a
URL, every query parameter and the API's bodies get hostile values, and each answer is a refusal
with a message (or a 404), never a 5xx — nor a value the database itself had to refuse."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from app.db import db
from app.demo import DEMO_PASSWORD
from app.inputs import IdConverter
from app.schemes.models import Scheme
from tests.helpers import district_ids, task_of
from tests.security.forms import PageForm, forms_of

pytestmark = pytest.mark.db

# What an attacker with an account, or a careless paste, puts into a field.
HOSTILE = [
    "a\x00b",  # NUL: PostgreSQL stores no such text
    "1e24",
    "1" + "0" * 24,
    "9" * 5000,  # past int()'s 4,300-digit limit
    "²",  # str.isdigit() is true, int() refuses
    "³5",
    "١٢",  # Arabic-Indic digits: Decimal() reads them
    "-1",
    "NaN",
    "sNaN",
    "Infinity",
    "0.000000000000000000000001",
    "1" * 30 + ".5",
    "2147483648",
    "99999999999999999999",
    "x" * 20_000,  # longer than any column
    "😀",
    "9999-99-99",
]
HUGE_IDS = [2**31, 2**63, 10**30]
# Forms whose post does the same whatever its fields say (sign out, switch, delete, cancel, claim):
# they would change the world under the other probes and take no typed value worth probing.
SKIPPED_ACTIONS = re.compile(
    r"/(logout|active|activate|cancel|delete|shift|claim|release|revoke|read-all|read|retry)$"
)
DATABASE_REFUSED = "input refused by the database"


def _no_server_error(response: Any, what: str) -> None:
    assert response.status_code < 500, f"{what}: {response.status_code}"


@pytest.fixture
def probe(app, world, client_as, caplog):
    """Signed-in browsers, the pages whose forms they post, and a check that nothing got as far as
    the database refusing a value."""
    caplog.set_level(logging.WARNING, logger="app")
    admin = client_as("admin")
    # A draft scheme, so the indicator editor's forms are open.
    admin.post(f"/schemes/{world['scheme']}/clone", data={"label": "2027版", "year": "2027", "name": "草稿"})
    draft = db.session.scalar(select(Scheme).where(Scheme.label == "2027版"))
    assert draft is not None
    leaf = next(i for i in draft.indicators if i.code == "ZF0301")
    ids = district_ids()
    pages = {
        "admin": [
            "/accounts/users",
            "/rounds/new",
            f"/schemes/{draft.id}",
            f"/schemes/{draft.id}/indicators/new",
            f"/schemes/{draft.id}/indicators/{leaf.id}/edit",
            "/calendar",
            "/deadlines",
            f"/tasks/{world['task']}/deadline",
            f"/rounds/{world['round']}",
            "/account/password",
        ],
        "inspector1": [f"/tasks/{world['task']}"],
        "liaison_wujiang": [f"/tasks/{task_of('self_report', ids['wujiang']).id}", "/notifications"],
        None: ["/login", "/verify"],
    }
    browsers = {name: client_as(name) if name else client_as(None) for name in pages}
    forms: list[tuple[Any, PageForm]] = []
    for name, urls in pages.items():
        for url in urls:
            response = browsers[name].get(url)
            assert response.status_code == 200, f"{name} {url}: {response.status_code}"
            if name is None:
                browsers[name].refresh_token(url)
            for form in forms_of(response.get_data(as_text=True), url):
                if not SKIPPED_ACTIONS.search(form.action):
                    forms.append((browsers[name], form))
    assert len(forms) >= 20, [f.action for _b, f in forms]

    def post(browser: Any, form: PageForm, values: dict[str, str]) -> Any:
        data = {**form.fields, **values, "csrf_token": browser.token}
        response = browser.client.post(form.action, data=data, content_type="multipart/form-data")
        _no_server_error(response, f"POST {form.action} {sorted(values)[:3]}")
        assert DATABASE_REFUSED not in caplog.text, f"POST {form.action}: only the database refused {values}"
        return response

    return {"forms": forms, "post": post, "admin": admin, "browsers": browsers, "caplog": caplog, "ids": ids}


def test_every_form_field_refuses_hostile_values_without_a_server_error(probe, world) -> None:
    for value in HOSTILE:
        for browser, form in probe["forms"]:
            fields = {k: value for k in form.fields if k != "csrf_token"}
            probe["post"](browser, form, fields)
    # The task forms were really probed, and refused every time: both tasks are still open.
    assert task_of("self_report", probe["ids"]["wujiang"]).id
    assert task_of("verification", world["gusu"]).id == world["task"]


def test_single_fields_take_hostile_values_without_a_server_error(probe) -> None:
    forms = probe["forms"]

    @settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.data())
    def one_field(data: st.DataObject) -> None:
        browser, form = data.draw(st.sampled_from(forms))
        names = [k for k in form.fields if k != "csrf_token"]
        if not names:
            return
        name = data.draw(st.sampled_from(names))
        value = data.draw(st.sampled_from(HOSTILE) | st.text(max_size=40))
        probe["post"](browser, form, {name: value})

    one_field()


def test_ids_beyond_the_integer_range_are_not_found(app, probe) -> None:
    admin = probe["admin"]
    probed = 0
    for rule in app.url_map.iter_rules():
        if not any(isinstance(c, IdConverter) for c in rule._converters.values()):
            continue
        probed += 1
        for huge in HUGE_IDS:
            url = re.sub(r"<int:\w+>", str(huge), rule.rule)
            url = re.sub(r"<(?:\w+:)?\w+>", "csv", url)
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                if method == "GET":
                    response = admin.get(url)
                    assert response.status_code == 404, f"GET {url}: {response.status_code}"
                else:
                    response = admin.post(url, data={})
                    _no_server_error(response, f"POST {url}")
    assert probed >= 30


def test_query_parameters_refuse_hostile_values(probe, world) -> None:
    admin = probe["admin"]
    for value in [*HOSTILE, *map(str, HUGE_IDS)]:
        for url in (
            "/tasks?after={}",
            "/api/tasks?after={}",
            f"/api/rounds/{world['round']}/scores?district_id={{}}",
            f"/schemes/{world['scheme']}/indicators/new?parent={{}}",
            "/verify?code={}",
            f"/notices/{world['notice']}.pdf?x={{}}",
        ):
            response = admin.client.get(url.format(value[:6000]))
            _no_server_error(response, url)
    assert DATABASE_REFUSED not in probe["caplog"].text


def test_api_bodies_refuse_hostile_values(app, probe, world) -> None:
    client = app.test_client()
    token = client.post("/api/auth/token", json={"username": "inspector1", "password": DEMO_PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['token']}"}
    task = client.get(f"/api/tasks/{world['task']}", headers=headers).get_json()
    names = [f["name"] for f in task["fields"] if "{" not in f["name"]]
    for value in HOSTILE:
        body = {"values": dict.fromkeys(names, value)}
        response = client.post(f"/api/tasks/{world['task']}/draft", json=body, headers=headers)
        _no_server_error(response, f"draft with {value[:10]!r}")
    for username in ("in\x00spector1", "x" * 5000, "\ud800"):
        response = client.post("/api/auth/token", json={"username": username, "password": "p\x00"})
        _no_server_error(response, "token")
        assert response.status_code == 422
    nested = "[" * 100_000 + "]" * 100_000
    for url in ("/api/auth/token", f"/api/tasks/{world['task']}/complete"):
        response = client.post(url, data=nested, content_type="application/json", headers=headers)
        assert response.status_code in (400, 422), url
    deep = {"values": {"a": {"b": [[[[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]]]}}}
    response = client.post(f"/api/tasks/{world['task']}/draft", json=deep, headers=headers)
    assert response.status_code == 422
    assert "嵌套" in response.get_json()["message"]
    assert DATABASE_REFUSED not in probe["caplog"].text


def test_a_nul_byte_is_refused_with_a_chinese_message_and_changes_nothing(probe, world) -> None:
    liaison = probe["browsers"]["liaison_wujiang"]
    record = task_of("self_report", probe["ids"]["wujiang"])
    response = liaison.post(f"/tasks/{record.id}", data={"action": "submit", "reason_DW03": "着装\x00不规范"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "提交的内容中含有不允许的控制字符" in page
    assert "reason_DW03" not in page  # an internal field name is no help to a person
    assert task_of("self_report", probe["ids"]["wujiang"]).state == "ready"
    api = probe["admin"].client.post("/api/tasks/1/draft", json={"values": {"f_X_desc": "a\x00"}})
    assert api.status_code == 422
    assert api.get_json()["fields"] == {"values.f_X_desc": api.get_json()["message"]}

"""考核细则管理 pages: list, tree, the draft editor, activation, import and export, and who may do what."""

from __future__ import annotations

import io
import json
from decimal import Decimal
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from app.audit.models import AuditRecord
from app.db import db
from app.schemes.describe import describe_rules
from app.schemes.models import Indicator, Scheme
from tests.helpers import issue_round

pytestmark = pytest.mark.db


def scheme_id(label: str = "2026版") -> int:
    db.session.expire_all()
    return db.session.scalar(select(Scheme.id).where(Scheme.label == label))


def indicator(sid: int, code: str) -> Indicator:
    db.session.expire_all()
    return db.session.scalar(select(Indicator).where(Indicator.scheme_id == sid, Indicator.code == code))


def codes(sid: int, parent: str | None) -> list[str]:
    """Codes of the children of `parent` (None: the top level) in their order."""
    db.session.expire_all()
    scheme = db.session.get(Scheme, sid)
    parent_id = next((i.id for i in scheme.indicators if i.code == parent), None)
    return [i.code for i in scheme.indicators if i.parent_id == parent_id]


def make_draft(admin, label: str = "2027版") -> int:
    response = admin.post(f"/schemes/{scheme_id()}/clone", data={"year": "2027", "label": label, "name": ""})
    assert response.status_code == 302
    return scheme_id(label)


def form_of(ind: Indicator, **changes: str) -> dict[str, str]:
    """The edit form as the page fills it, for the JSON method, with `changes`."""
    data = {
        "code": ind.code,
        "name": ind.name,
        "max_points": str(ind.max_points),
        "kind": ind.kind,
        "criteria": ind.criteria,
        "department": ind.department,
        "source": ind.source,
        "frequency": ind.frequency,
        "assessed_in_system": "y" if ind.assessed_in_system else "",
        "rule_method": "json",
        "rules_json": json.dumps(ind.rules, ensure_ascii=False) if ind.rules else "",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v != "" or k in ("rules_json", "criteria")}


def edit(admin, sid: int, code: str, **changes: str):
    ind = indicator(sid, code)
    return admin.post(f"/schemes/{sid}/indicators/{ind.id}/edit", data=form_of(ind, **changes))


def test_describe_rules_in_words() -> None:
    deduct = {
        "method": "deduct",
        "amount": 1,
        "by_finder": {"city": 1, "media": 2},
        "unrectified_extra": 0.5,
    }
    assert describe_rules(deduct, Decimal(6)) == (
        "每起扣 1.00 分（市局检查 1.00 / 媒体曝光 2.00），扣完为止；未按期整改每起加扣 0.50 分"
    )
    rate = {"method": "rate", "mode": "threshold", "threshold": 95, "per_point": 0.3}
    assert describe_rules(rate, Decimal(6), "按期处置率").startswith(
        "按期处置率 ≥ 95% 得满分，每低 1 个百分点扣 0.30 分"
    )
    checklist = {"method": "checklist", "items": [{"key": "a", "label": "方案", "points": 1}]}
    assert describe_rules(checklist) == "逐项计分：方案 1.00 分"
    multiplied = {"method": "deduct", "amount": 0.5, "multipliers": {"superior": 2}, "cap": 3}
    assert describe_rules(multiplied, Decimal(5)) == "每起扣 0.50 分（上级督查 ×2），最多扣 3.00 分"
    assert describe_rules(None, Decimal(3)) == "手工录入扣分"
    assert describe_rules({"method": "nope"}, Decimal(3)).startswith("计分规则有误")


def test_list_and_tree_render_the_2026_scheme(app, demo, client_as) -> None:
    for user in ("admin", "inspector1"):
        browser = client_as(user)
        listing = browser.get("/schemes").get_data(as_text=True)
        assert "2026版" in listing and "启用" in listing and "export.xlsx" in listing
        page = browser.get(f"/schemes/{scheme_id()}")
        assert page.status_code == 200
        body = page.get_data(as_text=True)
        assert "ZF0301" in body and "按期处置率 ≥ 95% 得满分，每低 1 个百分点扣 0.30 分" in body
        assert "下级合计 16.00" in body  # ZF01
        assert 'data-testid="problems"' not in body
    admin_page = client_as("admin").get(f"/schemes/{scheme_id()}").get_data(as_text=True)
    assert "启用的版本不能修改" in admin_page and "/edit" not in admin_page


def test_clone_makes_a_draft_and_refuses_a_taken_label(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    draft = db.session.get(Scheme, sid)
    assert draft.status == "draft" and draft.cloned_from_id == scheme_id() and len(draft.indicators) == 33
    page = admin.get(f"/schemes/{sid}").get_data(as_text=True)
    assert "草稿" in page and "/edit" in page and "启用此版本" in page
    before = db.session.scalar(select(func.count(Scheme.id)))
    again = admin.post(f"/schemes/{sid}/clone", data={"year": "2027", "label": "2027版", "name": ""})
    assert "已有版本" in admin.get(again.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(select(func.count(Scheme.id))) == before


def test_broken_sums_are_shown_and_block_activation_until_fixed(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    response = edit(admin, sid, "ZF0301", max_points="7")
    assert response.status_code == 302, response.get_data(as_text=True)
    assert indicator(sid, "ZF0301").max_points == Decimal(7)
    page = admin.get(f"/schemes/{sid}").get_data(as_text=True)
    assert 'data-testid="problems"' in page
    assert "指标 ZF03 分值 10 与下级指标分值合计 11 不符" in page
    assert "下级合计 11.00 ≠ 10.00" in page

    refused = admin.post(f"/schemes/{sid}/activate", follow_redirects=True).get_data(as_text=True)
    assert "不能启用" in refused and "ZF03" in refused
    assert db.session.get(Scheme, sid).status == "draft"

    assert edit(admin, sid, "ZF0301", max_points="6").status_code == 302
    done = admin.post(f"/schemes/{sid}/activate", follow_redirects=True).get_data(as_text=True)
    assert "已启用 2027版" in done
    db.session.expire_all()
    assert db.session.get(Scheme, sid).status == "active"
    assert edit(admin, sid, "ZF0301", max_points="5").status_code == 302  # refused: not a draft
    assert indicator(sid, "ZF0301").max_points == Decimal(6)
    audit = db.session.scalars(
        select(AuditRecord).where(AuditRecord.action == "scheme.indicator_update")
    ).all()
    assert next((a.before, a.after) for a in audit) == ({"max_points": "6"}, {"max_points": "7"})


def test_a_locked_version_cannot_be_edited(app, demo, client_as) -> None:
    admin = client_as("admin")
    issue_round(admin)
    sid = scheme_id()
    response = edit(admin, sid, "ZF0301", max_points="7")
    assert response.status_code == 302
    assert "已被考核轮次使用" in admin.get(response.headers["Location"]).get_data(as_text=True)
    assert indicator(sid, "ZF0301").max_points == Decimal(6)
    zf0102 = indicator(sid, "ZF0102")
    shifted = admin.post(f"/schemes/{sid}/indicators/{zf0102.id}/shift", data={"direction": "up"})
    assert "已被考核轮次使用" in admin.get(shifted.headers["Location"]).get_data(as_text=True)
    assert codes(sid, "ZF01") == ["ZF0101", "ZF0102", "ZF0103"]
    page = admin.get(f"/schemes/{sid}").get_data(as_text=True)
    assert "已被考核轮次使用，不能修改，请复制为新版本" in page and "已被轮次使用" in page


def test_invalid_rules_are_refused_in_chinese_and_nothing_changes(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    zf0301 = indicator(sid, "ZF0301")
    original = dict(zf0301.rules)
    url = f"/schemes/{sid}/indicators/{zf0301.id}/edit"
    per_method = form_of(zf0301, rule_method="rate", r_mode="threshold", r_threshold="120", r_per_point="0.3")
    response = admin.post(url, data=per_method)
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert 'data-testid="rules-error"' in body and "threshold（阈值）须在 0 到 100 之间" in body
    assert 'value="120"' in body  # shown again as typed

    bad_json = admin.post(url, data=form_of(zf0301, rules_json='{"method": "deduct",}'))
    assert bad_json.status_code == 422 and "不是有效的 JSON" in bad_json.get_data(as_text=True)
    no_amount = admin.post(url, data=form_of(zf0301, rules_json='{"method": "deduct"}'))
    assert no_amount.status_code == 422 and "amount（每次扣分）" in no_amount.get_data(as_text=True)
    bad_points = admin.post(url, data=form_of(zf0301, max_points="abc"))
    assert bad_points.status_code == 422 and "分值须为数字" in bad_points.get_data(as_text=True)
    bad_code = admin.post(url, data=form_of(zf0301, code="ZF0302"))
    assert bad_code.status_code == 422 and "指标编码 ZF0302 重复" in bad_code.get_data(as_text=True)
    tampered = admin.post(url, data=form_of(zf0301, kind="bogus", frequency="weekly"))
    body = tampered.get_data(as_text=True)
    assert tampered.status_code == 422 and "类型「bogus」无效" in body and "考核频次「weekly」无效" in body
    huge = admin.post(url, data=form_of(zf0301, max_points="123456789012345678901234567"))
    assert huge.status_code == 422 and "分值不能超过 1000" in huge.get_data(as_text=True)
    deduct = admin.post(url, data=form_of(zf0301, rule_method="deduct", d_amount="一分"))
    assert deduct.status_code == 422 and "amount（每次扣分）须为有限数字" in deduct.get_data(as_text=True)
    assert indicator(sid, "ZF0301").rules == original and indicator(sid, "ZF0301").code == "ZF0301"
    assert indicator(sid, "ZF0301").kind == "scored" and indicator(sid, "ZF0301").max_points == Decimal(6)

    checklist = form_of(zf0301, rule_method="checklist", rules_json="")
    checklist.update({"c_items-0-label": "方案", "c_items-0-points": "4", "c_items-1-label": "台账"})
    checklist["c_items-1-points"] = "2"
    checklist.update({"extras-0-label": "迟报", "extras-0-amount": "0.5"})
    assert admin.post(url, data=checklist).status_code == 302
    assert indicator(sid, "ZF0301").rules == {
        "method": "checklist",
        "items": [
            {"key": "item1", "label": "方案", "points": "4"},
            {"key": "item2", "label": "台账", "points": "2"},
        ],
        "extras": [{"key": "extra1", "label": "迟报", "amount": "0.5"}],
    }
    page = admin.get(f"/schemes/{sid}").get_data(as_text=True)
    assert "逐项计分：方案 4.00 分、台账 2.00 分；迟报每起扣 0.50 分" in page


def test_the_edit_page_fills_the_per_method_fields(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    page = admin.get(f"/schemes/{sid}/indicators/{indicator(sid, 'ZF0101').id}/edit").get_data(as_text=True)
    assert '<option value="deduct" selected>' in page
    assert 'name="d_amount" value="1"' in page and 'name="d_mul_superior" value="2"' in page
    group = admin.get(f"/schemes/{sid}/indicators/{indicator(sid, 'ZF01').id}/edit").get_data(as_text=True)
    assert "计分规则设在下级指标上" in group and 'name="rule_method"' not in group


def test_move_up_down_and_under_another_parent(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    base = f"/schemes/{sid}/indicators"
    admin.post(f"{base}/{indicator(sid, 'ZF0102').id}/shift", data={"direction": "up"})
    assert codes(sid, "ZF01") == ["ZF0102", "ZF0101", "ZF0103"]
    admin.post(f"{base}/{indicator(sid, 'ZF0102').id}/shift", data={"direction": "down"})
    assert codes(sid, "ZF01") == ["ZF0101", "ZF0102", "ZF0103"]
    first = admin.post(f"{base}/{indicator(sid, 'ZF0101').id}/shift", data={"direction": "up"})
    assert "已在同级最前" in admin.get(first.headers["Location"]).get_data(as_text=True)
    admin.post(
        f"{base}/{indicator(sid, 'ZF0103').id}/move", data={"parent_id": str(indicator(sid, "ZF02").id)}
    )
    assert codes(sid, "ZF02") == ["ZF0201", "ZF0202", "ZF0103"] and codes(sid, "ZF01") == ["ZF0101", "ZF0102"]
    page = admin.get(f"/schemes/{sid}").get_data(as_text=True)
    assert "指标 ZF01 分值 16 与下级指标分值合计 12 不符" in page
    dw01 = str(indicator(sid, "DW01").id)
    too_deep = admin.post(f"{base}/{indicator(sid, 'ZF01').id}/move", data={"parent_id": dw01})
    assert "超过三级" in admin.get(too_deep.headers["Location"]).get_data(as_text=True)
    assert indicator(sid, "ZF01").parent_id == indicator(sid, "ZF").id
    # Tree order is kept in sort_order: export and re-import see the same tree.
    db.session.expire_all()
    orders = [i.sort_order for i in db.session.get(Scheme, sid).indicators]
    assert orders == sorted(orders) == list(range(len(orders)))


def test_add_and_delete_indicators(app, demo, client_as) -> None:
    admin = client_as("admin")
    sid = make_draft(admin)
    zf01 = indicator(sid, "ZF01")
    new = {
        "code": "zf0104",
        "name": "违建复查",
        "max_points": "1",
        "kind": "scored",
        "frequency": "monthly",
        "assessed_in_system": "y",
        "rule_method": "deduct",
        "d_amount": "0.5",
    }
    response = admin.post(f"/schemes/{sid}/indicators/new?parent={zf01.id}", data=new)
    assert response.status_code == 302, response.get_data(as_text=True)
    added = indicator(sid, "ZF0104")
    assert added.parent_id == zf01.id and added.rules["amount"] == "0.5"
    assert codes(sid, "ZF01")[-1] == "ZF0104"
    duplicate = admin.post(f"/schemes/{sid}/indicators/new", data={**new, "code": "ZF0104"})
    assert duplicate.status_code == 422 and "重复" in duplicate.get_data(as_text=True)

    dw03 = indicator(sid, "DW03").id
    under_rules = admin.post(f"/schemes/{sid}/indicators/new?parent={dw03}", data={**new, "code": "DW0301"})
    assert under_rules.status_code == 422
    assert "指标 DW03 有下级指标，不能设置计分规则" in under_rules.get_data(as_text=True)
    assert indicator(sid, "DW0301") is None

    assert admin.post(f"/schemes/{sid}/indicators/{added.id}/delete").status_code == 302
    assert indicator(sid, "ZF0104") is None
    group = admin.post(f"/schemes/{sid}/indicators/{zf01.id}/delete")
    assert "还有下级指标" in admin.get(group.headers["Location"]).get_data(as_text=True)
    assert indicator(sid, "ZF01") is not None


def test_import_an_exported_workbook_and_refuse_a_bad_one(app, demo, client_as) -> None:
    admin = client_as("admin")
    exported = admin.get(f"/schemes/{scheme_id()}/export.xlsx")
    assert exported.status_code == 200
    assert exported.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "2026版" in unquote(exported.headers["Content-Disposition"])
    book = load_workbook(io.BytesIO(exported.data))
    next(row for row in book["说明"].iter_rows(max_row=6) if row[0].value == "版本")[1].value = "2026版修订"
    good = io.BytesIO()
    book.save(good)
    sheet = book["考核细则"]
    sheet["E4"] = "六分"
    sheet["L5"] = ""
    bad = io.BytesIO()
    book.save(bad)
    before = db.session.scalar(select(func.count(Scheme.id)))

    refused = admin.post(
        "/schemes/import",
        data={"file": (io.BytesIO(bad.getvalue()), "bad.xlsx")},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "导入失败，未导入任何内容" in body
    assert "第 4 行 E 列（分值）" in body and "第 5 行 L 列（指标编码）" in body
    assert db.session.scalar(select(func.count(Scheme.id))) == before

    response = admin.post(
        "/schemes/import",
        data={"file": (io.BytesIO(good.getvalue()), "good.xlsx")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    imported = db.session.get(Scheme, scheme_id("2026版修订"))
    assert imported.status == "draft" and len(imported.indicators) == 33


def test_export_and_import_json(app, demo, client_as) -> None:
    admin = client_as("admin")
    exported = admin.get(f"/schemes/{scheme_id()}/export.json")
    assert exported.mimetype == "application/json" and "attachment" in exported.headers["Content-Disposition"]
    assert unquote(exported.headers["Content-Disposition"]).endswith("2026版.json")
    payload = json.loads(exported.data)
    assert next(i for i in payload["indicators"] if i["code"] == "ZF0301")["max_points"] == "6"
    payload["label"] = "2026版JSON"
    upload = io.BytesIO(json.dumps(payload, ensure_ascii=False).encode())
    response = admin.post(
        "/schemes/import", data={"file": (upload, "s.json")}, content_type="multipart/form-data"
    )
    assert response.status_code == 302 and scheme_id("2026版JSON") is not None
    junk = admin.post(
        "/schemes/import", data={"file": (io.BytesIO(b"{oops"), "s.json")}, content_type="multipart/form-data"
    )
    assert junk.status_code == 422 and "不是有效的 JSON" in junk.get_data(as_text=True)


def test_who_may_see_and_change_schemes(app, demo, client_as) -> None:
    sid = scheme_id()
    zf0301 = indicator(sid, "ZF0301")
    liaison = client_as("liaison_gusu")
    for url in ("/schemes", f"/schemes/{sid}", f"/schemes/{sid}/export.json"):
        assert liaison.get(url).status_code == 403
    assert "考核细则" not in liaison.get("/tasks").get_data(as_text=True)
    inspector = client_as("inspector1")
    page = inspector.get(f"/schemes/{sid}").get_data(as_text=True)
    assert "ZF0301" in page and "/edit" not in page and "复制为新版本" not in page
    assert "导入考核细则" not in inspector.get("/schemes").get_data(as_text=True)
    assert inspector.get(f"/schemes/{sid}/indicators/{zf0301.id}/edit").status_code == 403
    assert (
        inspector.post(f"/schemes/{sid}/indicators/{zf0301.id}/edit", data=form_of(zf0301)).status_code == 403
    )
    assert inspector.post(f"/schemes/{sid}/clone", data={"year": "2027", "label": "x"}).status_code == 403
    admin = client_as("admin")
    no_token = admin.client.post(f"/schemes/{sid}/clone", data={"year": "2027", "label": "2027版"})
    assert no_token.status_code == 400  # CSRF
    assert scheme_id("2027版") is None


def test_scoring_settings_of_a_draft(app, demo, client_as) -> None:
    from app.schemes.models import Scheme as SchemeModel

    admin = client_as("admin")
    source = db.session.scalar(select(SchemeModel).where(SchemeModel.label == "2026版"))
    admin.post(f"/schemes/{source.id}/clone", data={"year": "2027", "label": "2027版", "name": "2027 细则"})
    draft = db.session.scalar(select(SchemeModel).where(SchemeModel.label == "2027版"))
    page = admin.get(f"/schemes/{draft.id}").get_data(as_text=True)
    assert "优 90，良 80，中 60，差 0" in page and "各轮得分折算为总分制后取平均" in page
    bad = admin.post(
        f"/schemes/{draft.id}/settings",
        data={
            "rounding_places": "2",
            "rounding_mode": "half_up",
            "grade_bands": "优 90，良 95，差 0",
            "tie_break": "",
            "annual_rule": "pooled",
        },
        follow_redirects=True,
    )
    assert "等次须按下限从高到低排列" in bad.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(SchemeModel, draft.id).annual_rule == "mean_scaled"  # nothing changed
    good = admin.post(
        f"/schemes/{draft.id}/settings",
        data={
            "rounding_places": "1",
            "rounding_mode": "down",
            "grade_bands": "优 85，合格 60，不合格 0",
            "tie_break": "ZF",
            "annual_rule": "pooled",
        },
        follow_redirects=True,
    )
    assert "计分设置已保存" in good.get_data(as_text=True)
    db.session.expire_all()
    saved = db.session.get(SchemeModel, draft.id)
    assert (saved.rounding_places, saved.rounding_mode, saved.tie_break, saved.annual_rule) == (
        1,
        "down",
        "ZF",
        "pooled",
    )
    assert saved.grade_bands == [["85", "优"], ["60", "合格"], ["0", "不合格"]]
    assert "同分时执法实效得分高者排名在前" in admin.get(f"/schemes/{draft.id}").get_data(as_text=True)
    locked = admin.post(
        f"/schemes/{source.id}/settings",
        data={"rounding_places": "1", "grade_bands": "优 0", "tie_break": "", "annual_rule": "pooled"},
        follow_redirects=True,
    )
    db.session.expire_all()
    assert db.session.get(SchemeModel, source.id).rounding_places == 2
    assert "复制为新版本" in locked.get_data(as_text=True)

"""The main pages in a real browser: self-report with evidence, round diagram, claiming on a phone, login."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from app.db import db
from app.districts.models import District
from app.evidence.models import EvidenceFile
from app.evidence.storage import evidence_path
from app.notices.jobs import run_pending
from app.rounds.models import Round
from app.schemes.models import Indicator
from app.tasks.models import TaskRecord
from tests.browser.conftest import DESKTOP, PHONE, LiveServer
from tests.csrf_client import Browser as ClientBrowser
from tests.evidence.builders import jpeg
from tests.helpers import complete_round, full_marks, occurrence
from workflows.store import ProcessIncident, ProcessInstance

pytestmark = pytest.mark.browser

Login = Callable[[Page, str], None]
Shot = Callable[..., Path]


def in_app(server: LiveServer, query: Callable[[], Any]) -> Any:
    """Read the database from the test thread, with its own session."""
    with server.app.app_context():
        return query()


def ready_task(server: LiveServer, form_key: str, district_code: str) -> TaskRecord:
    def query() -> TaskRecord:
        district_id = db.session.scalar(select(District.id).where(District.code == district_code))
        record = db.session.scalar(
            select(TaskRecord).where(
                TaskRecord.form_key == form_key,
                TaskRecord.district_id == district_id,
                TaskRecord.state == "ready",
            )
        )
        assert record is not None, f"no ready {form_key} task for {district_code}"
        return record

    return in_app(server, query)


def round_id(server: LiveServer) -> int:
    return in_app(server, lambda: db.session.scalar(select(Round.id)))


def assert_no_sideways_scroll(page: Page) -> None:
    """The page itself never scrolls sideways; wide tables scroll inside their own wrapper."""
    scroll, inner = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert scroll <= inner, f"{page.url} is {scroll}px wide in a {inner}px viewport"


def test_liaison_submits_self_report_with_evidence(
    page: Page, live_server: LiveServer, login: Login, screenshot: Shot, tmp_path: Path
) -> None:
    page.set_viewport_size(DESKTOP)
    login(page, "liaison_wujiang")
    expect(page).to_have_url(re.compile(r"/tasks$"))
    task = page.get_by_role("link", name=re.compile("区自评填报"))
    expect(task).to_have_count(1)
    expect(page.get_by_test_id("inbox-count")).to_have_text("1")
    screenshot(page, "inbox-liaison-desktop")
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page)
    screenshot(page, "inbox-liaison-phone")
    page.set_viewport_size(DESKTOP)

    task.click()
    expect(page.get_by_role("heading", name="区自评填报")).to_be_visible()
    screenshot(page, "self-report-desktop", full_page=False)
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page)
    screenshot(page, "self-report-phone", full_page=False)

    # Every achieved checklist item is ticked (the bonus claim is left alone).
    for box in page.locator('input[type=checkbox][name*="_item_"]:not([name^="f_BONUS_"])').all():
        box.check()
    indicator = page.locator("#ind-ZF0301")
    indicator.get_by_label("分子（达标数）").fill("942")
    indicator.get_by_label("分母（应办数）").fill("1000")
    indicator.get_by_label("说明").fill("按期处置率 94.2%，低于 95%")
    upload = tmp_path / "现场.jpg"
    upload.write_bytes(jpeg(size=(320, 240), colour=(200, 80, 40)))
    indicator.get_by_label("佐证材料").set_input_files(str(upload))
    indicator.scroll_into_view_if_needed()
    screenshot(page, "self-report-filled-phone", full_page=False)
    page.set_viewport_size(DESKTOP)
    indicator.scroll_into_view_if_needed()
    screenshot(page, "self-report-filled-desktop", full_page=False)

    page.get_by_role("button", name="提交自评").click()
    expect(page).to_have_url(re.compile(r"/tasks$"))
    expect(page.get_by_role("alert").filter(has_text="已提交")).to_be_visible()
    expect(page.get_by_role("link", name=re.compile("区自评填报"))).to_have_count(0)
    expect(page.get_by_text("暂无待办任务")).to_be_visible()
    screenshot(page, "inbox-after-submit-desktop")

    def stored() -> list[tuple[str, str, str, str]]:
        rows = db.session.execute(
            select(
                EvidenceFile.original_name, EvidenceFile.kind, EvidenceFile.stage, EvidenceFile.stored_name
            )
            .join(Indicator, Indicator.id == EvidenceFile.indicator_id)
            .where(Indicator.code == "ZF0301")
        )
        return [tuple(r) for r in rows]

    files = in_app(live_server, stored)
    assert [(name, kind, stage) for name, kind, stage, _ in files] == [("现场.jpg", "image", "self")]
    assert evidence_path(live_server.upload_dir, files[0][3]).stat().st_size > 0

    # The district's page shows the deduction and the photo, which loads.
    wujiang = in_app(
        live_server, lambda: db.session.scalar(select(District.id).where(District.code == "wujiang"))
    )
    page.goto(f"{live_server.url}/rounds/{round_id(live_server)}/districts/{wujiang}")
    expect(page.get_by_text("按期处置率 94.2%")).to_be_visible()
    photo = page.get_by_role("img", name="现场.jpg")
    expect(photo).to_be_visible()
    assert photo.evaluate("img => img.complete && img.naturalWidth > 0")
    screenshot(page, "district-detail-desktop")
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page)
    screenshot(page, "district-detail-phone")


def test_round_overview_highlights_active_step(
    page: Page, live_server: LiveServer, login: Login, screenshot: Shot
) -> None:
    page.set_viewport_size(DESKTOP)
    login(page, "admin")
    page.goto(f"{live_server.url}/rounds/{round_id(live_server)}")
    expect(page.locator("#diagram[data-loaded]")).to_have_attribute("data-loaded", "self_report")
    expect(page.locator("#diagram .djs-container svg").first).to_be_visible()
    active = page.locator('.djs-element.highlight-active[data-element-id="self_report"]')
    expect(active).to_have_count(1)
    expect(page.locator(".djs-element.highlight-active")).to_have_count(1)
    expect(page.locator(".bjs-powered-by")).to_be_visible()
    page.locator("#diagram").scroll_into_view_if_needed()
    screenshot(page, "round-overview-desktop")
    # On a phone the diagram is fitted to the narrow container when the page loads.
    page.set_viewport_size(PHONE)
    page.reload()
    expect(page.locator("#diagram[data-loaded]")).to_have_attribute("data-loaded", "self_report")
    expect(page.locator(".bjs-powered-by")).to_be_visible()
    assert_no_sideways_scroll(page)
    screenshot(page, "round-overview-phone")


def test_inspector_claims_verification_on_phone(
    phone_page: Page, live_server: LiveServer, login: Login, screenshot: Shot
) -> None:
    liaison = ClientBrowser(live_server.app.test_client())
    assert liaison.login("liaison_wuzhong").status_code == 302
    record = ready_task(live_server, "self_report", "wuzhong")
    response = liaison.post(
        f"/tasks/{record.id}",
        data=full_marks(
            {"action": "submit", **occurrence("DW03", 1, "2 人次着装不规范"), "reason_DW03": "暗访发现"}
        ),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]

    page = phone_page
    login(page, "inspector1")
    task = page.get_by_role("link", name=re.compile("核查"))
    expect(task).to_have_count(1)
    expect(task).to_contain_text("吴中区")
    screenshot(page, "inbox-inspector-phone")
    task.click()
    expect(page.get_by_role("heading", name="核查")).to_be_visible()
    expect(page.get_by_role("button", name="释放")).to_have_count(0)
    page.get_by_role("button", name="认领").click()

    expect(page.get_by_role("alert").filter(has_text="已认领")).to_be_visible()
    expect(page.get_by_text("认领人：张海峰")).to_be_visible()
    expect(page.get_by_role("button", name="释放")).to_be_visible()
    expect(page.get_by_role("button", name="认领")).to_have_count(0)
    expect(page.get_by_role("button", name="提交核查结果")).to_be_visible()
    assert_no_sideways_scroll(page)
    screenshot(page, "verification-claimed-phone", full_page=False)
    page.locator("#ind-DW03").scroll_into_view_if_needed()
    expect(page.locator("#ind-DW03")).to_contain_text("2 人次着装不规范")
    screenshot(page, "verification-indicator-phone", full_page=False)
    claimed_by = in_app(live_server, lambda: ready_task(live_server, "verification", "wuzhong").claimed_by)
    assert claimed_by is not None


def test_login_with_wrong_password_shows_chinese_error(
    page: Page, live_server: LiveServer, screenshot: Shot
) -> None:
    page.set_viewport_size(DESKTOP)
    page.goto(f"{live_server.url}/login")
    page.get_by_label("用户名").fill("inspector1")
    page.get_by_label("密码").fill("wrong-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_role("alert")).to_have_text("用户名或密码错误")
    expect(page).to_have_url(re.compile(r"/login$"))
    expect(page.get_by_role("button", name="退出")).to_have_count(0)
    screenshot(page, "login-error-desktop")
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page)
    screenshot(page, "login-error-phone")


def test_admin_pages_fit_desktop_and_phone(
    page: Page, live_server: LiveServer, login: Login, screenshot: Shot
) -> None:
    page.set_viewport_size(DESKTOP)
    login(page, "admin")
    for path, name, heading in [
        ("/rounds", "rounds-index", "考核轮次"),
        ("/rounds/new", "round-new", "下发考核"),
        ("/accounts/users", "users", "用户管理"),
    ]:
        page.set_viewport_size(DESKTOP)
        page.goto(f"{live_server.url}{path}")
        expect(page.get_by_role("heading", name=heading, exact=False).first).to_be_visible()
        screenshot(page, f"{name}-desktop")
        page.set_viewport_size(PHONE)
        assert_no_sideways_scroll(page)
        screenshot(page, f"{name}-phone")


def test_admin_extends_a_deadline_and_reads_the_jobs_page(
    page: Page, live_server: LiveServer, login: Login, screenshot: Shot
) -> None:
    page.set_viewport_size(DESKTOP)
    login(page, "admin")
    page.goto(f"{live_server.url}/rounds/{round_id(live_server)}")
    page.get_by_role("link", name="延长").first.click()
    expect(page.get_by_role("heading", name="延长截止时间")).to_be_visible()
    page.fill("input[name=new_due]", "2020-01-01T18:00")
    page.fill("textarea[name=reason]", "系统故障")
    page.get_by_role("button", name="确认延长").click()
    expect(page.locator(".field-error")).to_contain_text("新的截止时间须在将来")
    screenshot(page, "deadline-extend-error-desktop")
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page)
    screenshot(page, "deadline-extend-error-phone")
    page.set_viewport_size(DESKTOP)
    page.fill("input[name=new_due]", "2027-01-15T18:00")
    page.get_by_role("button", name="确认延长").click()
    expect(page.locator(".flash").first).to_contain_text("截止时间已延长")
    expect(page.get_by_text("截止 2027-01-15 18:00")).to_be_visible()

    def failed_firing() -> None:  # a deadline whose service task failed five times (an incident)
        with db.transaction() as session:
            instance = session.scalar(
                select(ProcessInstance).where(ProcessInstance.process_key == "district_assessment")
            )
            session.add(
                ProcessIncident(
                    instance_id=instance.id,
                    process_key=instance.process_key,
                    element="self_report_overdue",
                    element_name="逾期未报处理",
                    message="服务任务“逾期未报处理”执行失败：系统内部错误（RuntimeError）",
                    detail="RuntimeError: database went away",
                    attempts=6,
                    status="waiting",
                )
            )

    in_app(live_server, failed_firing)
    page.goto(f"{live_server.url}/deadlines")
    expect(page.get_by_role("heading", name="定时任务")).to_be_visible()
    expect(page.get_by_test_id("lease")).to_contain_text("未运行")
    expect(page.get_by_test_id("upcoming")).to_contain_text("2027-01-15 18:00")
    incidents = page.get_by_test_id("incidents")
    expect(incidents).to_contain_text("逾期未报处理")
    expect(incidents.get_by_role("button", name="重试")).to_be_visible()
    screenshot(page, "jobs-desktop")
    page.set_viewport_size(PHONE)
    assert_no_sideways_scroll(page)
    screenshot(page, "jobs-phone")


def test_public_verification_page(page: Page, live_server: LiveServer, screenshot: Shot) -> None:
    page.set_viewport_size(PHONE)
    page.goto(f"{live_server.url}/verify")
    expect(page.get_by_role("heading", name="文件真伪查验")).to_be_visible()
    page.fill("input[name=code]", "12345")
    page.get_by_role("button", name="查验").click()
    expect(page.get_by_test_id("verify-result")).to_contain_text("验证码格式不正确")
    assert_no_sideways_scroll(page)
    screenshot(page, "verify-malformed-phone")
    page.fill("input[name=code]", "ZZZZ-ZZZZ-ZZZZ")
    page.get_by_role("button", name="查验").click()
    expect(page.get_by_test_id("verify-result")).to_contain_text("未找到")
    page.set_viewport_size(DESKTOP)
    screenshot(page, "verify-unknown-desktop")


def test_results_notices_correction_and_rectification_pages(
    page: Page, phone_page: Page, live_server: LiveServer, login: Login, screenshot: Shot
) -> None:
    """A published round (姑苏 with a deduction marked 逾期未整改), seen by the admin on a desktop
    and by 姑苏's liaison on a phone."""

    def client_as(username: str) -> ClientBrowser:
        client = ClientBrowser(live_server.app.test_client())
        client.login(username)
        return client

    unrectified = {
        "f_DW03_present": "1",
        **occurrence("DW03", 1, "执勤人员未着制服", "superior"),
        "f_DW03_occ1_unrectified": "1",
        "reason_DW03": "省厅督查发现，逾期未整改",
    }
    demo_round = round_id(live_server)
    # The demo round steps aside: the helpers take the one open round. (No outer app context:
    # it would share `g`, and with it one CSRF token, across the test client's requests.)
    client_as("admin").post(f"/rounds/{demo_round}/cancel", data={"reason": "演示轮次作废"})
    published = complete_round(client_as, ["gusu", "sip"], {"gusu": unrectified})
    page.set_viewport_size(DESKTOP)
    login(page, "admin")
    page.goto(f"{live_server.url}/rounds/{published}")
    # Both releases' 核查结果告知书 and the publication's three documents wait in the queue.
    expect(page.get_by_test_id("notice-progress")).to_contain_text("0 / 5 份已生成")
    screenshot(page, "round-published-generating-desktop")
    gusu = in_app(live_server, lambda: db.session.scalar(select(District.id).where(District.code == "gusu")))
    login(phone_page, "liaison_gusu")
    phone_page.goto(f"{live_server.url}/rounds/{published}/districts/{gusu}")
    waiting = phone_page.get_by_test_id("district-notice-progress")
    expect(waiting).to_contain_text("核查结果告知书：正在生成")
    expect(waiting).to_contain_text("最终结果告知书：正在生成")
    assert_no_sideways_scroll(phone_page)
    screenshot(phone_page, "district-letters-generating-phone")
    with live_server.app.app_context():
        assert run_pending() == "生成文件 5 份"
    # The district's page follows the queue and shows the letters once they are issued.
    expect(waiting).to_be_hidden(timeout=10_000)
    expect(phone_page.get_by_test_id("notices")).to_contain_text("最终结果告知书")
    page.reload()
    expect(page.get_by_test_id("notices")).to_contain_text("考核结果的通报")
    screenshot(page, "round-published-notices-desktop")

    page.goto(f"{live_server.url}/rounds/{published}/results")
    expect(page.get_by_test_id("corrections")).to_be_visible()
    screenshot(page, "results-published-desktop")
    page.get_by_test_id("corrections").get_by_role("link", name="姑苏区").click()
    page.get_by_role("combobox", name="指标").select_option(label="DW03 着装风纪与文明执法")
    page.get_by_role("button", name="选择").click()
    expect(page.get_by_text("现得分")).to_be_visible()
    page.get_by_role("button", name="更正并印发更正通知").click()
    expect(page.locator(".field-error")).to_contain_text("请填写更正理由")
    screenshot(page, "correction-error-desktop")
    page.goto(f"{live_server.url}/notices/numbering")
    expect(page.get_by_test_id("next-circular")).to_contain_text("苏城管考〔")
    expect(page.get_by_test_id("next-final_letter")).to_contain_text("苏城管考告〔")
    screenshot(page, "numbering-desktop")
    page.get_by_role("textbox", name="申诉复核决定书格式").fill("{代字}{年}{号}")
    page.get_by_role("button", name="保存").click()
    expect(page.locator(".field-error")).to_contain_text("{年} 与 {号} 之间须有分隔")
    screenshot(page, "numbering-error-desktop")

    task = ready_task(live_server, "rectification_report", "gusu")
    phone_page.goto(f"{live_server.url}/tasks/{task.id}")
    expect(phone_page.get_by_test_id("rectification")).to_contain_text("执勤人员未着制服")
    assert_no_sideways_scroll(phone_page)
    screenshot(phone_page, "rectification-report-phone")
    phone_page.goto(f"{live_server.url}/rounds/{published}/districts/{gusu}")
    expect(phone_page.get_by_test_id("district-rectification")).to_contain_text("待整改")
    expect(phone_page.get_by_test_id("notices")).to_contain_text("告知书")
    assert_no_sideways_scroll(phone_page)
    screenshot(phone_page, "district-published-phone")
    # The rectification's own process, with its open step highlighted.
    phone_page.get_by_test_id("district-rectification").get_by_role("button", name="流程图").click()
    expect(phone_page.locator("#diagram")).to_have_attribute("data-loaded", "submit_rectification")
    expect(phone_page.locator("#diagram-title")).to_contain_text("整改")
    assert_no_sideways_scroll(phone_page)
    screenshot(phone_page, "district-rectification-diagram-phone")


def test_a_reset_password_is_changed_before_anything_else(
    page: Page, phone_page: Page, live_server: LiveServer, login: Login, screenshot: Shot
) -> None:
    """The administrator resets an inspector's password; on the phone the inspector is taken to
    修改密码 and kept there until a new one is set."""
    page.set_viewport_size(DESKTOP)
    login(page, "admin")
    page.goto(f"{live_server.url}/accounts/users")
    row = page.get_by_role("row").filter(has_text="inspector2")
    row.get_by_text("重置密码").click()
    row.get_by_placeholder("新密码").fill("Reset#Pass2026")
    row.get_by_role("button", name="确定").first.click()
    expect(page.locator(".flash").first).to_contain_text("密码已重置")
    expect(page.get_by_role("row").filter(has_text="inspector2")).to_contain_text("待修改密码")
    screenshot(page, "users-after-reset-desktop")

    phone_page.goto(f"{live_server.url}/login")
    phone_page.get_by_label("用户名").fill("inspector2")
    phone_page.get_by_label("密码").fill("Reset#Pass2026")
    phone_page.get_by_role("button", name="登录").click()
    expect(phone_page).to_have_url(re.compile(r"/account/password$"))
    expect(phone_page.get_by_test_id("must-change")).to_contain_text("请先设置新密码")
    phone_page.goto(f"{live_server.url}/tasks")
    expect(phone_page).to_have_url(re.compile(r"/account/password$"))
    assert_no_sideways_scroll(phone_page)
    screenshot(phone_page, "password-change-required-phone")
    phone_page.get_by_label("当前密码").fill("Reset#Pass2026")
    phone_page.get_by_label("新密码").fill("Fresh#Start2026")
    phone_page.get_by_role("button", name="保存", exact=True).click()
    expect(phone_page.locator(".flash").first).to_contain_text("密码已修改")
    expect(phone_page.get_by_test_id("inbox-count")).to_be_attached()

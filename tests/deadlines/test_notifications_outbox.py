"""E-mail through a local SMTP server (aiosmtpd): delivered, retried through an outage, and
pluggable channels added by configuration."""

from __future__ import annotations

import socket
from datetime import timedelta
from email import message_from_bytes, policy
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select, update

from app.accounts.models import User
from app.db import db
from app.notifications.channels import Channel, init_channels
from app.notifications.models import Notification, OutboundMessage
from app.notifications.operations import notify
from app.notifications.outbox import MAX_ATTEMPTS, deliver_pending
from workflows import clock

pytestmark = pytest.mark.db  # the outbox claims rows with SKIP LOCKED on PostgreSQL


class Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(message_from_bytes(envelope.original_content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpServer:
    """A local SMTP server that can be stopped and started again on its port (an outage)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(app) -> Any:
    server = SmtpServer()
    app.config.update(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=server.port,
        MAIL_FROM="kaohe@szcg.example",
        BASE_URL="https://kaohe.example",
    )
    init_channels(app)
    server.start()
    yield server
    server.stop()


def deliver(app) -> str:
    """What the scheduler's outbox job does, here and now."""
    with app.app_context():
        return deliver_pending()


def give_email(username: str, address: str) -> int:
    with db.transaction() as session:
        user = session.scalar(select(User).where(User.username == username))
        user.email = address
        return user.id


def outbox() -> list[OutboundMessage]:
    db.session.expire_all()
    rows = list(db.session.scalars(select(OutboundMessage).order_by(OutboundMessage.id)))
    db.session.rollback()
    return rows


def test_email_reaches_a_local_smtp_server(app, demo, smtp) -> None:
    inbox = smtp.inbox
    gusu = give_email("liaison_gusu", "gusu@example.cn")
    with app.app_context(), db.transaction() as session:
        notify(session, [gusu], "姑苏区 自评逾期未报", "自评填报已截止。", "/rounds/1/districts/4")
    assert [m.status for m in outbox()] == ["pending"]
    assert deliver(app) == "发送 1 条"
    (mail,) = inbox.messages
    assert mail["Subject"] == "姑苏区 自评逾期未报"
    assert mail["To"] == "gusu@example.cn"
    body = mail.get_content()
    assert "自评填报已截止。" in body
    assert "https://kaohe.example/rounds/1/districts/4" in body
    assert [(m.status, m.attempts) for m in outbox()] == [("sent", 1)]
    assert deliver(app) == ""  # nothing sent twice


def test_an_outage_loses_nothing_and_is_retried_with_backoff(app, demo, smtp) -> None:
    controller, inbox = smtp, smtp.inbox
    gusu = give_email("liaison_gusu", "gusu@example.cn")
    controller.stop()
    with app.app_context(), db.transaction() as session:
        notify(session, [gusu], "核查结果已发布", "请确认。")
    assert deliver(app) == "发送 0 条，失败 1 条（稍后重试）"
    (message,) = outbox()
    assert message.status == "pending"
    assert message.attempts == 1
    assert message.last_error
    assert message.next_attempt_at > clock.now() + timedelta(seconds=20)  # backs off
    assert deliver(app) == ""  # not yet due again

    controller.start()
    with db.transaction() as session:
        session.execute(update(OutboundMessage).values(next_attempt_at=clock.now()))
    assert deliver(app) == "发送 1 条"
    assert [(m.status, m.attempts) for m in outbox()] == [("sent", 2)]
    assert [m["Subject"] for m in inbox.messages] == ["核查结果已发布"]


def test_a_message_that_keeps_failing_is_marked_failed_and_can_be_retried(app, demo, smtp, client_as) -> None:
    controller = smtp
    gusu = give_email("liaison_gusu", "gusu@example.cn")
    controller.stop()
    with app.app_context(), db.transaction() as session:
        notify(session, [gusu], "复核超期", "")
    for _ in range(MAX_ATTEMPTS):
        with db.transaction() as session:
            session.execute(update(OutboundMessage).values(next_attempt_at=clock.now()))
        deliver(app)
    (message,) = outbox()
    assert message.status == "failed"
    assert message.attempts == MAX_ATTEMPTS
    page = client_as("admin").get("/deadlines").get_data(as_text=True)
    assert "复核超期" in page
    assert "失败 1 条" in page
    response = client_as("admin").post("/deadlines/outbox/retry", data={"message_id": str(message.id)})
    assert response.status_code == 302
    (message,) = outbox()
    assert message.status == "pending"
    assert message.attempts == 0


def test_users_without_an_address_get_the_in_app_notification_only(app, demo, smtp) -> None:
    give_email("liaison_gusu", "gusu@example.cn")
    with app.app_context(), db.transaction() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        notify(session, [admin.id], "无邮箱", "")
    assert outbox() == []
    assert db.session.scalar(select(Notification.title)) == "无邮箱"


class RecordingChannel(Channel):
    """What an SMS or 政务微信 gateway looks like: an address per user and one send method."""

    sent: list[tuple[str, str]] = []  # noqa: RUF012

    def address(self, user: User) -> str:
        return user.mobile

    def send(self, address: str, subject: str, body: str) -> None:
        self.sent.append((address, subject))


def test_a_channel_is_added_by_configuration_and_one_class(app, demo) -> None:
    app.config["NOTIFICATION_CHANNELS"] = {"sms": f"{__name__}:RecordingChannel"}
    init_channels(app)
    with app.app_context(), db.transaction() as session:
        user = session.scalar(select(User).where(User.username == "liaison_gusu"))
        user.mobile = "13800000000"
        notify(session, [user.id], "截止提醒：区自评填报（姑苏区）", "")
    assert [(m.channel, m.address) for m in outbox()] == [("sms", "13800000000")]
    assert deliver(app) == "发送 1 条"
    assert RecordingChannel.sent == [("13800000000", "截止提醒：区自评填报（姑苏区）")]

"""Outside channels for notifications: e-mail through SMTP, and any gateway added by configuration.

A channel is one class: how to find a user's address, and how to send one message (raising on
failure, so the outbox retries). Configuration names extra ones, e.g. in instance/config.py::

    NOTIFICATION_CHANNELS = {"sms": "mycity.gateways:SmsChannel"}

The in-app notification centre is not a channel here: it is written in the same transaction
as the event, and every other channel is fed from it through the outbox.
"""

from __future__ import annotations

import importlib
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from flask import Flask, current_app, has_app_context

from app.accounts.models import User


class Channel:
    name = ""
    label = ""

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def address(self, user: User) -> str:
        """Where this user is reached on this channel; empty when they are not."""
        raise NotImplementedError

    def send(self, address: str, subject: str, body: str) -> None:
        """Deliver one message or raise; the outbox counts the attempt and retries later."""
        raise NotImplementedError


class EmailChannel(Channel):
    name = "email"
    label = "电子邮件"

    def address(self, user: User) -> str:
        return user.email or ""

    def send(self, address: str, subject: str, body: str) -> None:
        c = self.config
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = formataddr((c["MAIL_SENDER_NAME"], c["MAIL_FROM"]))
        message["To"] = address
        message["Message-ID"] = make_msgid(domain=c["MAIL_FROM"].partition("@")[2] or None)
        message.set_content(body, charset="utf-8")
        timeout = c["SMTP_TIMEOUT_SECONDS"]
        if c["SMTP_SSL"]:
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                c["SMTP_HOST"], c["SMTP_PORT"], timeout=timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(c["SMTP_HOST"], c["SMTP_PORT"], timeout=timeout)
        with smtp:
            if c["SMTP_STARTTLS"] and not c["SMTP_SSL"]:
                smtp.starttls(context=ssl.create_default_context())
            if c["SMTP_USER"]:
                smtp.login(c["SMTP_USER"], c["SMTP_PASSWORD"])
            smtp.send_message(message)


def _load(path: str) -> type[Channel]:
    module_name, _, class_name = path.partition(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(cls, type) and issubclass(cls, Channel)):
        raise TypeError(f"{path} is not a notification Channel")
    return cls


def init_channels(app: Flask) -> None:
    """E-mail when SMTP_HOST is set (off by default), plus the configured extra channels."""
    channels: dict[str, Channel] = {}
    if app.config.get("SMTP_HOST"):
        channels["email"] = EmailChannel(app.config)
    for name, path in (app.config.get("NOTIFICATION_CHANNELS") or {}).items():
        channel = _load(path)(app.config)
        channel.name = name
        channels[name] = channel
    app.extensions["notification_channels"] = channels


def enabled_channels() -> dict[str, Channel]:
    if not has_app_context():
        return {}
    return current_app.extensions.get("notification_channels", {})

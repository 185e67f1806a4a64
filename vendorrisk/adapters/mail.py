"""Outgoing mail: every message is written as an .eml file to the instance outbox, and sent
over SMTP too when MAIL_SERVER is configured. Called only after the database commit."""

from __future__ import annotations

import datetime as dt
import secrets
import smtplib
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class OutgoingMail:
    to: str
    subject: str
    body: str
    sender: str = ""  # the organisation's From address; "" = MAIL_SENDER


@dataclass(frozen=True)
class DeliveryResult:
    eml_path: Path | None
    smtp_sent: bool
    smtp_error: str | None = None
    queued: bool = False  # handed to the job queue (REDIS_URL): the worker writes and sends it


def _one_line(value: str) -> str:
    """Header values never carry line breaks (no header injection from typed titles)."""
    return " ".join(value.split())


def build_message(mail: OutgoingMail, sender: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = _one_line(sender)
    msg["To"] = _one_line(mail.to)
    msg["Subject"] = _one_line(mail.subject)
    msg["Date"] = format_datetime(dt.datetime.now(dt.UTC))
    msg["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or "localhost")
    msg.set_content(mail.body, charset="utf-8")
    return msg


def deliver(mail: OutgoingMail, config: dict[str, Any]) -> DeliveryResult:
    msg = build_message(mail, mail.sender or config["MAIL_SENDER"])
    outbox = Path(config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")
    path = outbox / f"{stamp}-{secrets.token_hex(4)}.eml"
    path.write_bytes(bytes(msg))
    if not config.get("MAIL_SERVER"):
        return DeliveryResult(path, smtp_sent=False)
    try:
        with smtplib.SMTP(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=config["MAIL_TIMEOUT"]) as smtp:
            if config.get("MAIL_USE_STARTTLS"):
                smtp.starttls()
            if config.get("MAIL_USERNAME"):
                smtp.login(config["MAIL_USERNAME"], config["MAIL_PASSWORD"] or "")
            smtp.send_message(msg)
    except (OSError, smtplib.SMTPException) as exc:
        # The .eml and the copyable link in the UI still reach the contractor.
        return DeliveryResult(path, smtp_sent=False, smtp_error=str(exc))
    return DeliveryResult(path, smtp_sent=True)

"""Delivery channels. SMTP for now; GOV.UK Notify joins here (issue 7)."""

import smtplib
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from services.common import settings
from services.common.db import utcnow


class SendFailed(Exception):
    def __init__(self, message, code=None):
        super().__init__(message)
        self.code = code


def message_id(delivery_id):
    """A stable Message-ID per delivery: a resend after a crash is the same
    message, which mail stores recognise and keep once."""
    return f"<{delivery_id}@notify.sen-trust.example>"


def build_email(delivery):
    msg = EmailMessage()
    msg["From"] = settings.get("SMTP_FROM")
    msg["To"] = formataddr((delivery.recipient_name or "", delivery.recipient))
    msg["Subject"] = delivery.subject
    msg["Message-ID"] = message_id(delivery.id)
    msg["Date"] = format_datetime(utcnow())
    msg["X-SEN-Template"] = f"{delivery.template_id}/v{delivery.template_version}"
    msg.set_content(delivery.body_text)
    if delivery.body_html:
        msg.add_alternative(delivery.body_html, subtype="html")
    return msg


class SmtpChannel:
    def send(self, delivery):
        msg = build_email(delivery)
        host, port = settings.get("SMTP_HOST"), settings.get_int("SMTP_PORT")
        try:
            with smtplib.SMTP(host, port, timeout=settings.get_float("SMTP_TIMEOUT")) as smtp:
                if settings.get_bool("SMTP_STARTTLS"):
                    smtp.starttls()
                user = settings.get("SMTP_USERNAME", default="")
                if user:
                    smtp.login(user, settings.get("SMTP_PASSWORD", default=""))
                refused = smtp.send_message(msg)
        except smtplib.SMTPResponseException as exc:
            raise SendFailed(f"SMTP {exc.smtp_code}", code=exc.smtp_code) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            raise SendFailed(f"SMTP {code} recipient refused", code=code) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"SMTP unavailable: {type(exc).__name__}") from None
        if refused:
            code = next(iter(refused.values()))[0]
            raise SendFailed(f"SMTP {code} recipient refused", code=code)

"""Delivery channels: SMTP (email, the default) and GOV.UK Notify (email and
SMS, through its official client, when NOTIFY_API_KEY is set).

A channel's `send(delivery)` returns the provider's reference (or None) or
raises SendFailed with the delivery status the failure means."""

import email.errors
import email.policy
import json
import smtplib
import socket
import threading
import time
from collections import deque
from email.message import EmailMessage
from email.utils import format_datetime, formataddr

from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient
from prometheus_client import Counter

from services.common import settings
from services.common.db import utcnow
from services.contracts.text import CONTROL, one_line

from . import domain, journal

RATE_LIMITED = Counter("notification_rate_limit_waits_total",
                       "Sends that waited for the GOV.UK Notify rate limit", ["channel"])

NOTIFY_DEFAULT_URL = "https://api.notifications.service.gov.uk"


class SendFailed(Exception):
    def __init__(self, message, code=None, status=None):
        super().__init__(message)
        self.code = code
        self.status = status or domain.classify_smtp_failure(code)


def message_id(delivery_id):
    """A stable Message-ID per delivery: a resend after a crash is the same
    message, which mail stores recognise and keep once."""
    return f"<{delivery_id}@notify.sen-trust.example>"


# Headers up to RFC 5322's hard limit on one line: the standard library folds a
# long Subject before its first word, which leaves a leading space in it.
EMAIL_POLICY = email.policy.default.clone(max_line_length=998)


def build_email(delivery):
    """The message, with every header value made safe: a display name or subject
    with a line break or another control character becomes one line (encoded
    per RFC 2047 where it is not ASCII); an address that is not one valid
    address cannot be sent at all (SendFailed, permanent)."""
    address = delivery.recipient or ""
    if CONTROL.search(address) or address.count("@") != 1 or " " in address:
        raise SendFailed("recipient address cannot go into a header",
                         status=domain.PERMANENT_FAILURE)
    msg = EmailMessage(policy=EMAIL_POLICY)
    msg["From"] = settings.get("SMTP_FROM")
    msg["To"] = formataddr((one_line(delivery.recipient_name), address))
    msg["Subject"] = one_line(delivery.subject)
    msg["Message-ID"] = message_id(delivery.id)
    msg["Date"] = format_datetime(utcnow())
    msg["X-SEN-Template"] = f"{delivery.template_id}/v{delivery.template_version}"
    if getattr(delivery, "language", None):
        msg["Content-Language"] = delivery.language
    msg.set_content(delivery.body_text)
    if delivery.body_html:
        msg.add_alternative(delivery.body_html, subtype="html")
    return msg


class SmtpChannel:
    """Email over SMTP. Connections are kept open between sends (checked with
    NOOP before reuse) and closed after any error, so a message never goes
    out on a connection in an unknown state."""

    provider = "smtp"

    def __init__(self, max_idle=16):
        self._idle = deque()
        self._lock = threading.Lock()
        self.max_idle = max_idle

    @staticmethod
    def _key():
        return (settings.get("SMTP_HOST"), settings.get_int("SMTP_PORT"),
                settings.get_bool("SMTP_STARTTLS"), settings.get("SMTP_USERNAME", default=""))

    def _connect(self, key):
        host, port, starttls, user = key
        smtp = smtplib.SMTP(host, port, timeout=settings.get_float("SMTP_TIMEOUT"))
        try:
            # smtplib writes a command and its data in separate packets: without
            # this, Nagle and delayed ACKs stall every message on a kept connection
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if starttls:
                smtp.starttls()
            if user:
                smtp.login(user, settings.get("SMTP_PASSWORD", default=""))
        except BaseException:
            smtp.close()
            raise
        return smtp

    def _checkout(self, key):
        """(connection, reused?)"""
        while True:
            with self._lock:
                if not self._idle:
                    break
                smtp, smtp_key, since = self._idle.pop()
            if smtp_key == key and time.monotonic() - since < 20:
                return smtp, True
            _close(smtp)
        return self._connect(key), False

    def _checkin(self, smtp, key):
        with self._lock:
            if len(self._idle) < self.max_idle:
                self._idle.append((smtp, key, time.monotonic()))
                return
        _close(smtp)

    def send(self, delivery):
        try:
            msg = build_email(delivery)
            msg.as_bytes()  # any header that still cannot be written fails here, not mid-DATA
        except SendFailed:
            raise
        except (ValueError, TypeError, UnicodeError, email.errors.MessageError) as exc:
            raise SendFailed(f"message cannot be built: {type(exc).__name__}",
                             status=domain.PERMANENT_FAILURE) from None
        key = self._key()
        smtp = None
        try:
            smtp, reused = self._checkout(key)
            try:
                refused = smtp.send_message(msg, from_addr=_envelope_from())
            except smtplib.SMTPServerDisconnected:
                if not reused:
                    raise
                # the server closed the idle connection: once more, on a new one
                # (the same Message-ID, should the first have got through)
                _close(smtp)
                smtp = self._connect(key)
                refused = smtp.send_message(msg, from_addr=_envelope_from())
        except smtplib.SMTPRecipientsRefused as exc:
            _close(smtp)
            code = next(iter(exc.recipients.values()))[0]
            raise SendFailed(f"SMTP {code} recipient refused", code=code) from None
        except smtplib.SMTPResponseException as exc:
            _close(smtp)
            raise SendFailed(f"SMTP {exc.smtp_code}", code=exc.smtp_code) from None
        except (OSError, smtplib.SMTPException) as exc:
            _close(smtp)
            raise SendFailed(f"SMTP unavailable: {type(exc).__name__}") from None
        if refused:
            _close(smtp)
            code = next(iter(refused.values()))[0]
            raise SendFailed(f"SMTP {code} recipient refused", code=code)
        accepted = journal.journal()
        if accepted is not None:  # before anything else: the window a kill can hit
            accepted.accepted(delivery.id)
        self._checkin(smtp, key)
        return None

    def already_sent(self, delivery):
        """"journal" if the SMTP server accepted this delivery before a crash
        kept us from recording it (journal.py), else None: sent again, with the
        same Message-ID, which most mail stores keep once."""
        accepted = journal.journal()
        if accepted is not None and accepted.was_accepted(delivery.id):
            return "journal"
        return None


def _envelope_from():
    """Where bounces go: NOTIFY_BOUNCE_ADDRESS, else (None) the From address."""
    return settings.get("NOTIFY_BOUNCE_ADDRESS", default="") or None


def _close(smtp):
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class RateLimiter:
    """At most `limit` sends in any `period` seconds (a sliding window, so a
    burst can never exceed GOV.UK Notify's 3,000 a minute), in one process:
    used where no database is shared (ratelimit.py holds it across replicas)."""

    def __init__(self, limit, period=60.0, clock=time.monotonic, sleep=time.sleep):
        self.limit, self.period = limit, period
        self._clock, self._sleep = clock, sleep
        self._sent = deque()
        self._lock = threading.Lock()

    def acquire(self):
        """Wait for a slot; return the seconds waited."""
        waited = 0.0
        while True:
            with self._lock:
                now = self._clock()
                while self._sent and self._sent[0] <= now - self.period:
                    self._sent.popleft()
                if len(self._sent) < self.limit:
                    self._sent.append(now)
                    return waited
                pause = self._sent[0] + self.period - now
            self._sleep(pause)
            waited += pause


_limiter = None
_limiter_lock = threading.Lock()
_shared_db = None


def share_rate_limit(db):
    """Hold the GOV.UK Notify rate limit in notify's database, across replicas."""
    global _shared_db
    _shared_db = db


def notify_limiter():
    global _limiter
    limit = int(settings.get("NOTIFY_RATE_PER_MINUTE", default="3000"))
    shared = _shared_db if settings.get("NOTIFY_RATE_SHARED", default="true").lower() in (
        "1", "true", "yes", "on") else None
    with _limiter_lock:
        url = shared.url if shared is not None else None
        if (_limiter is None or _limiter.limit != limit
                or getattr(getattr(_limiter, "db", None), "url", None) != url):
            if shared is not None:
                from .ratelimit import SharedRateLimiter
                _limiter = SharedRateLimiter(shared, limit)
            else:
                _limiter = RateLimiter(limit)
        return _limiter


def notify_configured():
    return bool(settings.get("NOTIFY_API_KEY", default=""))


def _notify_template_id(template_id, channel):
    mapping = json.loads(settings.get("NOTIFY_TEMPLATE_IDS", default="{}"))
    mapped = (mapping.get(template_id) or {}).get(channel)
    generic = settings.get(f"NOTIFY_{channel.upper()}_TEMPLATE_ID", default="")
    if not (mapped or generic):
        raise SendFailed(f"no GOV.UK Notify {channel} template for {template_id}",
                         status=domain.TECHNICAL_FAILURE)
    return mapped or generic


class GovUkNotifyChannel:
    """GOV.UK Notify, email or SMS. A template mapped in NOTIFY_TEMPLATE_IDS
    gets the event's personalisation; otherwise the generic template
    (NOTIFY_EMAIL_TEMPLATE_ID / NOTIFY_SMS_TEMPLATE_ID, with ((subject)) and
    ((body))) gets the message rendered here."""

    provider = "govuk-notify"

    def __init__(self, channel):
        self.channel = channel

    def _client(self):
        return NotificationsAPIClient(
            settings.get("NOTIFY_API_KEY"),
            base_url=settings.get("NOTIFY_BASE_URL", default=NOTIFY_DEFAULT_URL),
            timeout=float(settings.get("NOTIFY_TIMEOUT", default="10")))

    def send(self, delivery):
        template_id = _notify_template_id(delivery.template_id, self.channel)
        context = json.loads(delivery.context_json or "{}")
        personalisation = {k: v for k, v in context.items()
                           if isinstance(v, (str, int, float))}
        personalisation.update(subject=delivery.subject, body=delivery.body_text,
                               name=delivery.recipient_name or "")
        if notify_limiter().acquire():
            RATE_LIMITED.labels(self.channel).inc()
        try:
            client = self._client()
            if self.channel == domain.SMS:
                response = client.send_sms_notification(
                    delivery.recipient, template_id, personalisation=personalisation,
                    reference=delivery.id)
            else:
                response = client.send_email_notification(
                    delivery.recipient, template_id, personalisation=personalisation,
                    reference=delivery.id)
        except HTTPError as exc:
            error = _error_name(exc)
            raise SendFailed(f"Notify {exc.status_code} {error}", code=exc.status_code,
                             status=domain.classify_notify_failure(exc.status_code, error)
                             ) from None
        return str(response.get("id")) if response else None

    def already_sent(self, delivery):
        """The provider id if Notify already has this delivery (a crash after
        Notify accepted it and before we recorded it), else None."""
        try:
            found = self._client().get_all_notifications(reference=delivery.id)
        except HTTPError:
            return None
        for item in (found or {}).get("notifications", []):
            if item.get("reference") == delivery.id and not str(
                    item.get("status", "")).endswith("failure"):
                return str(item.get("id"))
        return None


def _error_name(exc):
    try:
        return exc.response.json()["errors"][0]["error"]
    except (AttributeError, ValueError, KeyError, IndexError, TypeError):
        return "RequestError"


_smtp = SmtpChannel()
_notify = {domain.EMAIL: GovUkNotifyChannel(domain.EMAIL),
           domain.SMS: GovUkNotifyChannel(domain.SMS)}


def email_provider():
    choice = settings.get("EMAIL_PROVIDER", default="auto")
    if choice == "auto":
        return "govuk-notify" if notify_configured() else "smtp"
    return "govuk-notify" if choice in ("notify", "govuk-notify") else "smtp"


def sms_available():
    return notify_configured()


def for_channel(channel):
    """The channel object that sends `channel` (email or sms) now."""
    if channel == domain.SMS:
        if not notify_configured():
            raise SendFailed("no SMS provider configured (NOTIFY_API_KEY)",
                             status=domain.TECHNICAL_FAILURE)
        return _notify[domain.SMS]
    return _notify[domain.EMAIL] if email_provider() == "govuk-notify" else _smtp

"""Email over SMTP through a pool of kept-open connections.

A connection is re-used across deliveries: before each transaction it is
reset (RSET), which also proves it is still open; one the server closed while
idle is dropped and a fresh one opened. A connection that fails in any other
way during a transaction is closed and never re-used (its state is unknown),
and the delivery fails temporarily, to be retried by the delivery rules. The
pool holds at most `smtp_pool_size` connections (senders wait for one), and
closes those idle for longer than `smtp_idle_seconds` (`close_idle`, from the
sweeper) and all of them when the service stops.

`send` returns the provider's reference (None for SMTP) or raises SendFailed
with the delivery status the failure means. What the server accepted is
written to the journal straight after its 250 to DATA (journal.py)."""

import email.errors
import email.policy
import smtplib
import socket
import threading
import time
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, getaddresses

from services.common.db import utcnow
from services.contracts.text import CONTROL, one_line

from .. import domain
from .errors import SendFailed

# Headers up to RFC 5322's hard limit on one line: the standard library folds a
# long Subject before its first word, which leaves a leading space in it.
EMAIL_POLICY = email.policy.default.clone(max_line_length=998)


def message_id(delivery_id):
    """A stable Message-ID per delivery: a resend after a crash is the same
    message, which mail stores recognise and keep once."""
    return f"<{delivery_id}@notify.sen-trust.example>"


def build_email(delivery, *, sender="SEN Trust <no-reply@sen-trust.example>", reply_to=None,
                calendar=None):
    """The message, with every header value made safe: a display name or subject
    with a line break or another control character becomes one line (encoded
    per RFC 2047 where it is not ASCII); an address that is not one valid
    address cannot be sent at all (SendFailed, permanent). `calendar` is
    (method, ics text): an iCalendar invitation, attached as text/calendar."""
    address = delivery.recipient or ""
    if CONTROL.search(address) or address.count("@") != 1 or " " in address:
        raise SendFailed("recipient address cannot go into a header",
                         status=domain.PERMANENT_FAILURE)
    msg = EmailMessage(policy=EMAIL_POLICY)
    msg["From"] = sender
    if reply_to:
        msg["Reply-To"] = reply_to
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
    if calendar:
        method, ics = calendar
        msg.add_attachment(ics.encode("utf-8"), maintype="text", subtype="calendar",
                           params={"method": method, "charset": "utf-8"},
                           filename="invitation.ics" if method != "CANCEL" else "cancel.ics")
    return msg


def _address(header_value):
    """The address of a From header value ("Name <a@b>" -> "a@b")."""
    return getaddresses([header_value])[0][1] or header_value


def _close(smtp):
    if smtp is None:
        return
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        smtp.close()


class SmtpPool:
    """Kept-open SMTP connections for one server (host, port, TLS, user); a
    change of settings starts a fresh set."""

    def __init__(self, size=8, idle_seconds=20.0, clock=time.monotonic):
        self.size, self.idle_seconds, self._clock = size, idle_seconds, clock
        self._idle = []  # [(smtp, key, since)], most recent last
        self._open = 0
        self._cond = threading.Condition()
        self.opened = 0  # connections made since start (a figure for tests and the bench)

    def _connect(self, config, key):
        host, port, starttls, user = key
        smtp = smtplib.SMTP(host, port, timeout=config.smtp_timeout)
        try:
            # smtplib writes a command and its data in separate packets: without
            # this, Nagle and delayed ACKs stall every message on a kept connection
            smtp.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if starttls:
                smtp.starttls()
            if user:
                smtp.login(user, config.smtp_password)
        except BaseException:
            smtp.close()
            raise
        self.opened += 1
        return smtp

    def checkout(self, config):
        """A connection ready for a transaction (reset, or new); waits while the
        pool is at its size."""
        key = (config.smtp_host, config.smtp_port, config.smtp_starttls, config.smtp_username)
        while True:
            with self._cond:
                stale = []
                while True:
                    while self._idle:
                        smtp, smtp_key, since = self._idle.pop()
                        if smtp_key == key and self._clock() - since < self.idle_seconds:
                            break
                        stale.append(smtp)
                        self._open -= 1
                    else:
                        smtp = None
                    if smtp is not None or self._open < self.size:
                        break
                    self._cond.wait(1.0)
                if smtp is None:
                    self._open += 1  # a place for a new connection
            for old in stale:
                _close(old)
            if smtp is None:
                try:
                    return self._connect(config, key), key
                except BaseException:
                    self._release()
                    raise
            try:
                code, _ = smtp.rset()
                if code == 250:
                    return smtp, key
            except (OSError, smtplib.SMTPException):
                pass
            self.discard(smtp)  # closed while idle: drop it, take another

    def _release(self):
        with self._cond:
            self._open -= 1
            self._cond.notify()

    def checkin(self, smtp, key):
        with self._cond:
            self._idle.append((smtp, key, self._clock()))
            self._cond.notify()

    def discard(self, smtp):
        _close(smtp)
        self._release()

    def close_idle(self):
        """Close connections idle for longer than idle_seconds."""
        with self._cond:
            now = self._clock()
            old = [c for c in self._idle if now - c[2] >= self.idle_seconds]
            self._idle = [c for c in self._idle if now - c[2] < self.idle_seconds]
            self._open -= len(old)
            self._cond.notify_all()
        for smtp, _, _ in old:
            _close(smtp)

    def close_all(self, polite=True):
        """Close every idle connection: with QUIT, or (not polite: the container
        is being killed) at once."""
        with self._cond:
            idle, self._idle = self._idle, []
            self._open -= len(idle)
            self._cond.notify_all()
        for smtp, _, _ in idle:
            if polite:
                _close(smtp)
            else:
                smtp.close()


class SmtpChannel:
    """Email over SMTP (the pool above)."""

    provider = "smtp"

    def __init__(self, pool, journal_for):
        self.pool = pool
        self._journal_for = journal_for  # config -> Journal or None

    def send(self, delivery, config, calendar=None):
        try:
            msg = build_email(delivery, sender=config.smtp_from,
                              reply_to=config.outreach_inbox, calendar=calendar)
            # built once, with the CRLF line ends SMTP needs; a header that cannot be
            # written fails here, not mid-DATA
            raw = msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))
        except SendFailed:
            raise
        except (ValueError, TypeError, UnicodeError, email.errors.MessageError) as exc:
            raise SendFailed(f"message cannot be built: {type(exc).__name__}",
                             status=domain.PERMANENT_FAILURE) from None
        try:
            smtp, key = self.pool.checkout(config)
        except (OSError, smtplib.SMTPException) as exc:
            raise SendFailed(f"SMTP unavailable: {type(exc).__name__}") from None
        envelope_from = config.notify_bounce_address or _address(config.smtp_from)
        try:
            if raw.isascii() and envelope_from.isascii():
                # the bytes built once above (send_message would build them again)
                refused = smtp.sendmail(envelope_from, [delivery.recipient], raw)
            else:  # an international address: smtplib negotiates SMTPUTF8
                refused = smtp.send_message(msg, from_addr=envelope_from)
        except smtplib.SMTPRecipientsRefused as exc:
            self.pool.discard(smtp)
            code = next(iter(exc.recipients.values()))[0]
            raise SendFailed(f"SMTP {code} recipient refused", code=code) from None
        except smtplib.SMTPResponseException as exc:
            self.pool.discard(smtp)
            raise SendFailed(f"SMTP {exc.smtp_code}", code=exc.smtp_code) from None
        except (OSError, smtplib.SMTPException) as exc:
            self.pool.discard(smtp)
            raise SendFailed(f"SMTP unavailable: {type(exc).__name__}") from None
        except BaseException:
            self.pool.discard(smtp)
            raise
        if refused:
            self.pool.discard(smtp)
            code = next(iter(refused.values()))[0]
            raise SendFailed(f"SMTP {code} recipient refused", code=code)
        accepted = self._journal_for(config)
        if accepted is not None:  # before anything else: the window a kill can hit
            accepted.accepted(delivery.id)
        self.pool.checkin(smtp, key)
        return None

    def already_sent(self, delivery, config):
        """"journal" if the SMTP server accepted this delivery before a crash
        kept us from recording it (journal.py), else None: sent again, with the
        same Message-ID, which most mail stores keep once."""
        accepted = self._journal_for(config)
        if accepted is not None and accepted.was_accepted(delivery.id):
            return "journal"
        return None

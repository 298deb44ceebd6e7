"""GOV.UK Notify, email and SMS, through its official client (when
notify_api_key is set), paced by its rate limit.

A template mapped in notify_template_ids gets the event's personalisation;
otherwise the generic template (notify_email_template_id /
notify_sms_template_id, with ((subject)) and ((body))) gets the message
rendered here."""

import json
import threading
import time
from collections import deque

from prometheus_client import Counter

from .. import domain
from .errors import SendFailed

RATE_LIMITED = Counter("notification_rate_limit_waits_total",
                       "Sends that waited for the GOV.UK Notify rate limit", ["channel"])


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


def _notify_template_id(config, template_id, channel):
    mapping = json.loads(config.notify_template_ids or "{}")
    mapped = (mapping.get(template_id) or {}).get(channel)
    generic = (config.notify_sms_template_id if channel == domain.SMS
               else config.notify_email_template_id)
    if not (mapped or generic):
        raise SendFailed(f"no GOV.UK Notify {channel} template for {template_id}",
                         status=domain.TECHNICAL_FAILURE)
    return mapped or generic


def _error_name(exc):
    try:
        return exc.response.json()["errors"][0]["error"]
    except (AttributeError, ValueError, KeyError, IndexError, TypeError):
        return "RequestError"


class GovUkNotifyChannel:
    """GOV.UK Notify on one of its channels (email or sms)."""

    provider = "govuk-notify"

    def __init__(self, channel, limiter_for):
        self.channel = channel
        self._limiter_for = limiter_for  # config -> the rate limiter

    @staticmethod
    def _client(config):
        from notifications_python_client.notifications import NotificationsAPIClient
        return NotificationsAPIClient(config.notify_api_key, base_url=config.notify_base_url,
                                      timeout=config.notify_timeout)

    def send(self, delivery, config, calendar=None):
        template_id = _notify_template_id(config, delivery.template_id, self.channel)
        context = json.loads(delivery.context_json or "{}")
        personalisation = {k: v for k, v in context.items()
                           if isinstance(v, (str, int, float))}
        personalisation.update(subject=delivery.subject, body=delivery.body_text,
                               name=delivery.recipient_name or "")
        if self._limiter_for(config).acquire():
            RATE_LIMITED.labels(self.channel).inc()
        try:
            client = self._client(config)
            if self.channel == domain.SMS:
                response = client.send_sms_notification(
                    delivery.recipient, template_id, personalisation=personalisation,
                    reference=delivery.id)
            else:
                response = client.send_email_notification(
                    delivery.recipient, template_id, personalisation=personalisation,
                    reference=delivery.id)
        except _http_error() as exc:
            error = _error_name(exc)
            raise SendFailed(f"Notify {exc.status_code} {error}", code=exc.status_code,
                             status=domain.classify_notify_failure(exc.status_code, error)
                             ) from None
        return str(response.get("id")) if response else None

    def already_sent(self, delivery, config):
        """The provider id if Notify already has this delivery (a crash after
        Notify accepted it and before we recorded it), else None."""
        try:
            found = self._client(config).get_all_notifications(reference=delivery.id)
        except _http_error():
            return None
        for item in (found or {}).get("notifications", []):
            if item.get("reference") == delivery.id and not str(
                    item.get("status", "")).endswith("failure"):
                return str(item.get("id"))
        return None


def _http_error():
    """GOV.UK Notify's client error class, imported when a send needs it (the client
    and requests are not loaded at start where GOV.UK Notify is not configured)."""
    from notifications_python_client.errors import HTTPError
    return HTTPError

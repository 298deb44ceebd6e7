"""Notify's I/O beyond its database: the mailer (SMTP and GOV.UK Notify channels,
the SMTP journal, the rate limit) and the bounce mailbox.

The mailer is a nameko dependency of the service (`mailer = MailerProvider()`);
tests give a worker its own with `worker_factory(NotifyService, mailer=Mailer())`."""

import threading

from nameko.extensions import DependencyProvider

from .. import domain
from . import journal as journals
from .email import SmtpChannel, SmtpPool
from .errors import SendFailed
from .sms import GovUkNotifyChannel, RateLimiter

__all__ = ["Mailer", "MailerProvider", "SendFailed"]


class Mailer:
    """The channels notify sends on. Every call is given the service's config
    (NotifyConfig), so one mailer follows the settings it is handed."""

    def __init__(self, *, limiter=None, pool=None):
        self.pool = pool or SmtpPool()
        self._fixed_limiter = limiter
        self._limiter = None
        self._journals = {}
        self._lock = threading.Lock()
        self.db = None  # the database the shared rate limit lives in (set by the service)
        self.smtp = SmtpChannel(self.pool, self.journal)
        self._notify = {c: GovUkNotifyChannel(c, self.limiter) for c in domain.Channel}

    def configure(self, config):
        self.pool.size, self.pool.idle_seconds = config.smtp_pool_size, config.smtp_idle_seconds

    def journal(self, config):
        """The SMTP journal of config's path (journal.py), or None when it is off."""
        path = journals.path_for(config.notify_smtp_journal)
        if path is None:
            return None
        with self._lock:
            if path not in self._journals:
                self._journals[path] = journals.Journal(path)
            return self._journals[path]

    def limiter(self, config):
        """GOV.UK Notify's rate limit: in the database across replicas when
        notify_rate_shared and a database is known, else in this process."""
        if self._fixed_limiter is not None:
            return self._fixed_limiter
        shared = self.db if config.notify_rate_shared else None
        with self._lock:
            current = self._limiter
            url = shared.url if shared is not None else None
            if (current is None or current.limit != config.notify_rate_per_minute
                    or getattr(getattr(current, "db", None), "url", None) != url):
                if shared is not None:
                    from .ratelimit import SharedRateLimiter
                    current = SharedRateLimiter(shared, config.notify_rate_per_minute)
                else:
                    current = RateLimiter(config.notify_rate_per_minute)
                self._limiter = current
            return current

    @staticmethod
    def sms_available(config):
        return config.notify_configured

    def for_channel(self, channel, config):
        """The channel object that sends `channel` (email or sms) now."""
        if channel == domain.SMS:
            if not config.notify_configured:
                raise SendFailed("no SMS provider configured (NOTIFY_API_KEY)",
                                 status=domain.TECHNICAL_FAILURE)
            return self._notify[domain.Channel.SMS]
        return self._notify[domain.Channel.EMAIL] if config.email_via_notify else self.smtp

    def close_idle(self):
        self.pool.close_idle()

    def close(self, polite=True):
        self.pool.close_all(polite)


class MailerProvider(DependencyProvider):
    """`mailer = MailerProvider()`: one Mailer per container, its SMTP
    connections closed when the container stops."""

    def setup(self):
        self.mailer = Mailer()

    def stop(self):
        self.mailer.close()

    def kill(self):
        self.mailer.close(polite=False)

    def get_dependency(self, worker_ctx):
        return self.mailer

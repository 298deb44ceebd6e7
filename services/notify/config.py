"""Notify's settings, read once when the container starts (services/common/config.py).

A field `smtp_host` is read from NOTIFY_SMTP_HOST, else SMTP_HOST, else its default."""

from dataclasses import dataclass
from datetime import time

from services.common.config import PlatformConfig, at_least, one_of, setting


def _clock_time(value):
    try:
        time.fromisoformat(value)
    except ValueError:
        return "must be a time of day, HH:MM"
    return None


@dataclass(frozen=True)
class NotifyConfig(PlatformConfig):
    trust_name: str = "SEN Trust"
    # the outreach team: its inbox receives alerts, and every email names a way to reach it
    outreach_inbox: str = "outreach@sen-trust.example"
    # the ORGANIZER of CPD invitations: the same address as the CPD service's own
    # (CPD_ORGANISER_EMAIL), so both describe one event
    cpd_organiser_email: str = "cpd@sen-trust.example"
    outreach_phone: str = "01632 960 123"
    outreach_address: str = "Outreach team, SEN Trust, 1 Example Street, Exampletown, EX1 2AB"
    # SMTP (the default email channel)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = setting(8025, check=at_least(1))
    smtp_from: str = "SEN Trust <no-reply@sen-trust.example>"
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_timeout: float = setting(10.0, check=at_least(0.1))
    # kept-open SMTP connections: how many, and how long one may sit idle
    smtp_pool_size: int = setting(8, check=at_least(1))
    smtp_idle_seconds: float = setting(20.0, check=at_least(0))
    # "" or "off" (no journal); default $SEN_VAR_DIR/notify/smtp-accepted.journal
    notify_smtp_journal: str = ""
    email_provider: str = setting("auto", check=one_of("auto", "smtp", "notify",
                                                        "govuk-notify"))
    # bounces: envelope sender, and the mailbox directory they are read from
    notify_bounce_address: str = ""
    notify_bounce_dir: str = ""
    notify_bounce_seconds: float = setting(10.0, check=at_least(0.1))
    # GOV.UK Notify (email and SMS), when an API key is set
    notify_api_key: str = ""
    notify_base_url: str = "https://api.notifications.service.gov.uk"
    notify_timeout: float = setting(10.0, check=at_least(0.1))
    notify_template_ids: str = "{}"  # JSON {template_id: {"email": id, "sms": id}}
    notify_email_template_id: str = ""
    notify_sms_template_id: str = ""
    notify_callback_token: str = ""
    notify_rate_per_minute: int = setting(3000, check=at_least(1))
    notify_rate_shared: bool = True  # the rate limit held in the database, across replicas
    # delivery: retries, the claim's lease, the sweeper, the daily digest
    delivery_max_attempts: int = setting(8, check=at_least(1))
    delivery_backoff_seconds: float = setting(2.0, check=at_least(0))
    delivery_lease_seconds: float = setting(30.0, check=at_least(0))
    delivery_sweep_seconds: float = setting(1.0, check=at_least(0.01))
    # how long a message waits for an earlier one about the same referral or booking
    delivery_order_wait_seconds: float = setting(30.0, check=at_least(0))
    digest_time: str = setting("07:30", check=_clock_time)

    @property
    def digest_clock(self):
        return time.fromisoformat(self.digest_time)

    @property
    def notify_configured(self):
        return bool(self.notify_api_key)

    @property
    def email_via_notify(self):
        if self.email_provider == "auto":
            return self.notify_configured
        return self.email_provider in ("notify", "govuk-notify")

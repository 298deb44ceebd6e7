"""Notify rules in plain Python: which templates an event uses, who receives
them, how a message is rendered, and how a failed send is retried."""

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"

# Delivery statuses (as GOV.UK Notify names them).
CREATED, SENDING, DELIVERED = "created", "sending", "delivered"
TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE = (
    "temporary-failure", "permanent-failure", "technical-failure")
FINAL = (DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE)


@dataclass(frozen=True)
class Template:
    id: str
    version: int
    event_type: str
    audience: str


TEMPLATES = (
    Template("referral-submitted-referrer", 1, "referral.submitted", "referrer"),
    Template("referral-submitted-outreach", 1, "referral.submitted", "outreach"),
)


@dataclass(frozen=True)
class Recipient:
    audience: str
    address: str
    name: str | None
    channel: str = "email"


@dataclass(frozen=True)
class Message:
    template: Template
    recipient: Recipient
    subject: str
    text: str
    html: str | None


_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)


def templates_for(event_type):
    return [t for t in TEMPLATES if t.event_type == event_type]


def render(template, context):
    """Render subject, text and HTML of a template; the subject is one line."""
    base = f"{template.id}/v{template.version}"
    subject = _env.get_template(f"{base}/subject.txt").render(context).strip()
    text = _env.get_template(f"{base}/body.txt").render(context)
    html_path = TEMPLATE_DIR / template.id / f"v{template.version}" / "body.html"
    html = _env.get_template(f"{base}/body.html").render(context) if html_path.exists() else None
    return " ".join(subject.split()), text, html


def recipients(event, *, outreach_inbox):
    """Who hears about an event, by audience. Contacts come from the event or
    from projections this service keeps; never from another service's tables."""
    if event["type"] == "referral.submitted":
        contact = event["data"]["contact"]
        return {
            "referrer": [Recipient("referrer", contact["email"], contact["name"])],
            "outreach": [Recipient("outreach", outreach_inbox, "Outreach team")],
        }
    return {}


def plan_messages(event, context, *, outreach_inbox):
    """Every message an event causes: one per template and recipient."""
    people = recipients(event, outreach_inbox=outreach_inbox)
    messages = []
    for template in templates_for(event["type"]):
        for recipient in people.get(template.audience, []):
            subject, text, html = render(template, {**context, "recipient": recipient})
            messages.append(Message(template, recipient, subject, text, html))
    return messages


def retry_delay(attempts, base_seconds):
    """Exponential backoff after the n-th failed attempt, capped at an hour."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 3600))


def classify_smtp_failure(code):
    """SMTP reply code → delivery status: 4xx try again later, 5xx never."""
    if code is not None and 500 <= code < 600:
        return PERMANENT_FAILURE
    return TEMPORARY_FAILURE

"""Notify rules in plain Python: which templates an event uses, who receives
them, how a message is rendered, which preferences apply (opt-outs, quiet
hours, digest, channel, language), and how a failed send is retried."""

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
LOCAL_TZ = ZoneInfo("Europe/London")


class Status(StrEnum):
    """A delivery's status (as GOV.UK Notify names them)."""

    CREATED = "created"
    SENDING = "sending"
    DELIVERED = "delivered"
    TEMPORARY_FAILURE = "temporary-failure"
    PERMANENT_FAILURE = "permanent-failure"
    TECHNICAL_FAILURE = "technical-failure"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"


class Audience(StrEnum):
    """Who a template speaks to."""

    PARENT = "parent"
    REFERRER = "referrer"
    OUTREACH = "outreach"
    PRACTITIONER = "practitioner"
    SENCO = "senco"
    CPD_ATTENDEE = "cpd_attendee"
    STAFF = "staff"  # the daily digest
    REQUESTER = "requester"  # the portal's sign-in link


class Category(StrEnum):
    """What a recipient can opt out of (statutory templates ignore opt-outs)."""

    REFERRAL = "referral"
    PASSPORT = "passport"
    EHCP = "ehcp"
    PUPIL_MOVE = "pupil_move"
    ALERT = "alert"
    CPD = "cpd"
    DIGEST = "digest"  # not opted out of: it is the recipient's own choice
    SIGN_IN = "sign_in"


class SubjectKind(StrEnum):
    """What a delivery is about (its subject_ref names which one)."""

    REFERRAL = "referral"
    PUPIL = "pupil"
    CPD = "cpd"
    SIGN_IN = "sign_in"


CREATED, SENDING, DELIVERED = Status.CREATED, Status.SENDING, Status.DELIVERED
TEMPORARY_FAILURE, PERMANENT_FAILURE, TECHNICAL_FAILURE = (
    Status.TEMPORARY_FAILURE, Status.PERMANENT_FAILURE, Status.TECHNICAL_FAILURE)
STATUSES = tuple(Status)
FINAL = (DELIVERED, PERMANENT_FAILURE, TECHNICAL_FAILURE)
UNSENT = (CREATED, SENDING, TEMPORARY_FAILURE)

EMAIL, SMS = Channel.EMAIL, Channel.SMS
CHANNELS = tuple(Channel)

PARENT, REFERRER, OUTREACH, PRACTITIONER, SENCO, CPD_ATTENDEE = (
    Audience.PARENT, Audience.REFERRER, Audience.OUTREACH, Audience.PRACTITIONER,
    Audience.SENCO, Audience.CPD_ATTENDEE)
STAFF_AUDIENCES = (REFERRER, OUTREACH, PRACTITIONER, SENCO, CPD_ATTENDEE)

CATEGORIES = (Category.REFERRAL, Category.PASSPORT, Category.EHCP, Category.PUPIL_MOVE,
              Category.ALERT, Category.CPD)

DIGEST_TEMPLATE_ID = "staff-daily-digest"


@dataclass(frozen=True)
class Template:
    id: str
    version: int
    event_type: str
    audience: str
    category: str = Category.REFERRAL
    statutory: bool = False  # cannot be opted out of
    urgent: bool = False  # not held for quiet hours or a digest

    @property
    def path(self):
        return TEMPLATE_DIR / self.id / f"v{self.version}"

    def has_sms(self):
        return (self.path / "sms.txt").exists()


T = Template
TEMPLATES = (
    T("referral-submitted-referrer", 2, "referral.submitted", REFERRER),
    T("referral-submitted-outreach", 2, "referral.submitted", OUTREACH),
    T("referral-info-requested-referrer", 1, "referral.info_requested", REFERRER),
    T("referral-accepted-referrer", 1, "referral.accepted", REFERRER),
    T("referral-place-granted-referrer", 1, "referral.place_granted", REFERRER),
    T("referral-declined-referrer", 1, "referral.declined", REFERRER),
    T("referral-allocated-referrer", 1, "referral.allocated", REFERRER),
    T("referral-allocated-practitioner", 1, "referral.allocated", PRACTITIONER),
    T("referral-visit-logged-referrer", 1, "referral.visit_logged", REFERRER),
    T("referral-report-issued-referrer", 1, "referral.report_issued", REFERRER),
    T("referral-closed-referrer", 1, "referral.closed", REFERRER),
    T("referral-closed-practitioner", 1, "referral.closed", PRACTITIONER),
    T("referral-withdrawn-outreach", 1, "referral.withdrawn", OUTREACH),
    T("referral-overdue-outreach", 1, "referral.overdue", OUTREACH, Category.ALERT, urgent=True),
    T("passport-published-parent", 1, "passport.published", PARENT, Category.PASSPORT),
    T("passport-published-senco", 1, "passport.published", SENCO, Category.PASSPORT),
    T("ehcp-review-due-parent", 1, "ehcp.review_due", PARENT, Category.EHCP, statutory=True),
    T("ehcp-review-due-senco", 1, "ehcp.review_due", SENCO, Category.EHCP, statutory=True),
    T("ehcp-deadline-at-risk-senco", 1, "ehcp.deadline_at_risk", SENCO, Category.EHCP,
      statutory=True, urgent=True),
    T("ehcp-deadline-at-risk-outreach", 1, "ehcp.deadline_at_risk", OUTREACH, Category.ALERT,
      urgent=True),
    T("pupil-moved-parent", 1, "pupil.moved", PARENT, Category.PUPIL_MOVE),
    T("pupil-moved-senco", 1, "pupil.moved", SENCO, Category.PUPIL_MOVE),
    T("booking-confirmed-attendee", 1, "booking.confirmed", CPD_ATTENDEE, Category.CPD),
    T("booking-waitlisted-attendee", 1, "booking.waitlisted", CPD_ATTENDEE, Category.CPD),
    T("booking-promoted-attendee", 1, "booking.promoted", CPD_ATTENDEE, Category.CPD, urgent=True),
    T("booking-cancelled-attendee", 1, "booking.cancelled", CPD_ATTENDEE, Category.CPD, urgent=True),
    T("certificate-issued-attendee", 1, "certificate.issued", CPD_ATTENDEE, Category.CPD),
    T("session-cancelled-attendee", 1, "session.cancelled", CPD_ATTENDEE, Category.CPD, urgent=True),
    T("session-rescheduled-attendee", 1, "session.rescheduled", CPD_ATTENDEE, Category.CPD,
      urgent=True),
)
DIGEST_TEMPLATE = Template(DIGEST_TEMPLATE_ID, 1, "digest", Audience.STAFF, Category.DIGEST,
                           urgent=True)
# The portal's one-time sign-in link, asked for by the portal (not caused by an event):
# never opted out of, never held for quiet hours or a digest.
SIGN_IN_TEMPLATE_ID = "sign-in-link"
SIGN_IN_TEMPLATE = Template(SIGN_IN_TEMPLATE_ID, 1, "sign_in.link_requested",
                            Audience.REQUESTER, Category.SIGN_IN, statutory=True, urgent=True)
BY_ID = {t.id: t for t in TEMPLATES + (DIGEST_TEMPLATE, SIGN_IN_TEMPLATE)}


@dataclass(frozen=True)
class Recipient:
    audience: str
    address: str
    name: str | None
    channel: str = EMAIL
    alt_address: str | None = None  # the other channel's address, for fallback
    language: str = "en"


@dataclass(frozen=True)
class Preference:
    """What a recipient chose. Keyed by address (an email or a mobile)."""

    opt_outs: frozenset = frozenset()
    quiet_start: time | None = None
    quiet_end: time | None = None
    digest: bool = False


@dataclass(frozen=True)
class Message:
    template: Template
    recipient: Recipient
    subject: str
    text: str
    html: str | None
    language: str = "en"
    not_before: datetime | None = None  # held for quiet hours until then
    digest: bool = False  # held for the recipient's daily digest
    context: dict = field(default_factory=dict, compare=False)
    calendar: tuple | None = None  # (method, iCalendar text) sent with the email

    @property
    def held(self):
        return self.not_before is not None


_env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
    undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
)


def templates_for(event_type):
    return [t for t in TEMPLATES if t.event_type == event_type]


def template_base(template, language="en"):
    """The directory of a template in a language, falling back to English.
    Returns (loader path, language used)."""
    base = f"{template.id}/v{template.version}"
    if language and language != "en" and (template.path / language).is_dir():
        return f"{base}/{language}", language
    return base, "en"


def _is_heading(line):
    line = line.strip()
    return 0 < len(line) <= 60 and ":" not in line and line[-1] not in ".,;:!?)" \
        and not line.startswith("- ")


def blocks(text):
    """A plain-text body as blocks for the HTML layout: ("p", [lines]),
    ("ul", [items]) or ("h2", heading). A block is a paragraph (lines between
    blank lines); "- " lines are a list; a short first line without punctuation
    over other lines is their heading."""
    out = []
    for block in text.strip().split("\n\n"):
        lines = [line.rstrip() for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if len(lines) > 1 and _is_heading(lines[0]):
            out.append(("h2", lines[0]))
            lines = lines[1:]
        if all(line.startswith("- ") for line in lines):
            out.append(("ul", [line[2:] for line in lines]))
        else:
            out.append(("p", lines))
    return out


def tidy(text):
    """Plain text as a mail reader shows it best: no trailing spaces, one blank
    line between paragraphs, none inside a list."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    out = "\n".join(lines)
    out = re.sub(r"\n{3,}", "\n\n", out)
    return re.sub(r"(\n- [^\n]*)\n\n(?=- )", r"\1\n", out) + "\n"


def footer(reach_us):
    """How to reach a person, at the foot of every email (plain text)."""
    return ("How to reach us\n"
            f"- Phone: {reach_us['phone']}\n"
            f"- Post: {reach_us['address']}\n"
            f"- Email: reply to this email, or write to {reach_us['email']}")


def render(template, context, channel=EMAIL, language="en"):
    """Render (subject, text, html) of a template; the subject is one line.

    For SMS the text is sms.txt and there is no HTML. An email's HTML part is
    laid out from its text body (a heading, paragraphs, lists; escaped), and
    both parts end with how to reach us when the context has `reach_us`."""
    base, used = template_base(template, language)
    subject = _env.get_template(f"{base}/subject.txt").render(context).strip()
    subject = " ".join(subject.split())
    if channel == SMS:
        text = _env.get_template(f"{base}/sms.txt").render(context).strip()
        return subject, text, None
    text = tidy(_env.get_template(f"{base}/body.txt").render(context))
    foot = footer(context["reach_us"]) if context.get("reach_us") else None
    html = _env.get_template("_layout/email.html").render(
        {**context, "subject": subject, "blocks": blocks(text),
         "footer": blocks(foot) if foot else [], "language": used})
    if foot:
        text = f"{text}\n{foot}\n"
    return subject, text, html


def render_language(template, language):
    return template_base(template, language)[1]


def recipients(event, *, outreach_inbox):
    """The recipients an event names itself (kept for callers without
    projections): the referring contact and the outreach inbox."""
    data = event["data"]
    people = {OUTREACH: [Recipient(OUTREACH, outreach_inbox, "Outreach team")]}
    if "contact" in data:
        people[REFERRER] = [Recipient(REFERRER, data["contact"]["email"],
                                      data["contact"]["name"])]
    return people


def guardian_recipient(guardian, *, sms_available):
    """A parent or carer as a recipient on their chosen channel, with the
    other channel (if they have one) for fallback."""
    email, mobile = guardian.get("email"), guardian.get("mobile")
    channel = guardian.get("preferred_channel") or EMAIL
    if channel == SMS and (not mobile or not sms_available):
        channel = EMAIL
    if channel == EMAIL and not email:
        channel = SMS if (mobile and sms_available) else None
    if channel is None:
        return None
    address, alt = (email, mobile if sms_available else None) if channel == EMAIL \
        else (mobile, email)
    return Recipient(PARENT, address, guardian.get("name"), channel, alt,
                     guardian.get("preferred_language") or "en")


def quiet_until(now, start, end, tz=LOCAL_TZ):
    """If `now` falls in the quiet period [start, end) (local wall-clock
    times, possibly over midnight), the moment it ends; else None."""
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(tz)
    t = local.time().replace(tzinfo=None)
    inside = (start <= t < end) if start < end else (t >= start or t < end)
    if not inside:
        return None
    day = local.date() if t < end else local.date() + timedelta(days=1)
    return datetime.combine(day, end, tzinfo=tz).astimezone(now.tzinfo)


def next_digest_at(now, digest_time, tz=LOCAL_TZ):
    """The next daily digest time after `now`."""
    local = now.astimezone(tz)
    at = datetime.combine(local.date(), digest_time, tzinfo=tz)
    if at <= local:
        at = datetime.combine(local.date() + timedelta(days=1), digest_time, tzinfo=tz)
    return at.astimezone(now.tzinfo)


def decide(template, recipient, preference, now, *, digest_time=time(7, 30)):
    """What preferences do to one message: None if opted out, else
    (not_before, digest). Statutory notices are never opted out of; urgent
    ones are never held."""
    pref = preference or Preference()
    if template.category in pref.opt_outs and not template.statutory:
        return None
    if template.urgent:
        return (None, False)
    if pref.digest and recipient.audience in STAFF_AUDIENCES:
        return (next_digest_at(now, digest_time), True)
    return (quiet_until(now, pref.quiet_start, pref.quiet_end), False)


def plan_messages(event, context, *, outreach_inbox=None, people=None, preferences=None,
                  now=None, digest_time=time(7, 30), calendar=None):
    """Every message an event causes: one per template and recipient, with
    what the recipient's preferences decide (skipped, held, digested)."""
    if people is None:
        people = recipients(event, outreach_inbox=outreach_inbox)
    preferences = preferences or {}
    now = now or datetime.now(LOCAL_TZ)
    messages, seen = [], set()
    for template in templates_for(event["type"]):
        for recipient in people.get(template.audience, []):
            key = (template.id, recipient.address, recipient.channel)
            if key in seen or not recipient.address:
                continue
            seen.add(key)
            if recipient.channel == SMS and not template.has_sms():
                if not recipient.alt_address:
                    continue
                recipient = replace(recipient, channel=EMAIL, address=recipient.alt_address,
                                    alt_address=None)
            decision = decide(template, recipient, preferences.get(recipient.address), now,
                              digest_time=digest_time)
            if decision is None:
                continue
            ctx = {**context, "recipient": {"name": recipient.name or "",
                                            "audience": recipient.audience}}
            subject, text, html = render(template, ctx, recipient.channel, recipient.language)
            messages.append(Message(template, recipient, subject, text, html,
                                    render_language(template, recipient.language),
                                    decision[0], decision[1], context=context,
                                    calendar=calendar if recipient.channel == EMAIL else None))
    return messages


def fallback(channel, alt_address, template):
    """The channel to try after a permanent failure, or None."""
    other = SMS if channel == EMAIL else EMAIL
    if not alt_address or (other == SMS and not template.has_sms()):
        return None
    return other


def retry_delay(attempts, base_seconds):
    """Exponential backoff after the n-th failed attempt, capped at an hour."""
    return timedelta(seconds=min(base_seconds * 2 ** max(attempts - 1, 0), 3600))


def classify_smtp_failure(code):
    """SMTP reply code → delivery status: 4xx try again later, 5xx never."""
    if code is not None and 500 <= code < 600:
        return PERMANENT_FAILURE
    return TEMPORARY_FAILURE


def classify_notify_failure(status_code, error=None):
    """GOV.UK Notify API error → delivery status.

    400 (a bad address or template data) cannot succeed on a retry; 403 is
    our key, not the recipient (technical); 429 and 5xx are worth retrying."""
    if status_code == 429 or status_code >= 500:
        return TEMPORARY_FAILURE
    if status_code in (401, 403):
        return TECHNICAL_FAILURE
    return PERMANENT_FAILURE


QUIET_HOURS = re.compile(r"^\s*([01][0-9]|2[0-3]):([0-5][0-9])\s*-\s*([01][0-9]|2[0-3]):([0-5][0-9])\s*$",
                         re.ASCII)


def parse_quiet_hours(value):
    """"21:00-07:30" (London wall-clock times, HH:MM-HH:MM) → (time(21), time(7, 30));
    raises ValueError for anything else: no seconds, no offsets, not an empty period."""
    match = QUIET_HOURS.match(value) if isinstance(value, str) else None
    if match is None:
        raise ValueError("Use HH:MM-HH:MM, for example 21:00-07:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    start, end = time(h1, m1), time(h2, m2)
    if start == end:
        raise ValueError("The quiet hours must start and end at different times")
    return start, end


SAMPLE_CONTEXT = {
    "reference": "REF-ABCD-1234", "school_name": "Riverside Primary School",
    "submitted_on": "24 November 2026", "contact_name": "Jo Smith",
    "link": "https://sen-trust.example/referrals/sample", "trust_name": "Demo Trust",
    "parent_link": "https://parents.sen-trust.example/sample",
    "practitioner_name": "Alex Morgan", "visit_date": "1 December 2026",
    "due_date": "15 January 2027", "clock": "triage", "clock_name": "triage decision",
    "deadline": "annual review",
    "reason": "outside the outreach criteria", "outcome": "targets met",
    "waiting": False, "resubmission": False, "version": 3, "to_school_name": "Hillside Academy",
    "from_school_name": "Riverside Primary School", "moved_on": "5 January 2027",
    "course_title": "Supporting transitions between lessons",
    "session_date": "Tuesday 12 January 2027", "session_time": "15:30 to 17:00",
    "venue": "Riverside Primary School, hall", "waitlist_position": 2, "cpd_hours": 3.5,
    "previous_date": "Tuesday 5 January 2027", "previous_time": "15:30 to 17:00",
    "verification_code": "CPD-7KQ2-9XM4",
    "url": "https://sen-trust.example/sign-in/link/sample",
    "expires_at": "09:45 on 24 November 2026",
    "items": [{"subject": "Outreach referral REF-ABCD-1234 allocated",
               "link": "https://sen-trust.example/referrals/sample"}],
}


def sign_in_message(email, url, expires_at, *, trust_name, reach_us=None):
    """The sign-in link email. The url lives only in the message itself: not in the
    delivery's context (what a digest or a resend reads) and never in a log."""
    template = SIGN_IN_TEMPLATE
    local = expires_at.astimezone(LOCAL_TZ)
    context = {"trust_name": trust_name, "url": url,
               "expires_at": f"{local:%H:%M} on {local:%-d %B %Y}",
               "recipient": {"name": "", "audience": template.audience}}
    if reach_us:
        context["reach_us"] = reach_us
    subject, text, html = render(template, context, EMAIL)
    return Message(template, Recipient(template.audience, email, None), subject, text, html,
                   context={"trust_name": trust_name, "expires_at": context["expires_at"]})

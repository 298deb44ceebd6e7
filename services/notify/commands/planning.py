"""From an event to its messages: who hears about it (the projections), what the
message says (its context), what their preferences decide, and the deliveries
recorded in the event's unit of work (sent after its commit)."""

from datetime import time

from sqlalchemy import select

from services.common.db import utcnow
from services.contracts import links
from services.contracts.names import label
from services.documents import calendar as ics

from .. import domain, queries
from ..models import Guardian, Organisation, RecipientPreference, ReferralContact
from . import deliveries


def _day(value):
    return value.strftime("%-d %B %Y")


def _page(name, **ids):
    """Every link in every message is a portal page, built in one place (links.py)."""
    return links.url(name, **ids)


def _when(session):
    """Date, time and place of a CPD session, in local time, for a message."""
    starts = session["starts_at"].astimezone(domain.LOCAL_TZ)
    ends = session["ends_at"].astimezone(domain.LOCAL_TZ)
    return {"session_date": starts.strftime("%A %-d %B %Y"),
            "session_time": f"{starts:%H:%M} to {ends:%H:%M}",
            "venue": session["venue"] or (f"online: {session['online_url']}"
                                          if session["online_url"] else "to be confirmed")}


def _base(config):
    """What every message may name: the trust, and how to reach the outreach team."""
    return {"trust_name": config.trust_name,
            "reach_us": {"phone": config.outreach_phone, "address": config.outreach_address,
                         "email": config.outreach_inbox}}


def _outreach(config):
    return [domain.Recipient(domain.OUTREACH, config.outreach_inbox, "Outreach team")]


class Planner:
    """Plans and records the messages of one event, in its unit of work."""

    def __init__(self, post, uow, event):
        self.post, self.uow, self.event = post, uow, event
        self.config = post.config

    # -- pupils ------------------------------------------------------------------

    def pupil(self, context, senco_org=None):
        data = self.event["data"]
        session = self.uow.session
        org = session.get(Organisation, senco_org or data["org_id"])
        context = {**_base(self.config),
                   "school_name": org.name if org else "your child's school", **context}
        sms = self.post.mailer.sms_available(self.config)
        guardians = session.execute(select(Guardian).where(
            Guardian.pupil_id == data["pupil_id"],
            Guardian.parental_responsibility == True)  # noqa: E712
            .order_by(Guardian.guardian_id)).scalars().all()
        parents = [r for r in (domain.guardian_recipient({
            "name": g.name, "email": g.email, "mobile": g.mobile,
            "preferred_channel": g.preferred_channel,
            "preferred_language": g.preferred_language}, sms_available=sms)
            for g in guardians) if r]
        people = {domain.PARENT: parents, domain.SENCO: queries.sencos(session, org),
                  domain.OUTREACH: _outreach(self.config)}
        self._plan(context, people, domain.SubjectKind.PUPIL, data["pupil_id"])

    def pupil_moved(self):
        data = self.event["data"]
        self.pupil({"from_school_name": queries.org_name(self.uow.session, data["from_org_id"]),
                    "to_school_name": queries.org_name(self.uow.session, data["to_org_id"]),
                    "moved_on": _day(data["moved_on"]),
                    "link": _page("pupil", pupil_id=data["pupil_id"])},
                   senco_org=data["to_org_id"])

    def passport_published(self):
        data = self.event["data"]
        self.pupil({"version": data["version"],
                    "link": _page("passport", pupil_id=data["pupil_id"]),
                    "parent_link": _page("passport", pupil_id=data["pupil_id"])})

    def ehcp_review_due(self):
        data = self.event["data"]
        self.pupil({"due_date": _day(data["due_date"]),
                    "link": _page("ehc_plan", pupil_id=data["pupil_id"]),
                    "parent_link": _page("ehc_plan", pupil_id=data["pupil_id"])})

    def ehcp_deadline_at_risk(self):
        data = self.event["data"]
        self.pupil({"due_date": _day(data["due_date"]),
                    "deadline": label(data["deadline"], "ehc_step"),
                    "link": _page("ehc_plan", pupil_id=data["pupil_id"])})

    # -- referrals ---------------------------------------------------------------

    def referral(self, page="referral", **extra):
        data = self.event["data"]
        session = self.uow.session
        contact = data["contact"]
        projection = session.get(ReferralContact, data["referral_id"]) or ReferralContact(
            referral_id=data["referral_id"])
        projection.school_org_id, projection.reference = data["school_org_id"], data["reference"]
        projection.contact_name, projection.contact_email = contact["name"], contact["email"]
        if "practitioner" in data:
            projection.practitioner_name = data["practitioner"]["name"]
            projection.practitioner_email = data["practitioner"]["email"]
        session.add(projection)
        context = {
            **_base(self.config),
            "reference": data["reference"],
            "school_name": queries.org_name(session, data["school_org_id"], "a partner school"),
            "contact_name": contact["name"],
            "practitioner_name": projection.practitioner_name or "",
            "link": _page(page, referral_id=data["referral_id"]),
            **extra,
        }
        people = {
            domain.REFERRER: [domain.Recipient(domain.REFERRER, contact["email"],
                                               contact["name"])],
            domain.OUTREACH: _outreach(self.config),
            domain.PRACTITIONER: [domain.Recipient(
                domain.PRACTITIONER, projection.practitioner_email,
                projection.practitioner_name)] if projection.practitioner_email else [],
        }
        self._plan(context, people, domain.SubjectKind.REFERRAL, data["referral_id"],
                   order=(f"referral:{data['referral_id']}", data.get("sequence")))

    # -- cpd ---------------------------------------------------------------------

    def booking(self, **extra):
        data = self.event["data"]
        context = {**_base(self.config), "course_title": data["course_title"],
                   **_when(data["session"]),
                   "link": _page("cpd_booking_calendar", booking_id=data["booking_id"]),
                   **extra}
        attendee = data["attendee"]
        self._attendee(context, data["booking_id"], attendee,
                       calendar=self._invitation(data, data["booking_id"], attendee),
                       order=(f"booking:{data['booking_id']}", data.get("calendar_sequence")))

    def certificate_issued(self):
        data = self.event["data"]
        context = {**_base(self.config), "course_title": data["course_title"],
                   "cpd_hours": f"{data['cpd_hours']:g}",
                   "verification_code": data["verification_code"],
                   "link": _page("cpd_certificate", certificate_id=data["certificate_id"])}
        self._attendee(context, data["certificate_id"], data["attendee"])

    def session_changed(self, **extra):
        """Everyone booked on a session hears that it was cancelled or moved (with
        an updated invitation, or its cancellation, where the event carries one)."""
        data = self.event["data"]
        context = {**_base(self.config), "course_title": data["course_title"],
                   **_when(data["session"]), **extra}
        for attendee in data["attendees"]:
            self._attendee(context, data["session"]["session_id"], attendee,
                           calendar=self._invitation(data, attendee["booking_id"], attendee),
                           order=(f"booking:{attendee['booking_id']}",
                                  attendee.get("calendar_sequence",
                                               data.get("calendar_sequence"))))

    def _invitation(self, data, booking_id, attendee):
        """(method, ics) for the booking's calendar event, or None when the event
        does not carry its calendar fields (older events)."""
        # a booking event carries its own; a session event one per attendee
        source = attendee if attendee and attendee.get("calendar_sequence") is not None else data
        sequence, status = source.get("calendar_sequence"), source.get("calendar_status")
        if sequence is None or not status:
            return None
        session = data["session"]
        lines = [data.get("course_summary") or ""]
        if session.get("facilitator"):
            lines.append(f"Facilitator: {session['facilitator']}")
        if data.get("cpd_hours") is not None:
            lines.append(f"CPD hours (whole course): {data['cpd_hours']:g}")
        title = data["course_title"]
        event = ics.CalendarEvent(
            uid=booking_id, starts_at=session["starts_at"], ends_at=session["ends_at"],
            summary=title if status != "TENTATIVE" else f"{title} (waiting for a place)",
            description="\n\n".join(filter(None, lines)),
            location=session.get("venue") or session.get("online_url"),
            url=session.get("online_url") or None, sequence=sequence, status=status,
            organiser_email=self.config.cpd_organiser_email, attendee_email=attendee["email"],
            attendee_name=attendee["name"])
        return ics.method_of(event), ics.invitation(event).decode("utf-8")

    def _attendee(self, context, ref, attendee, calendar=None, order=None):
        people = {domain.CPD_ATTENDEE: [domain.Recipient(
            domain.CPD_ATTENDEE, attendee["email"], attendee["name"])]}
        self._plan(context, people, domain.SubjectKind.CPD, ref, calendar=calendar,
                   order=order)

    # -- planning ----------------------------------------------------------------

    def _plan(self, context, people, subject_kind, subject_ref, *, calendar=None, order=None):
        session = self.uow.session
        addresses = {r.address for rs in people.values() for r in rs if r.address}
        keys = addresses | {queries.pref_key(a) for a in addresses}
        stored = {queries.pref_key(p.address): domain.Preference(
            opt_outs=frozenset(filter(None, p.opt_outs.split(","))),
            quiet_start=time.fromisoformat(p.quiet_start) if p.quiet_start else None,
            quiet_end=time.fromisoformat(p.quiet_end) if p.quiet_end else None,
            digest=p.digest)
            for p in session.execute(select(RecipientPreference).where(
                RecipientPreference.address.in_(keys))).scalars()} if addresses else {}
        prefs = {a: stored[queries.pref_key(a)] for a in addresses
                 if queries.pref_key(a) in stored}
        messages = domain.plan_messages(self.event, context, people=people, preferences=prefs,
                                        now=utcnow(), digest_time=self.config.digest_clock,
                                        calendar=calendar)
        ids = deliveries.record(self.uow, self.event, messages, subject_kind=subject_kind,
                                subject_ref=subject_ref, order=order,
                                wait_seconds=self.config.delivery_order_wait_seconds)
        if ids:
            post = self.post
            self.uow.after_commit(lambda: deliveries.send_all(post, ids))

"""Names, not codes, wherever a person reads (issue 12): every portal page that shows a
stored code, rendered with a realistic view (the shapes the APIs answer), must show
the name from services/contracts/names.py and never the code itself."""

import re
from datetime import date
from html.parser import HTMLParser
from types import SimpleNamespace

import pytest

from services.contracts import names
from services.contracts.sen import AREAS_OF_NEED, NEED_TYPES, SEN_PROVISION
from services.portal import service
from services.portal.adapters import web

ALL_CODES = {code for table in names.TABLES for code in table}


def _is_code(code):
    """A code a person would never write: snake_case, hyphenated, or a capital-letter
    census code (ASD, SLCN, K). Codes that are ordinary words ("submitted") are left out."""
    return "_" in code or "-" in code or (code.isupper() and code.isalpha())


CODES = sorted(c for c in ALL_CODES if _is_code(c))


class _Visible(HTMLParser):
    """The text a person reads: element text, not attributes, scripts or styles."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def visible_text(html):
    parser = _Visible()
    parser.feed(html)
    return " ".join(" ".join(parser.parts).split())


def leaked(text):
    """The codes that appear as a word of their own in `text`."""
    found = []
    for code in CODES:
        if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", text):
            found.append(code)
    return found


ME = SimpleNamespace(name="Sally Senco", sub="senco@riverside.example", org_name="Riverside Primary",
                     org_id="org-1", org_kind="trust_school", roles=["senco"], csrf_token="t")
BASE = {"me": ME, "csrf": "t", "nav": [("/pupils", "Pupils")], "current": "/pupils",
        "errs": {}, "values": {}, "errors": [], "title": "Page"}

PUPIL = {"id": "p1", "forename": "Robin", "legal_surname": "Ashby", "upn": "B801200005001",
         "year_group": 4, "date_of_birth": "2016-03-01", "sen_status": "K",
         "primary_need": "SLCN", "areas_of_need": ["communication_and_interaction",
                                                   "social_emotional_mental_health"]}
PLAN = {"request_date": "2026-01-05", "issued_on": None, "last_review_on": None,
        "next_review_due": None,
        "deadlines": {step: {"due": "2026-06-01", "done_on": None}
                      for step in names.EHC_DEADLINE_NAMES}}
REFERRAL = {"id": "r1", "reference": "OR-2026-0001", "status": "info_requested",
            "pupil": {"first_name": "Sam", "last_name": "Hughes"},
            "areas_of_need": ["communication_and_interaction", "sensory_and_physical"],
            "concerns": "Finds the lunch hall hard.", "support_so_far": "Visual timetable.",
            "outcome": "continued_sen_support", "graduated_approach": [],
            "info_question": "Which year group?", "allowed_actions": []}

VIEWS = {
    "pupil.html": {
        "p": PUPIL, "today": date(2026, 12, 2), "may_read_messages": True,
        "register": [{"status": "E", "primary_need": "ASD", "starts_on": "2026-09-01"},
                     {"status": "K", "primary_need": "SLCN", "starts_on": "2025-09-01",
                      "ends_on": "2026-08-31"},
                     {"status": "N", "starts_on": "2024-09-01", "ends_on": "2025-08-31"}],
        "passport": {"items": [{"version": 1, "status": "published"},
                               {"version": 2, "status": "draft"}]},
        "plans": [PLAN],
        "map": {"targets": [{"id": f"t{i}", "description": f"Target {i}",
                             "due_date": "2026-12-18", "latest_level": level,
                             "latest_progress": 1}
                            for i, level in enumerate(names.PROGRESS_NAMES)],
                "cycles": [{"id": "c1", "number": 1, "status": "open",
                            "review_date": "2026-12-10", "overdue": False},
                           {"id": "c0", "number": 0, "status": "reviewed",
                            "review_date": "2026-10-10", "review_note": "Good start"}]},
        "areas_of_need": AREAS_OF_NEED},
    "pupils.html": {"items": [PUPIL, {**PUPIL, "id": "p2", "sen_status": "E",
                                      "primary_need": "ASD", "year_group": 0}],
                    "sen_statuses": SEN_PROVISION, "need_types": NEED_TYPES,
                    "values": {"sen_status": "K"}},
    "pupil_new.html": {"sen_statuses": SEN_PROVISION, "need_types": NEED_TYPES},
    "ehc_plan.html": {"plans": [PLAN], "name": "Robin Ashby"},
    "referral_new.html": {"areas_of_need": AREAS_OF_NEED, "need_types": NEED_TYPES,
                          "chosen_areas": [], "chosen_types": ["ASD"]},
    "referral_check.html": {
        "r": {**REFERRAL, "status": "draft", "need_types": ["ASD", "SLCN"],
              "contact": {"name": "Jo", "email": "jo@x.example", "phone": "01632 960000"},
              "parental_consent": {"given": True, "date": "2026-09-15", "given_by": "Parent"},
              "graduated_approach": [{"provision": "P", "started_on": "2026-01-12"}]},
        "duplicates": [{"id": "r0", "reference": "OR-2026-0000", "status": "info_requested",
                        "submitted_at": "2026-10-01T09:00:00+00:00"}], "back": "/x"},
    "referral.html": {
        "r": REFERRAL, "staff": True, "answer": True, "today": date(2026, 12, 2),
        "may": {"request_info", "accept", "decline", "allocate", "close", "visit", "report"},
        "decline_reasons": service.DECLINE_REASONS, "outcomes": service.OUTCOMES,
        "seen": service.SEEN, "may_read_messages": True,
        "triage": {"criteria": [{"name": "parental_consent", "met": True, "detail": None},
                                {"name": "graduated_approach_cycles", "met": False}]},
        "history": [{"to_status": s, "at": "2026-10-01T09:00:00+00:00"}
                    for s in names.REFERRAL_STATUS_NAMES],
        "visits": []},
    "referrals.html": {"items": [{**REFERRAL, "id": f"r{s}", "status": s,
                                  "submitted_at": "2026-10-01T09:00:00+00:00"}
                                 for s in names.REFERRAL_STATUS_NAMES], "partner": False},
    "triage.html": {"queue": [{**REFERRAL, "status": "in_progress",
                               "submitted_at": "2026-10-01T09:00:00+00:00"}],
                    "late": {"r1": [{"clock": "acknowledge", "due_date": "2026-10-03"},
                                    {"clock": "triage", "due_date": "2026-10-15"}]}},
    "cpd_bookings.html": {"items": [{"id": f"b{s}", "status": s, "course_id": "c1",
                                     "session_id": "s1", "waitlist_position": None}
                                    for s in names.BOOKING_STATUS_NAMES],
                          "titles": {"c1": "Autism in the classroom"}, "certificates": []},
    "cpd_session.html": {
        "course": {"title": "Autism in the classroom"}, "lead": True, "may_book": False,
        "s": {"id": "s1", "starts_at": "2026-12-10T09:00:00+00:00", "venue": None,
              "facilitator": "A. Trainer", "places_left": 3, "status": "scheduled"},
        "mine": [{"status": "pending_approval"}],
        "bookings": [{"status": s, "attendee": {"name": "Ann"}, "attended": None}
                     for s in ("pending_approval", "waitlisted", "confirmed")]},
    "cpd_courses.html": {"items": [{"id": "c1", "title": "Autism in the classroom",
                                    "summary": "Practical strategies.",
                                    "area_of_need": "communication_and_interaction",
                                    "cpd_hours": 3, "price_pence": 0,
                                    "requires_approval": True,
                                    "sessions": [{"id": "s1", "status": "cancelled",
                                                  "starts_at": "2026-12-10T09:00:00+00:00"}]}]},
    "notifications.html": {
        "subject": {"referral_id": "r1"}, "referrals": [], "pupils": [],
        "items": [{"subject": "Referral received", "recipient_name": None,
                   "audience": audience, "channel": channel, "status": status}
                  for audience, channel, status in (
                      ("cpd_attendee", "email", "temporary-failure"),
                      ("referrer", "sms", "permanent-failure"),
                      ("practitioner", "email", "technical-failure"))]},
    "staff.html": {"items": [{"name": "Olive Lead", "email": "lead@trust.example",
                              "roles": ["outreach_lead", "trust_admin", "cpd_admin"]},
                             {"name": "Pat", "email": "p@school.example",
                              "roles": ["partner_referrer"]}]},
    "organisations.html": {"items": [{"name": "Riverside Primary", "kind": "trust_school"},
                                     {"name": "Hill School", "kind": "partner_school"}]},
    "agreement.html": {"s": {"agreement": {"academic_year": "2026/27", "term": "autumn"},
                             "hours_bought": 20, "hours_used": 2, "hours_left": 18,
                             "lines": []}},
    "costs.html": {"c": {"as_of": "2026-12-02", "cost_to_date": "10.00",
                         "cost_projected": "20.00", "sen_budget": None,
                         "budget_remaining": None, "budget_used_projected": None,
                         "per_tier": [{"key": t, "cost_to_date": "1.00", "cost_projected": "2.00"}
                                      for t in names.TIER_NAMES],
                         "per_provision": [], "per_org": []}},
}


def render(template):
    return web.render(template, **{**BASE, **VIEWS[template]})


@pytest.mark.parametrize("template", sorted(VIEWS))
def test_no_code_on_the_page(template):
    text = visible_text(render(template))
    assert leaked(text) == [], f"{template} shows codes: {leaked(text)}"


def test_the_check_finds_a_code_when_one_leaks():
    # the check itself: the old pupil page's words are caught
    assert leaked("SEN status K · Primary need SLCN · communication_and_interaction") == \
        ["K", "SLCN", "communication_and_interaction"]
    assert leaked("Speech, Language and Communication Needs") == []


def test_the_pupil_page_shows_names_from_the_one_table():
    text = visible_text(render("pupil.html"))
    assert "SEN Support" in text and "Speech, Language and Communication Needs" in text
    assert "Communication and interaction, Social, emotional and mental health" in text
    assert "Year 4" in text
    for i, name in enumerate(names.PROGRESS_NAMES.values()):  # progress as its named level
        assert f"Target {i} (due 18 December 2026): {name}" in text
    assert "progress 1" not in text
    # the review form offers the named levels and posts their codes
    html = render("pupil.html")
    assert '<option value="partially_met">Partially met</option>' in html


def test_the_referral_page_names_statuses_outcomes_and_reasons():
    text = visible_text(render("referral.html"))
    assert "more information requested" in text
    assert "Continued SEN support" in text  # capital first letter, "SEN" kept
    assert "The referral criteria are not met" in text
    assert "Communication and interaction, Sensory and/or physical needs" in text


def test_the_check_answers_page_names_needs_and_warns_of_an_open_referral():
    text = visible_text(render("referral_check.html"))
    assert "Autistic Spectrum Disorder, Speech, Language and Communication Needs" in text
    assert "already has an open referral for this pupil: OR-2026-0000 (more information" \
        " requested" in text
    html = render("referral_check.html")
    assert 'href="/referrals/r1/edit?from=check#pupil-last_name"' in html
    assert html.count(">Change<") == 18  # every answer (4 + 4 + one cycle 4 + 3 + 3) has one


def test_staff_roles_and_messages_are_named():
    assert "outreach lead, trust administrator, CPD lead" in visible_text(render("staff.html"))
    text = visible_text(render("notifications.html"))
    assert "Course attendee" in text and "Text message" in text
    assert "Not delivered (address not valid)" in text


def test_label_filter_is_the_contracts_table():
    env = web._env
    assert env.filters["label"]("ASD") == names.label("ASD")
    assert env.filters["label"](["K", "E"], "sen_status") == ["SEN Support", "EHC Plan"]
    assert env.filters["sentence"]("continued SEN support") == "Continued SEN support"

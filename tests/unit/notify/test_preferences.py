"""Preferences, channels and fallbacks as plain rules."""

from datetime import UTC, datetime, time

from services.contracts import make_event, parse_event
from services.notify import domain
from services.notify.adapters.sms import RateLimiter

T = domain.BY_ID
EVENING = datetime(2026, 11, 24, 22, 30, tzinfo=UTC)  # 22:30 in London (GMT)
NOON = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)
QUIET = domain.Preference(quiet_start=time(21), quiet_end=time(7, 30))


def test_quiet_hours_over_midnight_end_the_next_morning():
    assert domain.quiet_until(EVENING, time(21), time(7, 30)) == datetime(
        2026, 11, 25, 7, 30, tzinfo=UTC)
    early = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
    assert domain.quiet_until(early, time(21), time(7, 30)) == datetime(
        2026, 11, 25, 7, 30, tzinfo=UTC)
    assert domain.quiet_until(NOON, time(21), time(7, 30)) is None


def test_quiet_hours_follow_london_summer_time():
    summer_evening = datetime(2026, 7, 1, 20, 30, tzinfo=UTC)  # 21:30 BST
    assert domain.quiet_until(summer_evening, time(21), time(7)) == datetime(
        2026, 7, 2, 6, 0, tzinfo=UTC)


def test_same_day_quiet_period():
    assert domain.quiet_until(NOON, time(11), time(13)) == datetime(
        2026, 11, 24, 13, 0, tzinfo=UTC)
    assert domain.quiet_until(NOON, None, None) is None


def test_opt_out_skips_a_category_but_never_a_statutory_notice():
    parent = domain.Recipient(domain.PARENT, "p@x.example", "P")
    opted_out = domain.Preference(opt_outs=frozenset({"passport", "ehcp"}))
    assert domain.decide(T["passport-published-parent"], parent, opted_out, NOON) is None
    assert domain.decide(T["ehcp-review-due-parent"], parent, opted_out, NOON) == (None, False)
    assert domain.decide(T["pupil-moved-parent"], parent, opted_out, NOON) == (None, False)


def test_quiet_hours_hold_non_urgent_messages_only():
    senco = domain.Recipient(domain.SENCO, "s@x.example", "S")
    held = domain.decide(T["passport-published-senco"], senco, QUIET, EVENING)
    assert held == (datetime(2026, 11, 25, 7, 30, tzinfo=UTC), False)
    assert domain.decide(T["ehcp-deadline-at-risk-senco"], senco, QUIET, EVENING) == (
        None, False)


def test_daily_digest_is_for_staff_and_not_for_urgent_messages():
    digest = domain.Preference(digest=True)
    staff = domain.Recipient(domain.REFERRER, "s@x.example", "S")
    parent = domain.Recipient(domain.PARENT, "p@x.example", "P")
    not_before, is_digest = domain.decide(T["referral-accepted-referrer"], staff, digest, NOON,
                                          digest_time=time(7, 30))
    assert is_digest and not_before == datetime(2026, 11, 25, 7, 30, tzinfo=UTC)
    assert domain.decide(T["passport-published-parent"], parent, digest, NOON) == (None, False)
    assert domain.decide(T["referral-overdue-outreach"], domain.Recipient(
        domain.OUTREACH, "o@x.example", "O"), digest, NOON) == (None, False)


def test_guardian_channel_language_and_fallback_address():
    g = {"name": "Pat", "email": "pat@x.example", "mobile": "07700900123",
         "preferred_channel": "sms", "preferred_language": "cy"}
    r = domain.guardian_recipient(g, sms_available=True)
    assert (r.channel, r.address, r.alt_address, r.language) == (
        "sms", "07700900123", "pat@x.example", "cy")
    # no SMS provider: email instead, and no SMS fallback
    r = domain.guardian_recipient(g, sms_available=False)
    assert (r.channel, r.address, r.alt_address) == ("email", "pat@x.example", None)
    assert domain.guardian_recipient({**g, "email": None}, sms_available=False) is None
    r = domain.guardian_recipient({**g, "preferred_channel": "email"}, sms_available=True)
    assert (r.channel, r.alt_address) == ("email", "07700900123")


def test_plan_for_a_pupil_event_uses_projections_and_preferences():
    event = parse_event(make_event("passport.published", {
        "pupil_id": "p-1", "org_id": "school-1", "passport_id": "pp-1", "version": 2},
        org_id="school-1", actor="senco@x"))
    people = {
        domain.PARENT: [domain.Recipient(domain.PARENT, "07700900123", "Pat", "sms",
                                         "pat@x.example"),
                        domain.Recipient(domain.PARENT, "kim@x.example", "Kim")],
        domain.SENCO: [domain.Recipient(domain.SENCO, "senco@x.example", "SENCO")],
    }
    prefs = {"kim@x.example": domain.Preference(opt_outs=frozenset({"passport"})),
             "senco@x.example": QUIET}
    messages = domain.plan_messages(event, domain.SAMPLE_CONTEXT, people=people,
                                    preferences=prefs, now=EVENING)
    by_address = {m.recipient.address: m for m in messages}
    assert set(by_address) == {"07700900123", "senco@x.example"}  # Kim opted out
    sms = by_address["07700900123"]
    assert sms.html is None and "pupil passport" in sms.text and not sms.held
    assert by_address["senco@x.example"].held


def test_fallback_goes_to_the_other_channel_once():
    template = T["passport-published-parent"]
    assert domain.fallback("email", "07700900123", template) == "sms"
    assert domain.fallback("sms", "pat@x.example", template) == "email"
    assert domain.fallback("email", None, template) is None
    assert domain.fallback("email", "07700900123", T["referral-accepted-referrer"]) is None


def test_notify_errors():
    assert domain.classify_notify_failure(400, "ValidationError") == domain.PERMANENT_FAILURE
    assert domain.classify_notify_failure(403, "AuthError") == domain.TECHNICAL_FAILURE
    assert domain.classify_notify_failure(429, "RateLimitError") == domain.TEMPORARY_FAILURE
    assert domain.classify_notify_failure(500, "Exception") == domain.TEMPORARY_FAILURE


def test_rate_limiter_never_allows_more_than_the_limit_in_any_window():
    now = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(3, period=60, clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(7):
        limiter.acquire()
        times.append(now[0])
        now[0] += 1
    assert times == [0, 1, 2, 60, 61, 62, 120]
    for i in range(len(times) - 3):
        assert times[i + 3] - times[i] >= 60


def test_welsh_falls_back_to_english_where_no_translation_exists():
    assert domain.render_language(T["pupil-moved-parent"], "fr") == "en"


def test_a_recipient_s_language_picks_the_translation_where_there_is_one(tmp_path, monkeypatch):
    import shutil

    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    templates = tmp_path / "templates"
    shutil.copytree(domain.TEMPLATE_DIR, templates)
    cy = templates / "pupil-moved-parent" / "v1" / "cy"
    cy.mkdir()
    (cy / "subject.txt").write_text("[cy] {{ to_school_name }}\n")
    (cy / "body.txt").write_text("[cy] {{ recipient.name }}: {{ link }}\n")
    (cy / "sms.txt").write_text("[cy sms] {{ to_school_name }}\n")
    monkeypatch.setattr(domain, "TEMPLATE_DIR", templates)
    monkeypatch.setattr(domain, "_env", Environment(
        loader=FileSystemLoader(templates), undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False)))
    event = parse_event(make_event("pupil.moved", {
        "pupil_id": "p-1", "from_org_id": "a", "to_org_id": "b", "moved_on": "2027-01-05"},
        org_id="b", actor="pupils"))
    people = {domain.PARENT: [
        domain.Recipient(domain.PARENT, "cy@x.example", "Rhiannon", language="cy"),
        domain.Recipient(domain.PARENT, "07700900123", "Pat", "sms", language="cy"),
        domain.Recipient(domain.PARENT, "en@x.example", "Pat", language="en")]}
    messages = {m.recipient.address: m for m in domain.plan_messages(
        event, domain.SAMPLE_CONTEXT, people=people, now=NOON)}
    welsh = messages["cy@x.example"]
    assert (welsh.language, welsh.subject) == ("cy", "[cy] Hillside Academy")
    assert 'lang="cy"' in welsh.html and "Rhiannon" in welsh.html
    assert messages["07700900123"].text == "[cy sms] Hillside Academy"
    assert messages["en@x.example"].language == "en"
    assert messages["en@x.example"].subject.startswith("Your child's records")


def test_quiet_hours_are_two_london_wall_clock_times_or_a_422_naming_the_field():
    from services.common.http import load_body
    from services.common.problems import Problem
    from services.notify.schemas import PreferenceSchema

    assert domain.parse_quiet_hours("21:00-07:30") == (time(21), time(7, 30))
    assert domain.parse_quiet_hours(" 09:15 - 10:45 ") == (time(9, 15), time(10, 45))
    # offsets made times that cannot be compared with the clock's (a 500 when a
    # message was planned); seconds, "21-07", "2100-0730" and an empty period were
    # accepted and meant something else than the person wrote
    for bad in ("21:00Z-07:30", "21:00+01:00-07:30", "21:00:30-07:00", "21-07",
                "2100-0730", "24:00-07:00", "21:00-21:00", "late", "", "21:00",
                "21:00-07:30-08:00", "\u0662\u0661:00-07:30"):
        try:
            load_body(PreferenceSchema, {"address": "a@b.example", "quiet_hours": bad})
        except Problem as exc:
            assert exc.status == 422 and list(exc.errors) == ["quiet_hours"], bad
        else:
            raise AssertionError(f"{bad!r} accepted")

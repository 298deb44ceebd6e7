"""View-model dicts shaped like the portal's pages."""

import pytest

AMARA = {"name": "Amara Okafor", "upn": "A123456789012", "year_group": 4, "class_name": "4B",
         "school": "Oak Hill Primary", "sen_status": "K", "primary_need": "ASD",
         "secondary_need": "SLCN", "date_of_birth": "2017-03-02"}
BEN = {"name": "Ben Hughes", "upn": "B123456789012", "year_group": 4, "class_name": "4B",
       "school": "Oak Hill Primary", "sen_status": "E", "primary_need": "SPLD"}


@pytest.fixture
def passport_view():
    return {"organisation": "Oak Hill Primary", "pupil": dict(AMARA), "passport": {
        "version": 2, "published_at": "2026-01-10T10:00:00+00:00",
        "about_me": "I live with my mum and my brother. I love trains and drawing maps.",
        "strengths": "Remembers facts about trains; good at number work; kind to friends.",
        "needs": "Finds loud rooms and changes of plan hard; needs time to process speech.",
        "what_helps": "A visual timetable; warning before changes; ear defenders in assembly.",
        "what_does_not_help": "Being rushed; several instructions at once.",
        "pupil_voice": "I want people to wait for me to finish talking."}}


REEF_ROWS = [  # Reading catch-up for Amara and Ben, shared costs (hand-checked totals)
    {"provision": "Reading catch-up", "tier": "targeted", "area_of_need":
     "cognition_and_learning", "sessions_per_week": "2", "session_minutes": 30,
     "staff": "Ms Reed (TA)", "start_date": "2026-11-02", "end_date": "2026-11-27",
     "outcomes": "Reads 40 common exception words", "cost_to_date": "40.00",
     "cost_projected": "60.00"},
]


@pytest.fixture
def pupil_map_view():
    return {"organisation": "Oak Hill Primary", "as_of": "2026-11-20", "pupils": [{
        "pupil": dict(AMARA), "provisions": [dict(REEF_ROWS[0]), {
            "provision": "Zones of Regulation", "tier": "universal",
            "area_of_need": "social_emotional_mental_health", "sessions_per_week": "1",
            "session_minutes": 45, "staff": "Mr Kay", "start_date": "2026-09-07",
            "end_date": "2027-07-16", "statutory": True, "outcomes": "Names three feelings",
            "cost_to_date": "150.00", "cost_projected": "420.50"}],
        "targets": [{"description": "Read 40 common exception words",
                     "area_of_need": "cognition_and_learning", "baseline": "12 words",
                     "expected_outcome": "40 words", "measure": "Word list check",
                     "due_date": "2026-12-18", "latest_level": "met",
                     "latest_progress": 1}],
        "cycles": [{"number": 1, "started_on": "2026-09-07", "assess": "Phonics screen",
                    "plan": "Small group twice a week", "do": "Ms Reed delivers",
                    "review_date": "2026-12-11", "reviewed_on": None, "review_note": None,
                    "overdue": False}]}]}


@pytest.fixture
def group_map_view(pupil_map_view):
    ben = {"pupil": dict(BEN), "provisions": [{**REEF_ROWS[0], "cost_to_date": "20.00",
                                               "cost_projected": "40.00"}],
           "targets": [], "cycles": []}
    return {**pupil_map_view, "scope_label": "Year 4, class 4B",
            "pupils": pupil_map_view["pupils"] + [ben]}


@pytest.fixture
def report_view():
    return {"organisation": "Trust outreach team", "referral": {
        "reference": "REF-2026-0042", "school": "Elm Park Primary",
        "pupil": {"name": "Callum Price", "upn": "C123456789012", "year_group": 3,
                  "class_name": "3W", "school": "Elm Park Primary"},
        "areas_of_need": ["communication_and_interaction"]},
        "visits": [
            {"visit_date": "2026-11-03", "minutes": 90, "seen": ["pupil", "class_teacher"],
             "observations": "Callum settled with a visual timetable.",
             "recommendations": "Use a now-and-next board."},
            {"visit_date": "2026-11-17", "minutes": 60, "seen": ["senco", "parent_carer"],
             "observations": "Fewer incidents at lunch.",
             "recommendations": "Keep the quiet space at lunch."}],
        "report": {"summary": "Good progress with structure and warnings of change.",
                   "written_on": "2026-11-20", "recommendations": [
                       {"text": "Visual timetable daily", "provision": "Visual supports"},
                       {"text": "Staff training on autism", "course_title": "Autism basics"}]},
        "agreement": {"academic_year": "2026/27", "term": "autumn", "hours_bought": 20.0,
                      "hours_used": 6.5, "hours_left": 13.5}}


@pytest.fixture
def ehc_view():
    return {"organisation": "Oak Hill Primary", "today": "2026-05-03", "pupil": dict(BEN),
            "plan": {"request_date": "2026-01-05", "decision_to_assess_on": "2026-02-13",
                     "assessment_refused": False, "decision_to_issue_on": None,
                     "issue_refused": False, "issued_on": None, "last_review_on": None,
                     "pauses": [{"reason": "school_closure", "starts_on": "2026-04-01",
                                 "ends_on": "2026-04-08"}],
                     "deadlines": {
                         "decision_to_assess": {"due": "2026-02-16", "done_on": "2026-02-13"},
                         "decision_to_issue": {"due": "2026-05-01", "done_on": None},
                         "final_plan": {"due": "2026-06-01", "done_on": None}}}}

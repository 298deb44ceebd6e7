"""The portal's documents (services/portal/queries/documents.py gathers,
services/portal/adapters/documents.py renders): the class map from the
provision service's JSON merged with the pupils service's names, and the chart block
a page shows. Pure functions, no services."""

import csv
import io
from html.parser import HTMLParser

from services.contracts import names
from services.documents import charts, sheets
from services.portal.adapters import documents as rendering
from services.portal.adapters import web
from services.portal.queries import documents

PUPILS = [
    documents.pupil_block({"id": "p1", "forename": "Amara", "legal_surname": "Okafor",
                           "upn": "K801200005701", "year_group": 4, "registration_group": "4B",
                           "sen_status": "E"}, "Oakfield Special School"),
    documents.pupil_block({"id": "p2", "forename": "Ben", "legal_surname": "Adeyemi",
                           "upn": "Z801200005702", "year_group": 4, "registration_group": "4B",
                           "sen_status": "K"}, "Oakfield Special School"),
]
CYCLE = {"id": "c1", "number": 1, "started_on": "2026-11-09", "review_date": "2026-12-07",
         "reviewed_on": None, "status": "open", "overdue": False}
# ClassMapSchema's shape (the provision service's GET /api/v1/provision/map)
CLASS_MAP = {"as_of": "2026-12-02", "org_id": "o1", "organisation": "Oakfield Special School",
             "registration_group": "4B", "year_group": None, "pupils": [
                 {"pupil_id": "p1", "year_group": 4, "registration_group": "4B",
                  "sen_status": "E", "cycles": [CYCLE], "provisions": [{
                      "assignment_id": "a1", "catalogue_id": "e1",
                      "provision": "Reading catch-up", "tier": "targeted",
                      "area_of_need": "cognition_and_learning", "staff": "=Ms Reed",
                      "frequency": {"sessions_per_week": "2", "session_minutes": 30,
                                    "hours_per_week": "1.00"},
                      "start_date": "2026-11-09", "end_date": "2026-12-12",
                      "statutory": True, "cost": {"to_date": "30.00", "projected": "58.00"},
                      "outcomes": [{"target_id": "t1", "description": "Read 40 words",
                                    "expected_outcome": "Reads 40 of 100 words",
                                    "due_date": "2027-01-31", "latest_level": "met"}]}]},
                 {"pupil_id": "elsewhere", "year_group": 4, "provisions": [], "cycles": []}]}


def test_class_map_rows_carry_names_and_the_provision_services_costs():
    entries = documents.class_map_entries(CLASS_MAP, PUPILS)
    assert set(entries) == {"p1"}  # a pupil the pupils service did not name is left out
    entry = entries["p1"]
    assert entry["pupil"]["name"] == "Amara Okafor"
    [row] = entry["provisions"]
    assert (row["pupil_name"], row["upn"], row["year_group"], row["class_name"]) == (
        "Amara Okafor", "K801200005701", 4, "4B")
    assert (row["cost_to_date"], row["cost_projected"]) == ("30.00", "58.00")
    assert row["outcomes"] == "Reads 40 of 100 words"
    assert row["cycles"] == "Cycle 1 from 9 November 2026, review due 7 December 2026"
    assert entry["targets"][0]["description"] == "Read 40 words"
    view = {"pupils": [entry], "totals": {"cost_to_date": "30.00", "cost_projected": "58.00"}}
    doc = rendering.provision_map_document(view, "csv", "map")
    rows = list(csv.reader(io.StringIO(doc.data.decode("utf-8-sig"))))
    assert rows[0][:4] == sheets.headers(sheets.PUPIL)
    assert rows[0][-1] == "Assess, plan, do, review"
    assert rows[1][:9] == ["Amara Okafor", "K801200005701", "Year 4", "4B", "Reading catch-up",
                           "Targeted", "Cognition and learning",
                           "2 sessions a week, 30 minutes each", "'=Ms Reed"]
    assert rows[1][12:] == ["Yes", "30.00", "58.00", row["cycles"]]
    assert rows[-1][0] == "Total" and rows[-1][13:15] == ["30.00", "58.00"]


def test_not_a_class_map_is_none():
    assert documents.class_map_entries({"items": []}, PUPILS) is None
    assert documents.class_map_entries({"pupils": [{"id": "p1"}]}, PUPILS) is None


class _Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))


def test_a_chart_block_is_inline_svg_with_its_data_table():
    html = rendering.impact_chart([{"provision": "Reading catch-up", "share_met": "50.0",
                                    "cost_per_target_met": "60.00", "targets_met": 1,
                                    "targets_reviewed": 2}])
    parser = _Tags()
    parser.feed(str(html))
    tags = [t for t, _ in parser.tags]
    assert tags.index("svg") < tags.index("table") and "img" not in tags
    assert not [a for _, a in parser.tags if "style" in a]
    assert "Impact by provision: the chart's data" in html
    assert '<th scope="row" class="govuk-table__header">Reading catch-up</th>' in html
    assert rendering.impact_chart([{"organisation": "Oakfield"}]) == ""  # no provision rows


def test_document_pages_show_names_not_codes():
    """The class map page and the trust's chart page, with the views they get, in the
    words of services/contracts/names.py (tests/unit/portal/test_names_on_pages.py)."""
    from datetime import date

    from tests.unit.portal.test_names_on_pages import BASE, leaked, visible_text

    entries = documents.class_map_entries(CLASS_MAP, PUPILS)
    view = {"title": "Provision map: class 4B", "organisation": "Oakfield Special School",
            "as_of": date(2026, 12, 2), "pupils": list(entries.values()),
            "totals": {"cost_to_date": "30.00", "cost_projected": "58.00"},
            "filters": {"registration_group": "4B"}}
    page = visible_text(web.render("provision_map.html", **{
        **BASE, "view": view, "downloads": [("/provision-map.pdf", "Download as PDF")]}))
    assert leaked(page) == []
    for expected in ("Amara Okafor", "K801200005701", "Year 4, 4B", "EHC Plan", "Reading catch-up (targeted)",
                     "2 sessions a week, 30 minutes each", "£30.00", "£58.00",
                     "Total for 1 pupils", "In EHC plan"):
        assert expected in page, expected
    rows = [{"area_of_need": a, "referrals": 2, "training_hours": 3.0, "under_trained": True}
            for a in ("communication_and_interaction", "sensory_and_physical")]
    chart = rendering.chart_markup(charts.referrals_against_training(rows))
    page = visible_text(web.render("need_training.html", **{
        **BASE, "terms": ["2026/27 autumn"], "rows": rows, "chart": chart}))
    assert leaked(page) == []
    assert "Referrals are rising with no more training in: Communication and interaction" in page
    target = {"id": "t1", "description": "Read 40 words", "outcomes": [
        {"reviewed_on": "2026-11-01", "level": code} for code in names.PROGRESS_NAMES]}
    text = visible_text(str(rendering.progress_chart(target)))
    assert leaked(text) == [] and "Met" in text

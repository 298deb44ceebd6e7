"""Each chart renders as SVG with an accessible title and description, and with the
data table a screen reader reads beside it; the same chart embeds in a PDF."""

import xml.etree.ElementTree as ET

from services.documents import charts, pdf
from tests.documents_check import contains, read_pdf

NS = "{http://www.w3.org/2000/svg}"


def check_svg(chart):
    root = ET.fromstring(chart.svg)
    assert root.tag == NS + "svg" and root.get("role") == "img"
    title, desc = root.find(NS + "title"), root.find(NS + "desc")
    assert title.text == chart.title and desc.text == chart.desc
    assert root.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
    texts = " ".join(t for t in root.itertext())
    return texts


def test_impact_by_provision():
    chart = charts.impact_by_provision([
        {"provision": "Reading catch-up", "share_met": "50.0", "cost_per_target_met": "60.00",
         "targets_met": 1, "targets_reviewed": 2},
        {"provision": "Zones of Regulation", "share_met": "0.0", "cost_per_target_met": None,
         "targets_met": 0, "targets_reviewed": 1}])
    texts = check_svg(chart)
    assert "Reading catch-up" in texts and "Targets met (%)" in texts
    assert chart.table["headers"] == ["Provision", "Targets met", "Targets reviewed",
                                      "Share met", "Cost per target met"]
    assert chart.table["rows"] == [["Reading catch-up", "1", "2", "50%", "£60.00"],
                                   ["Zones of Regulation", "0", "1", "0%", "No target met yet"]]
    assert "Highest share of targets met: Reading catch-up, 50%" in chart.desc


def test_progress_on_a_target_across_reviews():
    chart = charts.target_progress({
        "description": "Read 40 common exception words", "baseline_score": "12",
        "target_score": "40", "score_unit": "words", "outcomes": [
            {"reviewed_on": "2026-12-01", "level": "exceeded", "score": "41"},
            {"reviewed_on": "2026-10-01", "level": "working_towards", "score": "14"}]})
    check_svg(chart)
    assert chart.table["rows"] == [["1 October 2026", "Working towards", "14"],
                                   ["1 December 2026", "Exceeded", "41"]]
    assert chart.desc == "2 reviews. Latest, 1 December 2026: Exceeded, score 41."
    rated = charts.target_progress({"description": "Calm at lunch", "outcomes": [
        {"reviewed_on": "2026-10-01", "level": "working_towards"}]})
    texts = check_svg(rated)
    for name in ("Not yet started", "Working towards", "Partially met", "Met", "Exceeded"):
        assert name in texts  # the named levels (provision/domain.py) are the axis
    assert rated.table["rows"] == [["1 October 2026", "Working towards", ""]]


def test_cost_per_pupil_by_tier_against_the_budget():
    chart = charts.cost_per_pupil_by_tier(
        [{"tier": "targeted", "pupils": 2, "cost_projected": "100.00"},
         {"tier": "specialist", "pupils": 0, "cost_projected": "0"}],
        sen_budget="6000.00", pupils_on_register=20)
    texts = check_svg(chart)
    assert "Notional SEN budget per pupil" in texts
    assert chart.table["rows"] == [["Targeted", "2", "£100.00", "£50.00", "£300.00"],
                                   ["Specialist", "0", "£0.00", "", "£300.00"]]


def test_referrals_by_area_against_training_delivered():
    chart = charts.referrals_against_training([
        {"area_of_need": "communication_and_interaction", "referrals": 5, "training_hours": 3},
        {"area_of_need": "social_emotional_mental_health", "referrals": 2,
         "training_hours": 7.5}])
    check_svg(chart)
    assert chart.table["rows"] == [["Communication and interaction", "5", "3"],
                                   ["Social, emotional and mental health", "2", "7.5"]]


def test_an_empty_chart_still_renders_and_says_so():
    chart = charts.impact_by_provision([])
    assert "No data yet" in check_svg(chart) and chart.table["rows"] == []


def test_the_same_data_gives_the_same_svg():
    rows = [{"provision": "A", "share_met": "10", "cost_per_target_met": "5"}]
    assert charts.impact_by_provision(rows).svg == charts.impact_by_provision(rows).svg


def test_charts_embed_in_a_pdf_with_their_tables(pupil_map_view):
    pupil_map_view["charts"] = [charts.impact_by_provision([
        {"provision": "Reading catch-up", "share_met": "50.0", "cost_per_target_met": "60.00",
         "targets_met": 1, "targets_reviewed": 2}]).as_dict()]
    _, pages = read_pdf(pdf.provision_map_pdf(pupil_map_view))
    text = " ".join(pages)
    assert contains(text, "Reading catch-up 1 2 50% £60.00")
    assert contains(text, "Cost per target met (£)")  # the SVG's own text, searchable


def test_a_chart_for_a_page_under_the_portals_csp():
    """Inline in a page whose CSP allows no inline styles: no style attribute or <style>
    element is left, the colours and fonts are presentation attributes, the chart keeps
    its accessible name and scales to the page's width."""
    chart = charts.impact_by_provision([
        {"provision": "Reading catch-up", "share_met": "50.0", "cost_per_target_met": "60.00",
         "targets_met": 1, "targets_reviewed": 2}])
    assert 'style="' in chart.svg  # matplotlib's own output has them
    svg = chart.page_svg
    root = ET.fromstring(svg)
    assert not [e for e in root.iter() if e.get("style") is not None]
    assert root.find(f"{NS}defs/{NS}style") is None and "<style" not in svg
    assert root.get("role") == "img" and root.find(NS + "title").text == chart.title
    assert root.get("width") == "100%" and root.get("height") is None and root.get("viewBox")
    assert root.get("stroke-linejoin") == "round"
    fills = {e.get("fill") for e in root.iter()}
    assert charts.BLUE in fills and charts.GREEN in fills
    text = next(e for e in root.iter(NS + "text"))
    assert text.get("font-family") == "'DejaVu Sans'" and text.get("font-size")
    assert charts.for_page(chart.svg) == svg  # stable: the same data, the same markup

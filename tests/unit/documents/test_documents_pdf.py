"""Every PDF read back (pypdf) for its names, dates and totals, its metadata and
footers, and its first page rendered to PNG (pdftoppm)."""

from services.documents import charts, pdf
from tests.documents_check import check_footer, contains, first_page_png, read_pdf

PRINTED = "2026-05-03"


def test_passport_is_a_one_page_profile_with_title_language_and_footer(passport_view):
    data = pdf.passport_pdf(passport_view, generated_on=PRINTED)
    reader, pages = read_pdf(data)
    assert len(pages) == 1
    text = pages[0]
    for expected in ("Amara Okafor: pupil passport", "A123456789012", "Year 4, 4B",
                     "2 March 2017", "SEN Support", "Autistic Spectrum Disorder",  # contracts/names.py
                     "Speech, Language and Communication Needs", "My strengths",
                     "What helps me", "ear defenders in assembly", "In my own words",
                     "I want people to wait for me to finish talking.",
                     "published 10 January 2026"):
        assert contains(text, expected), expected
    assert reader.metadata.title == "Pupil passport: Amara Okafor"
    assert reader.trailer["/Root"]["/Lang"] == "en-GB"
    assert "/StructTreeRoot" in reader.trailer["/Root"]  # tagged (PDF/UA)
    check_footer(pages)
    first_page_png(data, "passport")


def test_text_from_a_record_is_text_not_markup(passport_view):
    passport_view["passport"]["about_me"] = '<img src="http://example.org/x.png"> & <b>me</b>'
    _, pages = read_pdf(pdf.passport_pdf(passport_view, generated_on=PRINTED))
    assert '<img src="http://example.org/x.png"> & <b>me</b>' in pages[0]


def test_outreach_report_has_observations_recommendations_and_hours(report_view):
    data = pdf.outreach_report_pdf(report_view, generated_on=PRINTED)
    reader, pages = read_pdf(data)
    text = " ".join(pages)
    for expected in ("Outreach report: REF-2026-0042", "Callum Price", "Elm Park Primary",
                     "Communication and interaction", "Visit on 3 November 2026 (1.5 hours)",
                     "Class teacher", "Parent or carer", "settled with a visual timetable",
                     "Use a now-and-next board.", "Staff training on autism",
                     "(training: Autism basics)", "Total for this referral 2.5",
                     "Hours bought 20.0", "Hours used 6.5", "Hours left 13.5",
                     "written 20 November 2026"):
        assert contains(text, expected), expected
    assert reader.metadata.title == "Outreach report: REF-2026-0042"
    check_footer(pages)
    first_page_png(data, "outreach_report")


def test_costed_provision_map_for_one_pupil(pupil_map_view):
    data = pdf.provision_map_pdf(pupil_map_view, generated_on=PRINTED)
    reader, pages = read_pdf(data)
    text = " ".join(pages)
    for expected in ("Costed provision map: Amara Okafor", "costs as of 20 November 2026",
                     "Reading catch-up", "Targeted", "2 sessions a week, 30 minutes each",
                     "Ms Reed (TA)", "2 November 2026", "27 November 2026",
                     "Reads 40 common exception words", "In EHC plan", "£420.50",
                     "Total for Amara Okafor £190.00 £480.50",
                     "Total cost to date £190.00; projected £480.50.",
                     "Assess, plan, do, review", "Phonics screen", "Due 11 December 2026",
                     "Read 40 common exception words", "Met"):
        assert contains(text, expected), expected
    assert reader.metadata.title == "Costed provision map: Amara Okafor"
    check_footer(pages)
    first_page_png(data, "provision_map_pupil")


def test_costed_provision_map_for_a_class_with_totals_and_a_chart(group_map_view):
    group_map_view["charts"] = [charts.cost_per_pupil_by_tier(
        [{"tier": "targeted", "pupils": 2, "cost_projected": "100.00"},
         {"tier": "universal", "pupils": 1, "cost_projected": "420.50"}],
        sen_budget="6000.00", pupils_on_register=20).as_dict()]
    data = pdf.provision_map_pdf(group_map_view, generated_on=PRINTED)
    reader, pages = read_pdf(data)
    text = " ".join(pages)
    assert reader.metadata.title == "Costed provision map: Year 4, class 4B"
    assert contains(text, "Total for 2 pupils £210.00 £520.50")
    assert contains(text, "Ben Hughes B123456789012 Year 4, 4B EHC Plan 1 £20.00 £40.00")
    assert contains(text, "Total for Ben Hughes £20.00 £40.00")
    assert len(pages) >= 3  # the summary, then a page for each pupil
    # The chart's data table, and its title in the picture (SVG text stays text).
    assert contains(text, "Targeted 2 £100.00 £50.00 £300.00")
    assert contains(text, "Cost per pupil by tier")
    check_footer(pages)
    first_page_png(data, "provision_map_class")


def test_ehc_plan_timeline_with_statutory_dates(ehc_view):
    data = pdf.ehc_timeline_pdf(ehc_view, generated_on=PRINTED)
    reader, pages = read_pdf(data)
    text = " ".join(pages)
    for expected in ("Ben Hughes: EHC plan timeline", "Request for assessment 5 January 2026",
                     "Decision whether to assess (6 weeks) 16 February 2026 13 February 2026 Done",
                     "Decision whether to issue a plan (16 weeks) 1 May 2026 Overdue",
                     "Final EHC plan (20 weeks) 1 June 2026 Due in 29 days",  # contracts/names.py
                     "School or college closed for at least 4 weeks 1 April 2026 8 April 2026"):
        assert contains(text, expected), expected
    assert reader.metadata.title == "EHC plan timeline: Ben Hughes"
    check_footer(pages)
    first_page_png(data, "ehc_timeline")


def test_a_page_includes_the_same_fragment_the_pdf_is_made_from(passport_view):
    html = pdf.fragment("passport", passport_view)
    assert "I want people to wait for me to finish talking." in html
    assert html in pdf.render_html("passport", passport_view)

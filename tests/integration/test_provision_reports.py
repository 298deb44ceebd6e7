"""The impact report the database counts (queries/impact.py) against the reference
arithmetic of domain.impact_report, on generated provision maps, on SQLite and
PostgreSQL; and its number of SQL statements does not grow with the data."""

from datetime import date

import pytest
from sqlalchemy import event

from bench.provision_report import AS_OF, build
from services.common.db import open_database
from services.provision import domain
from services.provision.models import Base
from services.provision.queries import costs, reports
from services.provision.queries.impact import impact, impact_rows


@pytest.fixture
def provision_db(database_urls, engine_name):
    return open_database("provision", Base.metadata, database_urls("provision", engine_name))


def rounded(rows):
    def r(value):
        return None if value is None else value.quantize(domain.Decimal("0.000001"))
    return [(row.key, row.pupils, row.targets, row.targets_reviewed, row.targets_met,
             r(row.share_met), r(row.average_progress), domain.money(row.cost),
             domain.money(row.cost_per_pupil), domain.money(row.cost_per_target_met))
            for row in rows]


@pytest.mark.parametrize("as_of", [AS_OF, date(2026, 10, 1)])
def test_database_counted_report_equals_the_reference_arithmetic(provision_db, as_of):
    build(provision_db, 240)
    with provision_db.session() as s:
        for group_by in ("trust", "org", "provision", "provision_org"):
            for filters in ({}, {"org_id": "school-03"}, {"catalogue_id": "entry-02"}):
                fast, _ = impact(s, as_of, group_by=group_by, **filters)
                report, _, latest = reports.load_report_data(s, as_of, **filters)
                reference = domain.impact_report(report, latest, group_by)
                assert rounded(fast) == rounded(reference), (group_by, filters)
                assert fast, (group_by, filters)


def test_report_issues_the_same_number_of_statements_whatever_the_size(database_urls):
    counts = []
    for n in (40, 400):
        db = open_database("provision", Base.metadata, database_urls("provision"))
        build(db, n)
        statements = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda *args, seen=statements: seen.append(args[2]))
        with db.session() as s:
            rows = impact_rows(s, AS_OF, group_by="provision_org")
        counts.append(len(statements))
        assert rows and sum(r["pupils"] for r in rows) >= n
    assert counts[0] == counts[1] <= 8


def money_figures(figures):
    def m(cost):
        return domain.money(cost.to_date), domain.money(cost.projected)
    return ({group: {k: m(c) for k, c in figures[group].items()}
             for group in ("per_provision", "per_tier", "per_org")},
            m(figures["total"]), domain.money(figures["remaining"]))


@pytest.mark.parametrize("as_of", [AS_OF, date(2026, 10, 1), date(2027, 2, 1)])
def test_cost_summary_equals_the_pupil_by_pupil_arithmetic(provision_db, as_of):
    build(provision_db, 240)
    with provision_db.session() as s:
        for org_id in (None, "school-03"):
            fast, fast_entries, budget = costs.summary(s, as_of, org_id)
            reference, entries, ref_budget = costs.per_pupil_summary(s, as_of, org_id)
            assert money_figures(fast) == money_figures(reference), org_id
            assert fast["per_provision"] and budget == ref_budget
            assert {k: fast_entries[k] for k in entries} == entries


def test_cost_summary_issues_the_same_number_of_statements_whatever_the_size(database_urls):
    counts = []
    for n in (40, 400):
        db = open_database("provision", Base.metadata, database_urls("provision"))
        build(db, n)
        statements = []
        event.listen(db.engine, "before_cursor_execute",
                     lambda *args, seen=statements: seen.append(args[2]))
        with db.session() as s:
            figures, _, _ = costs.summary(s, AS_OF)
        counts.append(len(statements))
        assert figures["total"].projected > 0
    assert counts[0] == counts[1] <= 7

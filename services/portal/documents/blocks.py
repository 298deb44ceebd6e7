"""Charts on the portal's pages: the SVG inline (no external request, nothing the CSP
refuses) with its data table beside it, from the data the page already has or, for the
costs page, a few more reads."""

from markupsafe import Markup

from services.documents import charts

from .. import web
from .gather import MAX_ROWS, ON_REGISTER

# -- charts: inline SVG with the data table beside it -----------------------------------

def chart_markup(chart):
    """A chart for a page: its SVG inline (no external request, nothing the CSP
    refuses) and its data table, for screen readers and for anyone who prefers one."""
    return Markup(web.render("_chart.html", chart=chart))


def progress(target):
    return charts.target_progress(target)


def progress_chart(target):
    """The pupil's progress on one target across reviews (the pupil's provision)."""
    return chart_markup(progress(target))


def impact_chart(rows):
    """Share of targets met and cost per target met, by provision (the impact page)."""
    rows = [r for r in rows or () if r.get("provision")]
    return chart_markup(charts.impact_by_provision(rows)) if rows else Markup("")


def cost_chart(api, costs):
    """Cost per pupil by tier against the notional SEN budget per pupil on the SEN
    register (the costs page). Pupils per tier: those any assignment of the tier names."""
    per_tier = {}
    offset = 0
    while offset < MAX_ROWS:
        page = api.get("provision", "/api/v1/provision/assignments", limit=500, offset=offset)
        for a in page:
            per_tier.setdefault(a.get("tier"), set()).update(
                m["pupil_id"] for m in a.get("members") or ())
        offset += len(page)
        if len(page) < 500:
            break
    rows = [{"tier": r["key"], "pupils": len(per_tier.get(r["key"], ())),
             "cost_projected": r.get("cost_projected")} for r in costs.get("per_tier") or ()]
    on_register = sum(
        (api.try_get("pupils", "/api/v1/pupils", {}, limit=1, sen_status=s) or {}).get("total", 0)
        for s in ON_REGISTER)
    return chart_markup(charts.cost_per_pupil_by_tier(rows, costs.get("sen_budget"), on_register))


def need_against_training(api):
    """Referrals by area of need against training delivered, over the CPD service's
    terms (its trust-wide need trend): the rows and the chart."""
    trend = api.get("cpd", "/api/v1/cpd/reports/need-trend")
    rows = [{"area_of_need": a["area_of_need"],
             "referrals": sum(t.get("referrals") or 0 for t in a.get("terms") or ()),
             "training_hours": round(sum(t.get("cpd_hours") or 0 for t in a.get("terms") or ()), 2),
             "places": sum(t.get("places_attended") or 0 for t in a.get("terms") or ()),
             "rising": a.get("rising"), "under_trained": a.get("under_trained")}
            for a in trend.get("areas") or ()]
    return {"terms": trend.get("terms") or [], "rows": rows,
            "chart": chart_markup(charts.referrals_against_training(rows))}

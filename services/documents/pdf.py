"""HTML to PDF with WeasyPrint: one way for every PDF the platform makes.

Each document is a Jinja2 partial in `templates/` (`_passport.html`, ...) that takes a
plain view-model dict, the same dict the portal's page renders (a page includes the
partial with `fragment(kind, view)` or its own loader over `TEMPLATES`). `render_pdf`
wraps the partial in `document.html`: print CSS of our own (GOV.UK-like, not the whole
frontend), `lang="en-GB"` and the title in the PDF's metadata, "OFFICIAL-SENSITIVE" at
the top and bottom of every page, the date printed and "Page N of M".

Nothing is fetched while rendering: only `data:` URLs (the charts) are allowed.
"""

import base64
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup

from .labels import label, year_label

TEMPLATES = Path(__file__).parent / "templates"
ENGLAND = ZoneInfo("Europe/London")
MARKING = "OFFICIAL-SENSITIVE"

KINDS = {
    "passport": ("_passport.html", "Pupil passport"),
    "outreach_report": ("_outreach_report.html", "Outreach report"),
    "provision_map": ("_provision_map.html", "Costed provision map"),
    "ehc_timeline": ("_ehc_timeline.html", "EHC plan timeline"),
}


# -- filters shared by the templates (and by sheets/charts where they need them) ------

def as_date(value):
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.astimezone(ENGLAND).date() if value.tzinfo else value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def long_date(value):
    """'3 November 2026' (GOV.UK style); '' for no date."""
    d = as_date(value)
    return "" if d is None else f"{d.day} {d:%B %Y}"


def as_decimal(value):
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def money(value):
    """'£1,234.50'; '' for no amount."""
    d = as_decimal(value)
    if d is None:
        return ""
    sign = "-" if d < 0 else ""
    return f"{sign}£{abs(d):,.2f}"


def sum_of(rows, key):
    total = Decimal("0")
    for row in rows or ():
        d = as_decimal(row.get(key))
        if d is not None:
            total += d
    return total


def hours(minutes):
    if minutes is None:
        return ""
    h = Decimal(minutes) / 60
    return f"{h.quantize(Decimal('0.01')).normalize():f}"


def frequency(row):
    """'2 sessions a week, 30 minutes each' from a provision row."""
    if row.get("frequency"):
        return row["frequency"]
    per_week = as_decimal(row.get("sessions_per_week"))
    if per_week is None:
        return ""
    n = f"{per_week.normalize():f}"
    text = f"{n} session{'' if per_week == 1 else 's'} a week"
    if row.get("session_minutes"):
        text += f", {row['session_minutes']} minutes each"
    return text


def css_string(value):
    """A CSS string literal, safe inside <style> (no quote or '<' left raw)."""
    text = str(value).replace("\\", "\\\\").replace('"', '\\"').replace("<", "\\3C ")
    return Markup('"' + text + '"')


def svg_data_url(svg):
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")


def _env():
    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(("html", "svg")),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters.update(long_date=long_date, money=money, label=label, year=year_label,
                       hours=hours, frequency=frequency, css_string=css_string,
                       sum_of=sum_of)
    env.globals.update(label=label, MARKING=MARKING, svg_data_url=svg_data_url)
    return env


ENV = _env()


# -- EHC plan steps: status of each statutory date (the page and the PDF agree) -------

def ehc_steps(plan, today):
    """[{step, name, due, done_on, status}] in statutory order, from an EHC plan view
    (EhcPlanSchema's shape: `deadlines` {step: {due, done_on}})."""
    today = as_date(today)
    out = []
    for step, d in (plan.get("deadlines") or {}).items():
        due, done = as_date(d.get("due")), as_date(d.get("done_on"))
        if done is not None:
            status = "Done" if due is None or done <= due else "Done late"
        elif due is None:
            status = "Paused"
        elif due < today:
            status = "Overdue"
        else:
            days = (due - today).days
            status = "Due today" if days == 0 else f"Due in {days} day{'s' if days != 1 else ''}"
        out.append({"step": step, "name": label("ehc_step", step), "due": due,
                    "done_on": done, "status": status})
    return out


def provision_totals(pupils):
    """Cost to date and projected over every pupil's provision rows (each row is that
    pupil's share of a group's cost, so the sum is the group's cost)."""
    rows = [r for entry in pupils for r in entry.get("provisions") or ()]
    return {"cost_to_date": sum_of(rows, "cost_to_date"),
            "cost_projected": sum_of(rows, "cost_projected")}


# -- rendering --------------------------------------------------------------------------

def _context(kind, view, generated_on):
    template, default_title = KINDS[kind]
    generated_on = as_date(generated_on) or datetime.now(ENGLAND).date()
    ctx = dict(view)
    if "title" not in ctx:
        who = ((view.get("pupil") or {}).get("name")
               or (view.get("referral") or {}).get("reference") or view.get("scope_label"))
        if not who and len(view.get("pupils") or ()) == 1:
            who = view["pupils"][0]["pupil"].get("name")
        ctx["title"] = f"{default_title}: {who}" if who else default_title
    ctx.update(kind=kind, body_template=template, generated_on=generated_on)
    if kind == "ehc_timeline":
        ctx["steps"] = ehc_steps(view["plan"], view.get("today") or generated_on)
    if kind == "provision_map":
        ctx.setdefault("totals", provision_totals(view["pupils"]))
    return ctx


def fragment(kind, view, *, generated_on=None):
    """The document's body as HTML, for a page to include."""
    ctx = _context(kind, view, generated_on)
    return Markup(ENV.get_template(ctx["body_template"]).render(ctx))


def render_html(kind, view, *, generated_on=None):
    """The whole printable HTML document (what the PDF is made from)."""
    return ENV.get_template("document.html").render(_context(kind, view, generated_on))


def render_pdf(kind, view, *, generated_on=None):
    """PDF bytes of document `kind` (see KINDS) from its view-model dict."""
    import weasyprint  # heavy: loaded on the first PDF, not when a service starts

    html = render_html(kind, view, generated_on=generated_on)
    fetcher = weasyprint.URLFetcher(allowed_protocols={"data"})
    doc = weasyprint.HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fetcher)
    return doc.write_pdf(pdf_variant="pdf/ua-1", uncompressed_pdf=False)


def passport_pdf(view, **kw):
    return render_pdf("passport", view, **kw)


def outreach_report_pdf(view, **kw):
    return render_pdf("outreach_report", view, **kw)


def provision_map_pdf(view, **kw):
    return render_pdf("provision_map", view, **kw)


def ehc_timeline_pdf(view, **kw):
    return render_pdf("ehc_timeline", view, **kw)

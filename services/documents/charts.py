"""Charts rendered on the server as SVG (matplotlib, Agg backend, its own bundled
DejaVu fonts: nothing is downloaded), each with the data table a screen reader reads.

Every function returns a Chart: `svg` (text, with <title> and <desc> and
role="img"), `title`, `desc`, and `table` ({caption, headers, rows} of strings) that
the page or PDF renders as an HTML <table> beside the picture (`_chart.html`).
"""

import hashlib
import io
import re
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

from .labels import LEVELS, label
from .pdf import as_decimal, long_date, money

BLUE, GREEN, RED, GREY, BLACK = "#1d70b8", "#00703c", "#d4351c", "#b1b4b6", "#0b0c0c"
_RC = {
    "svg.fonttype": "none",      # text stays text: searchable, and no fonts embedded
    "svg.hashsalt": "sen-trust",  # stable ids, so the same data gives the same SVG
    "font.family": "DejaVu Sans",
    "font.size": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_Figure = None


def _matplotlib_figure():
    """matplotlib's Figure, loaded on the first chart (~40 MB: not at a service's start)."""
    global _Figure
    if _Figure is None:
        import matplotlib
        matplotlib.use("Agg")
        matplotlib.rcParams.update(_RC)
        from matplotlib.figure import Figure
        _Figure = Figure
    return _Figure


@dataclass
class Chart:
    title: str
    desc: str
    svg: str
    table: dict = field(default_factory=dict)

    def as_dict(self):
        return {"title": self.title, "desc": self.desc, "svg": self.svg, "table": self.table}

    @property
    def page_svg(self):
        """The SVG to inline in a page under a strict CSP (`for_page`)."""
        return for_page(self.svg)


# SVG presentation attributes: what a style="..." of matplotlib's may become.
_PRESENTATION = frozenset((
    "fill", "fill-opacity", "fill-rule", "stroke", "stroke-width", "stroke-linejoin",
    "stroke-linecap", "stroke-dasharray", "stroke-dashoffset", "stroke-miterlimit",
    "stroke-opacity", "opacity", "font-size", "font-family", "font-weight", "font-style",
    "text-anchor", "dominant-baseline", "clip-path", "visibility"))


def _style_to_attributes(match):
    attrs = []
    for part in match.group(1).split(";"):
        name, _, value = part.partition(":")
        name, value = name.strip(), value.strip()
        if name in _PRESENTATION and value:
            attrs.append(f'{name}="{value.replace(chr(34), "&quot;")}"')
    return " ".join(attrs)


def for_page(svg):
    """The chart's SVG for inlining in an HTML page whose CSP allows no inline styles
    (style-src 'self'): matplotlib's style="..." attributes become SVG presentation
    attributes (which a CSP does not govern), its <style> block becomes attributes on
    the root, and the fixed size gives way to the page's width (the viewBox keeps
    the shape)."""
    svg = re.sub(r"<defs>\s*<style[^>]*>.*?</style>\s*</defs>", "", svg, count=1, flags=re.S)
    svg = re.sub(r'style="([^"]*)"', _style_to_attributes, svg)
    head_end = svg.index(">")
    head = re.sub(r'\s(width|height)="[^"]*"', "", svg[:head_end], count=2)
    return (head + ' width="100%" stroke-linejoin="round" stroke-linecap="butt"'
            + svg[head_end:])


def _svg(fig, title, desc):
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and DOCTYPE: inline-ready
    svg = re.sub(r"<metadata>.*?</metadata>", "", svg, count=1, flags=re.S)
    ident = "chart-" + hashlib.sha1((title + desc).encode("utf-8")).hexdigest()[:10]
    head_end = svg.index(">") + 1
    head = svg[:head_end].replace(
        "<svg ", f'<svg role="img" aria-labelledby="{ident}-title {ident}-desc" ', 1)
    return (head + f'<title id="{ident}-title">{escape(title)}</title>'
            f'<desc id="{ident}-desc">{escape(desc)}</desc>' + svg[head_end:])


def _figure(width=7.0, height=3.6):
    return _matplotlib_figure()(figsize=(width, height), dpi=96, layout="constrained")


def _num(value):
    d = as_decimal(value)
    return None if d is None else float(d)


def _pct_text(value):
    d = as_decimal(value)
    return "" if d is None else f"{d.normalize():f}%"


def _empty(ax, text="No data yet"):
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color=BLACK)
    ax.set_xticks([])
    ax.set_yticks([])


def impact_by_provision(rows):
    """Share of targets met and cost per target met, by provision, from impact report
    rows (provision, share_met, cost_per_target_met, targets_met, targets_reviewed)."""
    rows = [r for r in rows if r.get("provision")]
    title = "Impact by provision"
    names = [r["provision"] for r in rows]
    shares = [_num(r.get("share_met")) or 0.0 for r in rows]
    costs = [_num(r.get("cost_per_target_met")) for r in rows]
    fig = _figure(height=max(2.4, 0.55 * len(rows) + 1.4))
    left, right = fig.subplots(1, 2, sharey=True)
    if rows:
        y = range(len(rows))
        left.barh(y, shares, color=BLUE)
        left.set_yticks(list(y), names)
        left.invert_yaxis()
        left.set_xlim(0, 100)
        left.set_xlabel("Targets met (%)")
        right.barh(y, [c or 0.0 for c in costs], color=GREEN)
        right.set_xlabel("Cost per target met (£)")
        for i, c in enumerate(costs):
            if c is None:
                right.text(0, i, " no target met yet", va="center", fontsize=8)
    else:
        _empty(left)
        _empty(right)
    best = max(rows, key=lambda r: _num(r.get("share_met")) or 0.0, default=None)
    desc = (f"{len(rows)} provisions. " + (
        f"Highest share of targets met: {best['provision']}, {_pct_text(best.get('share_met'))}."
        if best and best.get("share_met") is not None else "No targets reviewed yet."))
    table = {"caption": title, "headers": ["Provision", "Targets met", "Targets reviewed",
                                           "Share met", "Cost per target met"],
             "rows": [[r["provision"], str(r.get("targets_met") or 0),
                       str(r.get("targets_reviewed") or 0), _pct_text(r.get("share_met")),
                       money(r.get("cost_per_target_met")) or "No target met yet"]
                      for r in rows]}
    return Chart(title, desc, _svg(fig, title, desc), table)


def target_progress(target):
    """A pupil's progress on one target across reviews: scores when the target has
    them (with the baseline and the target score as lines), else the named level of
    each review (not yet started … exceeded, the API's `level`)."""
    outcomes = sorted(target.get("outcomes") or [], key=lambda o: str(o.get("reviewed_on")))
    title = f"Progress on target: {target.get('description', '')}"[:120]
    scored = target.get("baseline_score") is not None and any(
        o.get("score") is not None for o in outcomes)
    fig = _figure(height=3.2)
    ax = fig.subplots()
    dates = [long_date(o.get("reviewed_on")) for o in outcomes]
    if not outcomes:
        _empty(ax, "Not yet reviewed")
        values = []
    elif scored:
        values = [_num(o.get("score")) for o in outcomes]
        ax.plot(range(len(values)), values, marker="o", color=BLUE, label="Score")
        ax.axhline(_num(target["baseline_score"]), color=GREY, linestyle="--", label="Baseline")
        if target.get("target_score") is not None:
            ax.axhline(_num(target["target_score"]), color=GREEN, linestyle=":", label="Target")
        ax.set_ylabel(target.get("score_unit") or "Score")
        ax.legend(loc="best", fontsize=8)
    else:
        values = [LEVELS.index(o["level"]) if o.get("level") in LEVELS else None
                  for o in outcomes]
        ax.plot(range(len(values)), values, marker="o", color=BLUE)
        ax.set_yticks(range(len(LEVELS)), [label("progress", p) for p in LEVELS])
        ax.set_ylim(-0.5, len(LEVELS) - 0.5)
    if outcomes:
        ax.set_xticks(range(len(dates)), dates, rotation=20, ha="right", fontsize=8)
    last = outcomes[-1] if outcomes else None
    desc = (f"{len(outcomes)} reviews. " + (
        f"Latest, {long_date(last.get('reviewed_on'))}: {label('progress', last.get('level'))}"
        + (f", score {last['score']}" if last.get("score") is not None else "") + "."
        if last else "Not yet reviewed."))
    table = {"caption": title, "headers": ["Review date", "Progress", "Score"],
             "rows": [[long_date(o.get("reviewed_on")), label("progress", o.get("level")),
                       "" if o.get("score") is None else str(o["score"])] for o in outcomes]}
    return Chart(title, desc, _svg(fig, title, desc), table)


def cost_per_pupil_by_tier(rows, sen_budget=None, pupils_on_register=None):
    """Cost per pupil by tier (rows: tier, pupils, cost_projected) against the notional
    SEN budget per pupil on the register (a line), when the budget is known."""
    title = "Cost per pupil by tier"
    tiers, per_pupil = [], []
    for r in rows:
        n = int(r.get("pupils") or 0)
        cost = as_decimal(r.get("cost_projected")) or Decimal(0)
        tiers.append(label("tier", r.get("tier") or r.get("key")))
        per_pupil.append((cost / n).quantize(Decimal("0.01")) if n else None)
    budget_each = None
    if sen_budget is not None and pupils_on_register:
        budget_each = (as_decimal(sen_budget) / int(pupils_on_register)).quantize(Decimal("0.01"))
    fig = _figure(height=3.2)
    ax = fig.subplots()
    if tiers:
        ax.bar(tiers, [float(v or 0) for v in per_pupil], color=BLUE, label="Projected cost per pupil")
        if budget_each is not None:
            ax.axhline(float(budget_each), color=RED, linestyle="--",
                       label="Notional SEN budget per pupil")
        ax.set_ylabel("£ per pupil")
        ax.legend(loc="best", fontsize=8)
    else:
        _empty(ax)
    desc = "; ".join(f"{t}: {money(v) or 'no pupils'}" for t, v in zip(tiers, per_pupil, strict=True))
    desc = (desc + "." if desc else "No provision costed yet.") + (
        f" Notional SEN budget per pupil: {money(budget_each)}." if budget_each is not None else "")
    table = {"caption": title, "headers": ["Tier", "Pupils", "Projected cost",
                                           "Cost per pupil", "Budget per pupil"],
             "rows": [[t, str(int(r.get("pupils") or 0)), money(r.get("cost_projected")),
                       money(v), money(budget_each)]
                      for t, r, v in zip(tiers, rows, per_pupil, strict=True)]}
    return Chart(title, desc, _svg(fig, title, desc), table)


def referrals_against_training(rows):
    """Referrals by area of need against training delivered (rows: area_of_need,
    referrals, training_hours or places), side by side."""
    title = "Referrals by area of need against training delivered"
    areas = [label("area_of_need", r.get("area_of_need")) for r in rows]
    refs = [int(r.get("referrals") or 0) for r in rows]
    trained = [_num(r.get("training_hours")) or 0.0 for r in rows]
    fig = _figure(height=3.4)
    ax = fig.subplots()
    if rows:
        x = list(range(len(rows)))
        ax.bar([i - 0.2 for i in x], refs, width=0.4, color=BLUE, label="Referrals")
        ax.bar([i + 0.2 for i in x], trained, width=0.4, color=GREEN,
               label="Training delivered (hours)")
        ax.set_xticks(x, [a.replace(" and ", "\nand ") for a in areas], fontsize=8)
        ax.legend(loc="best", fontsize=8)
    else:
        _empty(ax)
    desc = "; ".join(f"{a}: {n} referrals, {t:g} training hours"
                     for a, n, t in zip(areas, refs, trained, strict=True))
    desc = desc + "." if desc else "No referrals or training yet."
    table = {"caption": title, "headers": ["Area of need", "Referrals", "Training hours"],
             "rows": [[a, str(n), f"{t:g}"] for a, n, t in zip(areas, refs, trained, strict=True)]}
    return Chart(title, desc, _svg(fig, title, desc), table)

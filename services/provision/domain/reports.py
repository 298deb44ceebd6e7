"""Cost summaries and impact reports from assignments' costs and targets' progress."""

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal

from services.common.csvexport import dict_csv_text

from .codes import ZERO
from .costs import PupilCost
from .reviews import is_met

# -- cost summaries and impact reports --------------------------------------------

@dataclass
class ReportAssignment:
    """One assignment as reports see it."""

    assignment_id: str
    org_id: str
    catalogue_id: str
    tier: str
    costs: dict          # {pupil_id: PupilCost}
    target_ids: set      # targets it serves


def costs_by(per_pupil, group_of):
    """Pupils' costs summed by a grouping of pupils (e.g. their class): {group: cost}."""
    out = {}
    for pupil_id, cost in per_pupil.items():
        key = group_of.get(pupil_id)
        out[key] = out.get(key, PupilCost()) + cost
    return out


def cost_summary(assignments, budget=None):
    """Costs per pupil, provision, tier and organisation, and in total, against a budget."""
    # sums as [to_date, projected] lists, made PupilCost once at the end
    per_pupil, per_provision, per_tier, per_org = ({} for _ in range(4))
    total = [ZERO, ZERO]

    def add(sums, key, to_date, projected):
        s = sums.get(key)
        if s is None:
            sums[key] = [to_date, projected]
        else:
            s[0] += to_date
            s[1] += projected

    for a in assignments:
        a_to_date = a_projected = ZERO
        for pupil_id, cost in a.costs.items():
            add(per_pupil, pupil_id, cost.to_date, cost.projected)
            a_to_date += cost.to_date
            a_projected += cost.projected
        add(per_provision, a.catalogue_id, a_to_date, a_projected)
        add(per_tier, a.tier, a_to_date, a_projected)
        add(per_org, a.org_id, a_to_date, a_projected)
        total[0] += a_to_date
        total[1] += a_projected

    def costs(sums):
        return {k: PupilCost(to_date, projected) for k, (to_date, projected) in sums.items()}

    total = PupilCost(*total)
    remaining = None if budget is None else Decimal(budget) - total.projected
    return {"per_pupil": costs(per_pupil), "per_provision": costs(per_provision),
            "per_tier": costs(per_tier), "per_org": costs(per_org), "total": total,
            "budget": budget,
            "remaining": remaining}


def cost_totals(totals, budget=None):
    """cost_summary's figures but per pupil, from the cost of each (catalogue entry,
    organisation, tier): {(catalogue_id, org_id, tier): PupilCost}."""
    per_provision, per_tier, per_org = {}, {}, {}
    total = PupilCost()
    for (catalogue_id, org_id, tier), cost in totals.items():
        for sums, key in ((per_provision, catalogue_id), (per_tier, tier), (per_org, org_id)):
            sums[key] = sums.get(key, PupilCost()) + cost
        total += cost
    remaining = None if budget is None else Decimal(budget) - total.projected
    return {"per_provision": per_provision, "per_tier": per_tier, "per_org": per_org,
            "total": total, "budget": budget, "remaining": remaining}


@dataclass
class ImpactRow:
    key: tuple
    pupils: int = 0
    targets: int = 0
    targets_reviewed: int = 0
    targets_met: int = 0
    share_met: Decimal | None = None
    average_progress: Decimal | None = None
    cost: Decimal = ZERO
    cost_per_pupil: Decimal | None = None
    cost_per_target_met: Decimal | None = None


GROUPINGS = {
    "provision": lambda a: (a.catalogue_id,),
    "provision_org": lambda a: (a.catalogue_id, a.org_id),
    "org": lambda a: (a.org_id,),
    "trust": lambda a: (),
}


def impact_report(assignments, latest_progress, group_by="provision"):
    """Impact per group: share of targets met or exceeded (of those reviewed), average
    latest progress, cost to date, cost per pupil and per target met.

    `latest_progress` maps target_id → the latest review's level rank (0 not yet started …
    4 exceeded, LEVELS); average progress is the average rank; a target
    not in it has not been reviewed. A target served by several provisions counts once
    in each of their rows, and once in an organisation's or the trust's row."""
    key_of = GROUPINGS[group_by]
    pupils, targets, cost = defaultdict(set), defaultdict(set), defaultdict(lambda: ZERO)
    for a in assignments:
        key = key_of(a)
        pupils[key].update(a.costs)
        targets[key].update(a.target_ids)
        cost[key] += sum((c.to_date for c in a.costs.values()), ZERO)
    rows = []
    for key in sorted(pupils):
        reviewed = [latest_progress[t] for t in targets[key] if t in latest_progress]
        rows.append(impact_row(key, pupils=len(pupils[key]), targets=len(targets[key]),
                               reviewed=len(reviewed), met=sum(1 for p in reviewed if is_met(p)),
                               progress_sum=sum(reviewed), cost=cost[key]))
    return rows


def impact_row(key, *, pupils, targets, reviewed, met, progress_sum, cost):
    """The figures of one row of an impact report from its counts and cost."""
    row = ImpactRow(key=key, pupils=pupils, targets=targets, targets_reviewed=reviewed,
                    targets_met=met, cost=cost)
    if reviewed:
        row.share_met = Decimal(met) / reviewed
        row.average_progress = Decimal(progress_sum) / reviewed
    if pupils:
        row.cost_per_pupil = cost / pupils
    if met:
        row.cost_per_target_met = cost / met
    return row


def to_csv(rows, columns):
    """CSV text of dict rows (one header line, then a line per row), every cell through
    the kit's formula-safe writer."""
    return dict_csv_text(columns, rows)

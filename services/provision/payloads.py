"""The data of every event the provision service emits (the catalogue's schemas in
services/contracts/events/provision.py say what each carries): identifiers, codes
and dates, never a pupil's name or free text about a child."""


def assigned(assignment, entry, pupil_ids, target_ids):
    """provision.assigned"""
    return {"assignment_id": assignment.id, "org_id": assignment.org_id,
            "catalogue_id": entry.id, "pupil_ids": list(pupil_ids), "tier": entry.tier,
            "area_of_need": entry.area_of_need, "start_date": assignment.start_date,
            "end_date": assignment.end_date, "sessions_per_week": assignment.sessions_per_week,
            "statutory": assignment.statutory, "target_ids": list(target_ids)}


def ended(assignment, pupil_ids):
    """provision.ended"""
    return {"assignment_id": assignment.id, "org_id": assignment.org_id,
            "pupil_ids": sorted(pupil_ids), "ended_on": assignment.ended_on,
            "reason": assignment.end_reason, "statutory": assignment.statutory,
            "review_cycle_id": assignment.review_cycle_id}


def outcome_recorded(outcome, target, legacy_progress, met):
    """outcome.recorded (`progress`: the old -2..2 scale, for consumers that read it)"""
    return {"outcome_id": outcome.id, "target_id": target.id, "pupil_id": target.pupil_id,
            "org_id": target.org_id, "cycle_id": outcome.cycle_id,
            "reviewed_on": outcome.reviewed_on, "progress": legacy_progress,
            "level": outcome.level, "met": met}


def cycle_opened(cycle):
    """apdr_cycle.opened"""
    return {"cycle_id": cycle.id, "pupil_id": cycle.pupil_id, "org_id": cycle.org_id,
            "number": cycle.number, "started_on": cycle.started_on,
            "review_date": cycle.review_date}


def cycle_reviewed(cycle, targets_reviewed, targets_met):
    """apdr_cycle.reviewed"""
    return {"cycle_id": cycle.id, "pupil_id": cycle.pupil_id, "org_id": cycle.org_id,
            "number": cycle.number, "reviewed_on": cycle.reviewed_on,
            "targets_reviewed": targets_reviewed, "targets_met": targets_met}


def review_due(cycle, overdue):
    """provision.review_due"""
    return {"cycle_id": cycle.id, "pupil_id": cycle.pupil_id, "org_id": cycle.org_id,
            "review_date": cycle.review_date, "overdue": overdue}

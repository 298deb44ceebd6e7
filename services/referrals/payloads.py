"""The data of every event the referrals service emits: the only place that shapes
them (services/contracts/events/referrals.py holds their schemas).

Every referral event names the referral, its reference, the school, the referring
contact and its `sequence`: strictly increasing per referral (the referral's own
count of events, set in the transaction that emits the event), so notify can send
the messages about one referral in the order their events happened. No pupil's
name, date of birth or free text about the child travels in an event.
"""


def base(referral):
    return {
        "referral_id": referral.id,
        "reference": referral.reference,
        "school_org_id": referral.school_org_id,
        "contact": {"name": referral.contact_name, "email": referral.contact_email},
        # None only for a referral object that never was a row (a rule's unit test)
        "sequence": getattr(referral, "event_sequence", None),
    }


def submitted(referral, resubmission=False):
    """`referral.submitted`: identifiers and the referrer's contact only."""
    return {**base(referral), "areas_of_need": list(referral.areas_of_need),
            "submitted_at": referral.submitted_at.isoformat(), "resubmission": resubmission}


def info_requested(referral):
    return base(referral)


def accepted(referral):
    """`referral.accepted`: what the pupils service needs to link the pupil (the UPN)."""
    return {**base(referral), "pupil_upn": referral.pupil_upn, "waiting": referral.waiting,
            "areas_of_need": list(referral.areas_of_need or []),
            "need_types": list(referral.need_types or []),
            "agreement_id": referral.agreement_id}


def declined(referral):
    return {**base(referral), "reason": referral.decline_reason}


def allocated(referral):
    return {**base(referral), "practitioner": {
        "sub": referral.practitioner_sub, "name": referral.practitioner_name,
        "email": referral.practitioner_email}}


def visit_logged(referral, visit):
    return {**base(referral), "visit_id": visit.id,
            "visit_date": visit.visit_date.isoformat(), "minutes": visit.minutes}


def report_issued(referral):
    return {**base(referral), "report_id": referral.report_id}


def closed(referral):
    recs = referral.recommendations or []
    return {**base(referral), "outcome": referral.outcome,
            "areas_of_need": list(referral.areas_of_need or []),
            "recommended_course_ids": [r["course_id"] for r in recs if r.get("course_id")],
            "recommended_provision": [r["provision"] for r in recs if r.get("provision")]}


def withdrawn(referral):
    return base(referral)


def overdue(referral, breach):
    return {**base(referral), "clock": str(breach.clock),
            "due_date": breach.due_date.isoformat()}


def place_granted(referral):
    return {**base(referral), "agreement_id": referral.agreement_id}

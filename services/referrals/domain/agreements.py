"""What a service-level agreement decides: the triage criteria, the hours ledger
(minutes bought, used, left, overrides) and the cap on places."""

from dataclasses import dataclass

from services.common import errors
from services.contracts.roles import Role

# -- triage criteria ----------------------------------------------------------------

@dataclass(frozen=True)
class Criterion:
    name: str
    met: bool
    detail: str


def triage(referral, agreement):
    """Check a referral against its agreement's acceptance criteria."""
    if agreement is None:
        return [Criterion("agreement", False,
                          "The school has no service-level agreement for this term")]
    cycles = referral.graduated_approach or []
    complete = [c for c in cycles if c.get("reviewed_on") and c.get("outcome")]
    out = [Criterion("agreement", True, "An agreement covers this term"),
           Criterion("graduated_approach_cycles", len(complete) >= agreement.min_cycles,
                     f"{len(complete)} reviewed assess-plan-do-review cycle(s); "
                     f"at least {agreement.min_cycles} required")]
    if agreement.consent_required:
        out.append(Criterion("parental_consent", bool(referral.consent_given),
                             "Parental consent is recorded" if referral.consent_given
                             else "Parental consent is missing"))
    if agreement.upn_required:
        out.append(Criterion("pupil_upn", bool(referral.pupil_upn),
                             "A UPN is given" if referral.pupil_upn else "A UPN is required"))
    return out


def unmet(criteria):
    return {c.name: [c.detail] for c in criteria if not c.met}


# -- hours ledger and capacity -----------------------------------------------------

def minutes_left(minutes_bought, minutes_used):
    return minutes_bought - minutes_used


def check_visit_minutes(minutes, minutes_bought, minutes_used, override, roles):
    """Whether a visit may be logged; returns True when it needs (and has) an override.
    Beyond the hours left: errors.Conflict (409) without the override, errors.NotAllowed
    (403) for an override by anyone but a trust_admin."""
    left = minutes_left(minutes_bought, minutes_used)
    if minutes <= left:
        return False
    if not override:
        raise errors.Conflict(f"The agreement has {max(left, 0)} minutes left; logging "
                              f"{minutes} needs a trust_admin override",
                              errors={"minutes": ["Exceeds the hours left on the agreement"]})
    if Role.TRUST_ADMIN not in set(roles):
        raise errors.NotAllowed("Only a trust_admin may log beyond the hours bought")
    return True


def hours(minutes):
    """Minutes as hours, to two places (what agreements and statements show)."""
    return round(minutes / 60, 2)


def has_place(capacity, places_held):
    """Whether one more referral can hold a place (capacity None = no cap)."""
    return capacity is None or places_held < capacity


def places_to_grant(capacity, places_held, waiting_count):
    """How many waiting referrals get a place now."""
    if capacity is None:
        return waiting_count
    return max(0, min(waiting_count, capacity - places_held))


def statement(minutes_bought, visits):
    """The hours statement: each visit with its running balance.

    `visits` are (visit_date, reference, minutes, override) in date order."""
    balance, lines = minutes_bought, []
    for visit_date, reference, minutes, override in visits:
        balance -= minutes
        lines.append({"visit_date": visit_date, "reference": reference, "minutes": minutes,
                      "override": override, "balance_minutes": balance})
    used = minutes_bought - balance
    return {"minutes_bought": minutes_bought, "minutes_used": used,
            "minutes_left": balance, "lines": lines}


def must_wait(capacity, places_held, waiting_count):
    """Whether a referral accepted now waits for a place: over the cap, or others
    already waiting ahead of it."""
    return not has_place(capacity, places_held) or bool(waiting_count)


def check_acceptable(criteria, override, has_agreement):
    """Unmet criteria refuse acceptance (409) unless the panel overrides (with an
    agreement in place). Returns the unmet criteria."""
    missing = unmet(criteria)
    if missing and not (override and has_agreement):
        raise errors.Conflict("The referral does not meet the acceptance criteria: "
                              + ", ".join(sorted(missing)), errors=missing)
    return missing

"""Names, not codes, wherever a person reads: the one table of what every code the
platform stores is called in an email, a web form, a PDF or a CSV.

Need types carry their DfE school census names (Special educational needs in
England / school census guidance, "SEN type" codes); the areas of need are the
four broad areas of the SEND Code of Practice 2015 (6.28-6.35); statuses,
outcomes and reasons are the words a SENCO would use.

    label("ASD")                    -> "Autistic Spectrum Disorder"
    label("continued_sen_support")  -> "continued SEN support"
    label("something_new")          -> "something new" (never a bare code)
"""

NEED_TYPE_NAMES = {
    "SPLD": "Specific Learning Difficulty",
    "MLD": "Moderate Learning Difficulty",
    "SLD": "Severe Learning Difficulty",
    "PMLD": "Profound & Multiple Learning Difficulty",
    "SLCN": "Speech, Language and Communication Needs",
    "ASD": "Autistic Spectrum Disorder",
    "SEMH": "Social, Emotional and Mental Health",
    "HI": "Hearing Impairment",
    "VI": "Visual Impairment",
    "MSI": "Multi-Sensory Impairment",
    "PD": "Physical Disability",
    "OTH": "Other Difficulty/Disability",
    "NSA": "SEN support but no specialist assessment of type of need",
}

AREA_OF_NEED_NAMES = {
    "communication_and_interaction": "Communication and interaction",
    "cognition_and_learning": "Cognition and learning",
    "social_emotional_mental_health": "Social, emotional and mental health",
    "sensory_and_physical": "Sensory and/or physical needs",
}

# School census "SEN provision" codes and how the MIS exports spell them.
SEN_STATUS_NAMES = {"E": "EHC Plan", "K": "SEN Support", "N": "No Special Educational Need"}

REFERRAL_STATUS_NAMES = {
    "draft": "draft",
    "submitted": "submitted",
    "info_requested": "more information requested",
    "accepted": "accepted",
    "declined": "declined",
    "allocated": "allocated to a practitioner",
    "in_progress": "in progress",
    "report_issued": "report issued",
    "closed": "closed",
    "withdrawn": "withdrawn",
}

REFERRAL_OUTCOME_NAMES = {
    "needs_met_in_school": "needs met in school",
    "continued_sen_support": "continued SEN support",
    "ehc_needs_assessment_requested": "EHC needs assessment requested",
    "referred_to_other_service": "referred to another service",
    "no_further_action": "no further action",
}

DECLINE_REASON_NAMES = {
    "criteria_not_met": "the referral criteria are not met",
    "outside_remit": "outside the outreach service's remit",
    "no_agreement": "no outreach agreement with the school",
    "better_met_elsewhere": "the needs are better met by another service",
    "duplicate": "a duplicate of another referral",
    "other": "other",
}

# Provision: progress on a target at a review (named levels, provision/domain.py).
PROGRESS_NAMES = {
    "not_yet_started": "not yet started",
    "working_towards": "working towards",
    "partially_met": "partially met",
    "met": "met",
    "exceeded": "exceeded",
}

# EHC plans: the statutory deadlines (pupils/domain.py) and lawful pauses.
EHC_DEADLINE_NAMES = {
    "decision_to_assess": "decision whether to assess (6 weeks)",
    "decision_to_issue": "decision whether to issue a plan (16 weeks)",
    "final_plan": "final EHC plan (20 weeks)",
    "annual_review": "annual review",
    "phase_transfer": "phase transfer review and amendment",
    "review_decision": "local authority's decision after the annual review (4 weeks)",
    "amended_plan": "final amended plan (8 weeks)",
    "draft_comments": "parent's comments on the draft plan (15 days)",
}
EHC_PAUSE_NAMES = {
    "school_closure": "school or college closed for at least 4 weeks",
    "exceptional_personal_circumstances": "exceptional personal circumstances",
    "absent_from_area": "child or parent away from the area for at least 4 weeks",
}
PHASE_TRANSFER_NAMES = {
    "between_phases": "between phases of school",
    "secondary_to_post16": "from secondary school to post-16",
    "between_post16": "between post-16 institutions",
}

# Provision: tiers of the graduated response, who delivers it, and the cycles' states.
TIER_NAMES = {"universal": "universal", "targeted": "targeted", "specialist": "specialist"}
DELIVERED_BY_NAMES = {"teacher": "teacher", "teaching_assistant": "teaching assistant",
                      "senco": "SENCO", "slt": "senior leadership", "therapist": "therapist"}
CYCLE_STATUS_NAMES = {"open": "open", "reviewed": "reviewed", "active": "active",
                      "ended": "ended"}

# CPD: courses, sessions and bookings.
BOOKING_STATUS_NAMES = {"pending_approval": "waiting for approval", "confirmed": "confirmed",
                        "waitlisted": "on the waiting list", "cancelled": "cancelled",
                        "scheduled": "scheduled", "published": "published"}

# Who people are: roles (services/common/access.py) and kinds of organisation.
ROLE_NAMES = {"trust_admin": "trust administrator", "outreach": "outreach practitioner",
              "outreach_lead": "outreach lead", "portal": "portal", "cpd_admin": "CPD lead",
              "auditor": "auditor", "partner_referrer": "partner school referrer",
              "senco": "SENCO", "teacher": "teacher", "parent": "parent or carer"}
ORG_KIND_NAMES = {"trust": "the trust", "trust_school": "trust school",
                  "arb": "additionally resourced base", "partner_school": "partner school"}

# Outreach visits: who was seen; the referral clocks; the outreach agreement's terms.
SEEN_NAMES = {"pupil": "pupil", "parent_carer": "parent or carer",
              "class_teacher": "class teacher", "headteacher": "headteacher",
              "other_professional": "other professional"}
CLOCK_NAMES = {"acknowledge": "acknowledgement", "triage": "triage decision"}
TERM_NAMES = {"autumn": "autumn term", "spring": "spring term", "summer": "summer term"}

# Messages (notify): delivery statuses as GOV.UK Notify names them, and audiences.
MESSAGE_STATUS_NAMES = {"created": "queued", "sending": "sending", "delivered": "delivered",
                        "temporary-failure": "not delivered yet (will retry)",
                        "permanent-failure": "not delivered (address not valid)",
                        "technical-failure": "not delivered (technical problem)"}
AUDIENCE_NAMES = {"referrer": "referrer", "practitioner": "practitioner",
                  "cpd_attendee": "course attendee", "email": "email", "sms": "text message"}

# Reports: what a row of the costs report is grouped by.
COST_GROUP_NAMES = {"total": "total", "tier": "tier", "provision": "provision",
                    "org": "school", "pupil": "pupil"}

TABLES = (NEED_TYPE_NAMES, AREA_OF_NEED_NAMES, SEN_STATUS_NAMES, REFERRAL_STATUS_NAMES,
          REFERRAL_OUTCOME_NAMES, DECLINE_REASON_NAMES, PROGRESS_NAMES, EHC_DEADLINE_NAMES,
          EHC_PAUSE_NAMES, PHASE_TRANSFER_NAMES, TIER_NAMES, DELIVERED_BY_NAMES,
          CYCLE_STATUS_NAMES, BOOKING_STATUS_NAMES, ROLE_NAMES, ORG_KIND_NAMES, SEEN_NAMES,
          CLOCK_NAMES, TERM_NAMES, MESSAGE_STATUS_NAMES, AUDIENCE_NAMES, COST_GROUP_NAMES)

# A table by the kind of value it names, for callers that know the kind (documents).
KINDS = {"need_type": NEED_TYPE_NAMES, "area_of_need": AREA_OF_NEED_NAMES,
         "sen_status": SEN_STATUS_NAMES, "referral_status": REFERRAL_STATUS_NAMES,
         "outcome": REFERRAL_OUTCOME_NAMES, "decline_reason": DECLINE_REASON_NAMES,
         "progress": PROGRESS_NAMES, "level": PROGRESS_NAMES, "ehc_step": EHC_DEADLINE_NAMES,
         "pause_reason": EHC_PAUSE_NAMES, "phase_transfer": PHASE_TRANSFER_NAMES,
         "tier": TIER_NAMES, "delivered_by": DELIVERED_BY_NAMES,
         "cycle_status": CYCLE_STATUS_NAMES, "booking_status": BOOKING_STATUS_NAMES,
         "role": ROLE_NAMES, "org_kind": ORG_KIND_NAMES, "seen": SEEN_NAMES,
         "clock": CLOCK_NAMES, "term": TERM_NAMES, "message_status": MESSAGE_STATUS_NAMES,
         "audience": AUDIENCE_NAMES, "cost_group": COST_GROUP_NAMES}
NAMES = {}
for _table in TABLES:
    for _code, _name in _table.items():
        NAMES.setdefault(_code, _name)


def label(code, kind=None):
    """What a person reads for a stored code; unknown codes become words. With `kind`
    (a key of KINDS) that kind's table is read first, for codes two tables share."""
    if code is None:
        return ""
    code = str(code)
    return KINDS.get(kind, {}).get(code) or NAMES.get(code) or code.replace("_", " ")


def year_group_name(year_group):
    """A national curriculum year as schools write it ('Reception', 'Year 6', 'Nursery 1',
    'X' for a pupil not following the National Curriculum)."""
    if year_group is None:
        return ""
    if year_group == "X":
        return "National Curriculum not followed"
    return {-2: "Nursery 1", -1: "Nursery 2", 0: "Reception"}.get(year_group,
                                                                 f"Year {year_group}")

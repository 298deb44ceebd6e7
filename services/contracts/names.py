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

TABLES = (NEED_TYPE_NAMES, AREA_OF_NEED_NAMES, SEN_STATUS_NAMES, REFERRAL_STATUS_NAMES,
          REFERRAL_OUTCOME_NAMES, DECLINE_REASON_NAMES, PROGRESS_NAMES, EHC_DEADLINE_NAMES,
          EHC_PAUSE_NAMES, PHASE_TRANSFER_NAMES)
NAMES = {}
for _table in TABLES:
    for _code, _name in _table.items():
        NAMES.setdefault(_code, _name)


def label(code):
    """What a person reads for a stored code; unknown codes become words."""
    if code is None:
        return ""
    code = str(code)
    return NAMES.get(code) or code.replace("_", " ")


def year_group_name(year_group):
    """A national curriculum year as schools write it ('Reception', 'Year 6', 'Nursery 1',
    'X' for a pupil not following the National Curriculum)."""
    if year_group is None:
        return ""
    if year_group == "X":
        return "National Curriculum not followed"
    return {-2: "Nursery 1", -1: "Nursery 2", 0: "Reception"}.get(year_group,
                                                                 f"Year {year_group}")

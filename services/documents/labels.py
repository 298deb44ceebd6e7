"""Names, not codes, for every value a person reads in a document.

`label(kind, code)` is the one lookup the templates, sheets and charts use. When the
names table in `services.contracts` lands (the "statutory" work), point `_table` at it;
until then the names below are used and anything unknown is spelt out from its code.
"""

_NAMES = {
    "sen_status": {"E": "EHC plan", "K": "SEN support", "N": "No special educational need"},
    "need_type": {
        "SPLD": "Specific learning difficulty", "MLD": "Moderate learning difficulty",
        "SLD": "Severe learning difficulty", "PMLD": "Profound and multiple learning difficulty",
        "SLCN": "Speech, language and communication needs",
        "ASD": "Autistic spectrum disorder",
        "SEMH": "Social, emotional and mental health", "HI": "Hearing impairment",
        "VI": "Visual impairment", "MSI": "Multi-sensory impairment",
        "PD": "Physical disability", "OTH": "Other difficulty or disability",
        "NSA": "SEN support but no specialist assessment of type of need",
    },
    "area_of_need": {
        "communication_and_interaction": "Communication and interaction",
        "cognition_and_learning": "Cognition and learning",
        "social_emotional_mental_health": "Social, emotional and mental health",
        "sensory_and_physical": "Sensory and/or physical",
    },
    "tier": {"universal": "Universal", "targeted": "Targeted", "specialist": "Specialist"},
    "delivered_by": {"teacher": "Teacher", "teaching_assistant": "Teaching assistant",
                     "senco": "SENCO", "slt": "Senior leadership", "therapist": "Therapist"},
    "progress": {-2: "Much worse", -1: "Worse", 0: "No change", 1: "Met", 2: "Exceeded"},
    "ehc_step": {
        "decision_to_assess": "Decision whether to assess (6 weeks)",
        "decision_to_issue": "Decision whether to issue a plan (16 weeks)",
        "final_plan": "Final EHC plan issued (20 weeks)",
        "annual_review": "Annual review",
        "phase_transfer": "Plan amended for phase transfer (15 February)",
    },
    "cost_group": {"total": "Total", "tier": "Tier", "provision": "Provision", "org": "School",
                   "pupil": "Pupil"},
    "cycle_status": {"open": "Open", "reviewed": "Reviewed"},
    "seen": {"pupil": "Pupil", "parent_carer": "Parent or carer", "senco": "SENCO",
             "class_teacher": "Class teacher", "teaching_assistant": "Teaching assistant",
             "headteacher": "Headteacher", "other_professional": "Other professional"},
}


def _table(kind):
    return _NAMES.get(kind, {})


def label(kind, code):
    """The name a person reads for `code` of `kind`; '' for None."""
    if code is None or code == "":
        return ""
    names = _table(kind)
    if code in names:
        return names[code]
    text = str(code).replace("_", " ")
    return text[:1].upper() + text[1:]


def year_label(year_group):
    """'Year 4', 'Reception', 'Nursery' from the census year group number."""
    if year_group is None or year_group == "":
        return ""
    year_group = int(year_group)
    return {0: "Reception", -1: "Nursery", -2: "Nursery (2-year-olds)"}.get(
        year_group, f"Year {year_group}")

"""The demo trust, its schools and its people: one list, used by `senctl demo`
(organisations, staff directory, guardians), by the local OpenID provider
(staff accounts) and by the `make run` banner (how to sign in as each).

Development only: the password below is printed by `make run` and never used
outside the local OpenID provider.
"""

DEMO_PASSWORD = "demo-password"

TRUST = {"key": "trust", "name": "Demo Special Schools Trust", "kind": "trust", "urn": None,
         "laestab": None, "contact_email": "office@demo-trust.example"}
ORGANISATIONS = [
    TRUST,
    {"key": "oakfield", "name": "Oakfield Special School", "kind": "trust_school",
     "urn": "100010", "laestab": "8017010", "phase": "all_through",
     "contact_email": "office@oakfield.example"},
    {"key": "brook", "name": "Brook Resource Base", "kind": "arb", "urn": "100020",
     "laestab": "8012020", "phase": "primary", "contact_email": "office@brook-arb.example"},
    {"key": "riverside", "name": "Riverside Primary School", "kind": "partner_school",
     "urn": "100001", "laestab": "2021001", "phase": "primary",
     "contact_email": "senco@riverside.example"},
]

# sign_in: "oidc" (the trust's identity provider) or "email" (one-time email link)
PEOPLE = [
    {"email": "admin@demo-trust.example", "name": "Alex Morgan", "org": "trust",
     "roles": ["trust_admin"], "sign_in": "oidc"},
    {"email": "outreach.lead@demo-trust.example", "name": "Priya Shah", "org": "trust",
     "roles": ["outreach_lead"], "sign_in": "oidc"},
    {"email": "outreach@demo-trust.example", "name": "Tom Hughes", "org": "trust",
     "roles": ["outreach"], "sign_in": "oidc"},
    {"email": "cpd.lead@demo-trust.example", "name": "Grace Okafor", "org": "trust",
     "roles": ["cpd_admin"], "sign_in": "oidc"},
    {"email": "auditor@demo-trust.example", "name": "Ruth Bell", "org": "trust",
     "roles": ["auditor"], "sign_in": "oidc"},
    {"email": "senco@oakfield.example", "name": "Dan Price", "org": "oakfield",
     "roles": ["senco"], "sign_in": "oidc"},
    {"email": "teacher@oakfield.example", "name": "Mia Evans", "org": "oakfield",
     "roles": ["teacher"], "sign_in": "oidc"},
    {"email": "senco@brook-arb.example", "name": "Lena Novak", "org": "brook",
     "roles": ["senco"], "sign_in": "oidc"},
    {"email": "senco@riverside.example", "name": "Sam Carter", "org": "riverside",
     "roles": ["partner_referrer", "senco"], "sign_in": "email"},
    {"email": "jo.smith@riverside.example", "name": "Jo Smith", "org": "riverside",
     "roles": ["partner_referrer"], "sign_in": "email"},
]

# A guardian of a demo pupil at Oakfield: signs in with a one-time email link.
PARENTS = [
    {"email": "parent.taylor@example.com", "name": "Chris Taylor", "org": "oakfield",
     "pupil": {"first_name": "Sam", "last_name": "Taylor", "date_of_birth": "2015-03-01"}},
]


# Pupils of the demo schools (keyed by organisation). Year groups stand for classes.
# `plan`: an EHC plan with these dates; `passport`: a published passport. A pupil
# named in PARENTS has that parent as guardian (with parental responsibility).
PUPILS = {
    "oakfield": [
        {"forename": "Sam", "legal_surname": "Taylor", "date_of_birth": "2015-03-01",
         "sen_status": "K", "primary_need": "ASD", "secondary_need": "SLCN", "serial": 1,
         "passport": {
             "about_me": "I am Sam. I love trains, drawing maps and my dog Pepper.",
             "strengths": "Remembers facts and routes; careful, neat work; kind to others.",
             "needs": "Changes to the day worry me. Noisy rooms make it hard to think.",
             "what_helps": "A visual timetable, a warning before changes, a quiet space "
                           "to go to, instructions one step at a time.",
             "what_does_not_help": "Being rushed, sudden loud noises, lots of talking at once.",
             "pupil_voice": "I like it when I know what is happening next."}},
        {"forename": "Amira", "legal_surname": "Khan", "date_of_birth": "2013-10-12",
         "sen_status": "E", "primary_need": "SLD", "secondary_need": "PD", "serial": 2,
         "plan": {"request_date": "2025-01-06", "decision_to_assess_on": "2025-02-10",
                  "decision_to_issue_on": "2025-04-01", "issued_on": "2025-05-01",
                  "last_review_on": "2026-04-20"}},
        {"forename": "Leo", "legal_surname": "Walsh", "date_of_birth": "2016-06-20",
         "sen_status": "K", "primary_need": "SEMH", "secondary_need": None, "serial": 3},
        {"forename": "Isla", "legal_surname": "Murphy", "date_of_birth": "2017-11-02",
         "sen_status": "K", "primary_need": "SPLD", "secondary_need": "SLCN", "serial": 4},
    ],
    "brook": [
        {"forename": "Ella", "legal_surname": "Brown", "date_of_birth": "2018-01-15",
         "sen_status": "K", "primary_need": "SLCN", "secondary_need": None, "serial": 1},
        {"forename": "Noah", "legal_surname": "Green", "date_of_birth": "2017-05-03",
         "sen_status": "K", "primary_need": "ASD", "secondary_need": "SEMH", "serial": 2},
        {"forename": "Ava", "legal_surname": "Wilson", "date_of_birth": "2019-02-11",
         "sen_status": "N", "primary_need": None, "secondary_need": None, "serial": 3},
    ],
}

# This term's service-level agreement between the trust and each partner school, with
# the default acceptance criteria (two reviewed cycles, parental consent).
AGREEMENTS = [
    {"org": "riverside", "hours_bought": 30, "capacity": 6, "min_cycles": 2,
     "consent_required": True, "upn_required": False},
]

# The referral the `make run` banner's curl submits: it meets the agreement's criteria.
DEMO_REFERRAL = {
    "pupil": {"first_name": "Riley", "last_name": "Jones", "date_of_birth": "2016-03-01",
              "upn": "B801200005001"},
    "contact": {"name": "Jo Smith", "email": "jo.smith@riverside.example",
                "phone": "01632 960000"},
    "areas_of_need": ["communication_and_interaction"],
    "need_types": ["ASD"],
    "concerns": "Finds transitions between lessons very hard.",
    "support_so_far": "Visual timetable and a quiet space since January.",
    "graduated_approach": [
        {"started_on": "2026-01-12", "reviewed_on": "2026-03-27",
         "provision": "Visual timetable and a now-and-next board",
         "outcome": "Fewer incidents at transitions; still distressed at lunch"},
        {"started_on": "2026-04-20", "reviewed_on": "2026-07-10",
         "provision": "Quiet space at lunch, social story before changes",
         "outcome": "Some progress; needs specialist advice"},
    ],
    "parental_consent": {"given": True, "date": "2026-09-15", "given_by": "Parent"},
}


def org(key):
    return next(o for o in ORGANISATIONS if o["key"] == key)


def guardians_of(org_key, pupil):
    """The PARENTS of a demo pupil, as the pupils API's guardians."""
    return [{"name": p["name"], "relationship": "Parent", "email": p["email"],
             "preferred_channel": "email", "parental_responsibility": True}
            for p in PARENTS if p["org"] == org_key
            and (p["pupil"]["first_name"], p["pupil"]["last_name"],
                 p["pupil"]["date_of_birth"]) == (pupil["forename"], pupil["legal_surname"],
                                                  pupil["date_of_birth"])]

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


def org(key):
    return next(o for o in ORGANISATIONS if o["key"] == key)

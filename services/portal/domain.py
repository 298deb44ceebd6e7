"""The portal's pure rules: who sees which links (navigation by role, from the role
groups the services authorise with, services/common/access.py), the sign-in choices a
person has, the view models pages are drawn from, and what a referral form still lacks.
No HTTP, no database: the services' APIs decide what is allowed; this only decides
what to offer."""

from urllib.parse import quote

from services.contracts import links, names
from services.contracts.roles import (
    CPD_BOOKERS,
    CPD_LEADS,
    MESSAGE_READERS,
    NEED_TREND_READERS,
    PRACTITIONERS,
    PROVISION_READERS,
    PROVISION_REPORT_READERS,
    PUPIL_SCHOOLS,
    REFERRAL_READERS,
    TRIAGERS,
    OrgKind,
    Role,
)

# who reads the outreach team's pages at the trust (a partner reads its own referrals)
OUTREACH_READERS = frozenset(REFERRAL_READERS) - {Role.PARTNER_REFERRER}
STAFF_ORG_KINDS = (OrgKind.TRUST, *PUPIL_SCHOOLS)  # where pupils and provision are kept

# the referral statuses still in the outreach team's hands, in the order of the journey
OPEN_STATUSES = tuple(s for s in names.REFERRAL_STATUS_NAMES
                      if s not in ("draft", "declined", "closed", "withdrawn"))
DECLINE_REASONS = tuple(names.DECLINE_REASON_NAMES)
OUTCOMES = tuple(names.REFERRAL_OUTCOME_NAMES)
# who a practitioner saw on a visit: the referrals API's list (names.SEEN_NAMES names
# five of them; a SENCO and a teaching assistant are named by ROLE_NAMES and the filter)
SEEN = ("pupil", "parent_carer", "senco", "class_teacher", "teaching_assistant",
        "headteacher", "other_professional")
IMPACT_GROUPS = ("provision", "provision_org", "org", "trust")
PASSPORT_SECTIONS = {"about_me": "About me", "strengths": "My strengths", "needs": "My needs",
                     "what_helps": "What helps me", "what_does_not_help": "What does not help me",
                     "pupil_voice": "In my own words"}
CATEGORIES = {"referral": "Referrals", "passport": "Pupil passport updates",
              "ehcp": "EHC plan dates and reviews", "pupil_move": "School moves",
              "alert": "Alerts", "cpd": "Training"}


class Invalid(Exception):
    """A form the services (or the portal's own checks) refused: [(field, message)]."""

    def __init__(self, errors, draft_id=None):
        super().__init__(f"{len(errors)} errors")
        self.errors = list(errors)
        self.draft_id = draft_id  # a referral form's draft, kept with what was valid


class Refused(Exception):
    """An action that cannot be done now (409): a page that says so."""

    def __init__(self, title, lines, back=None, back_text="Back"):
        super().__init__(title)
        self.title, self.lines, self.back, self.back_text = title, lines, back, back_text


# -- documents -----------------------------------------------------------------------

SPREADSHEETS = ("csv", "xlsx")
FORMATS = ("pdf", *SPREADSHEETS)
DOWNLOADS = (("pdf", "Download as PDF"), ("csv", "Download as CSV"),
             ("xlsx", "Download as Excel spreadsheet (.xlsx)"))


class NotADocument(Exception):
    """A format or document the portal does not make: the route answers 404."""


def check_format(fmt, allowed=FORMATS):
    if fmt not in allowed:
        raise NotADocument(fmt)
    return fmt


def sees_need_and_training(me):
    """The link to the trust's chart of referrals by need against training delivered."""
    return me.org_kind == OrgKind.TRUST and bool(set(me.roles or ()) & set(NEED_TREND_READERS))


# -- navigation ----------------------------------------------------------------------

def navigation(me):
    """The links of the service navigation: only what this person may do."""
    roles, kind = set(me.roles or ()), me.org_kind
    nav = []
    if Role.PARTNER_REFERRER in roles:
        nav += [(links.path("referrals"), "Your referrals"),
                (links.path("new_referral"), "New referral")]
    if roles & OUTREACH_READERS and kind == OrgKind.TRUST:
        nav += [(links.path("triage"), "Triage"), (links.path("referrals"), "Referrals")]
    if roles & set(PROVISION_READERS) and kind in STAFF_ORG_KINDS:
        nav += [(links.path("pupils"), "Pupils"), (links.path("reviews_due"), "Reviews due")]
    if roles & set(CPD_BOOKERS):
        nav += [(links.path("cpd_catalogue"), "Training"),
                (links.path("cpd_bookings"), "My bookings")]
    if roles & set(PROVISION_REPORT_READERS) and kind in STAFF_ORG_KINDS:
        nav += [("/costs", "Costs"), ("/impact", "Impact report")]
    if roles & set(CPD_LEADS):
        nav += [(links.path("cpd_approvals"), "Approvals")]
    if roles & set(MESSAGE_READERS):
        nav += [(links.path("notifications"), "Messages sent")]
    if Role.TRUST_ADMIN in roles:
        nav += [("/admin/organisations", "Organisations"), ("/admin/staff", "Staff")]
    if Role.PARENT in roles:
        nav += [("/", "Your children"), (links.path("preferences"), "Message preferences")]
    seen, out = set(), []
    for href, label in nav:
        if href not in seen:
            seen.add(href)
            out.append((href, label))
    return out


def done_url(path, text):
    """Where a form goes when it worked: its page, with the success banner's text."""
    return f"{path}?done={quote(text)}"


# -- sign-in -------------------------------------------------------------------------

def staff_choices(lookup, kinds=None):
    return [{"org_id": m["org_id"], "org_name": m["org_name"], "org_kind": m["org_kind"],
             "roles": sorted(m["roles"]), "name": m.get("name"),
             "label": f"{m['org_name']} ({', '.join(r.replace('_', ' ') for r in sorted(m['roles']))})"}
            for m in lookup.get("staff", []) if kinds is None or m["org_kind"] in kinds]


def parent_choices(lookup):
    by_org = {}
    for g in lookup.get("guardian_of", []):
        c = by_org.setdefault(g["org_id"], {"org_id": g["org_id"], "org_name": g["org_name"],
                                            "org_kind": g.get("org_kind") or OrgKind.TRUST_SCHOOL,
                                            "roles": [Role.PARENT],
                                            "pupils": [], "children": []})
        c["pupils"].append(g["pupil_id"])
        c["children"].append({"pupil_id": g["pupil_id"], "pupil_name": g.get("pupil_name")})
    for c in by_org.values():
        names_ = ", ".join(ch["pupil_name"] or "your child" for ch in c["children"])
        c["label"] = f"Parent or carer of {names_} ({c['org_name']})"
    return list(by_org.values())


def link_choices(lookup):
    """Who may sign in with an email link: partner school staff and parents."""
    return staff_choices(lookup, {OrgKind.PARTNER_SCHOOL}) + parent_choices(lookup)


def looks_like_email(value):
    local, _, domain = value.partition("@")
    return bool(local) and "." in domain and " " not in value and len(value) <= 254 \
        and not domain.startswith(".") and not domain.endswith(".")


def children_of(me):
    """A parent's children at the organisation chosen (the home page lists them)."""
    return next((c.get("children", []) for c in me.choices
                 if c["org_id"] == me.org_id and c["org_kind"] == me.org_kind
                 and (Role.PARENT in c["roles"]) == (Role.PARENT in me.roles)), [])


def child_name(me, pupil_id):
    for c in me.choices:
        for child in c.get("children", []):
            if child["pupil_id"] == pupil_id:
                return child.get("pupil_name")
    return None


# -- referrals -----------------------------------------------------------------------

def is_outreach_staff(me):
    return bool(set(me.roles) & OUTREACH_READERS) and me.org_kind == OrgKind.TRUST


def referral_buttons(me, allowed_actions):
    """Which of the referral page's forms to show: the API's allowed actions that this
    person's roles use in the portal (the API still decides)."""
    if not is_outreach_staff(me):
        return set()
    roles, allowed, may = set(me.roles), set(allowed_actions or ()), set()
    if roles & set(TRIAGERS):
        may |= allowed & {"request_info", "accept", "decline", "allocate", "close"}
    if roles & set(PRACTITIONERS):
        may |= {"visit" if a == "log_visit" else "report"
                for a in allowed & {"log_visit", "issue_report"}}
    return may


REQUIRED = {"pupil": ("first_name", "last_name", "date_of_birth"),
            "contact": ("name", "email", "phone"),
            "parental_consent": ("given", "date", "given_by")}


def missing_answers(body):
    """What a referral body still lacks before it can be sent, as the API names its
    fields ({"pupil.first_name": ["Missing data for required field."]}); the referrals
    API checks the same again when the draft is submitted."""
    missing = {}
    for group, keys in REQUIRED.items():
        for key in keys:
            if (body.get(group) or {}).get(key) in (None, "", False):
                missing[f"{group}.{key}"] = ["Missing data for required field."]
    for key in ("areas_of_need", "concerns", "support_so_far"):
        if not body.get(key):
            missing[key] = ["Missing data for required field."]
    for i, cycle in enumerate(body.get("graduated_approach") or []):
        for key in ("provision", "started_on"):
            if not cycle.get(key):
                missing[f"graduated_approach.{i}.{key}"] = ["Missing data for required field."]
    return missing


def same_pupil(a, b):
    """Two referrals' pupils are the same child: the same UPN, or the same name and date
    of birth (case and spaces aside)."""
    def norm(value):
        return " ".join(str(value or "").split()).casefold()
    if a.get("upn") and b.get("upn"):
        return norm(a["upn"]) == norm(b["upn"])
    return bool(a.get("date_of_birth")) and a.get("date_of_birth") == b.get("date_of_birth") \
        and norm(a.get("first_name")) == norm(b.get("first_name")) \
        and norm(a.get("last_name")) == norm(b.get("last_name")) and bool(norm(a.get("last_name")))


def open_referrals_for(referral, others):
    """The school's open referrals (not this one) for the same pupil: a warning, not a block."""
    return [o for o in others if o["id"] != referral["id"] and o["status"] in OPEN_STATUSES
            and o.get("school_org_id") == referral.get("school_org_id")
            and same_pupil(referral.get("pupil") or {}, o.get("pupil") or {})]

"""The pupils service's reads, scoped to the caller (services/common/access.py), and
the views the entrypoints return, one module a subject (scope, pupils, ehc_plans,
staff). Every read of a pupil's record is audited (ids only) in the same transaction
as the read. Everything is importable from `queries` itself."""

from .ehc_plans import (  # noqa: F401
    as_pauses,
    get_plan,
    has_plan,
    overdue,
    overdue_plans,
    pauses_of,
    plan_timeline,
    plan_view,
    plans,
)
from .pupils import (  # noqa: F401
    audit_page,
    census_readiness,
    census_report,
    detail,
    guardians_of,
    list_and_audit,
    list_pupils,
    moves_of,
    open_entry,
    passport,
    passport_versions,
    pupil,
    referrals_of,
    rows_of,
    sen_history,
    sen_register,
    subject_access,
    subject_access_export,
    upn_history,
    upn_taken,
)
from .scope import (  # noqa: F401
    audit,
    find_org,
    find_organisation,
    get_pupil,
    import_target,
    is_guardian,
    is_parent,
    list_organisations,
    parent_pupil,
    readable_pupil,
    scope,
    scoped_org_id,
    target_org,
)
from .staff import (  # noqa: F401
    STAFF_WIDE,
    get_member,
    list_members,
    membership_exists,
    other_active_admins,
    sign_in_lookup,
    staff_member,
    staff_page,
    staff_scope,
)

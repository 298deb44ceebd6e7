"""Event data schemas, one module per producing service (DESIGN.md §3).

Events carry identifiers and the minimum a consumer needs: never a pupil's
name, date of birth or free text about a child. Codes a consumer must act on
(SEN status, census need codes, broad areas) may travel with a pupil id.
Breaking changes get a new version; consumers ignore unknown fields.
"""

from . import cpd, notify, provision, pupils, referrals  # noqa: F401  (registers them)
from .common import ORG_KINDS, ContactSchema

__all__ = ["ORG_KINDS", "ContactSchema"]

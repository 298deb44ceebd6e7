"""The portal's use cases: sign-in's writes (sessions.py) and each form's submission
to the services' APIs (referrals.py, pupils.py, cpd.py). A command answers where to go
next, or raises `domain.Invalid` (errors by field) or `domain.Refused` (a page that
says why)."""

from . import cpd, pupils, referrals, sessions
from .sessions import (
    choose,
    create_link,
    create_session,
    digest,
    end_all_sessions,
    end_session,
    hit,
    save_login_state,
    take_login_state,
    use_link,
)

__all__ = ["choose", "cpd", "create_link", "create_session", "digest", "end_all_sessions",
           "end_session", "hit", "pupils", "referrals", "save_login_state", "sessions",
           "take_login_state", "use_link"]

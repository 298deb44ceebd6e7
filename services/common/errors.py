"""Domain errors: what a rule or a use case says when it refuses.

They know nothing about HTTP. `http.py` maps each to a problem document in one
place (`problem_for`); the portal maps them to a page's error summary. A
`field` names the input the error is about (a dotted path, as in a request
body), so a page can put the message beside it and an API can name it.
"""


class DomainError(Exception):
    """Base of the refusals a service's rules and use cases raise."""

    def __init__(self, detail, field=None, errors=None):
        super().__init__(detail)
        self.detail = detail
        self.field = field
        # {"field.path": ["message", ...]}: several fields at once
        self.errors = errors or ({field: [detail]} if field else None)


class NotFound(DomainError):
    """There is no such record, or the caller may not know that there is."""


class NotAllowed(DomainError):
    """The caller is known but may not do this."""


class Conflict(DomainError):
    """The record's state does not allow this now (a transition, a duplicate)."""


class RuleBroken(DomainError):
    """The request is well formed but breaks a rule (a date order, a limit)."""

"""The portal's entrypoints by area, as mixins that service.py composes into
PortalService: base.py (the one page shape), signin.py, referrals.py, pupils.py,
cpd.py and reports.py (costs, impact, messages, the trust admin's lists)."""

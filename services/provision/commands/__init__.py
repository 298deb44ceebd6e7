"""The provision service's use cases, by aggregate: each opens the unit of work,
loads what it needs (scoped by queries/scope.py), asks domain/, writes and emits
(payloads.py). `catalogue` (entries and settings), `calendar` (term dates),
`assignments` (assign, sessions, end), `targets` (targets and outcomes), `cycles`
(APDR: open, review, announce reviews due) and `projection` (the other services'
events kept here)."""

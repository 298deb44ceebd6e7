"""The pupils service's use cases, one module per aggregate: each opens the unit of
work, loads what it needs (scoped by services/pupils/queries.py), asks the domain,
writes and emits (payloads.py) in one transaction. The `uow`-level steps they are
made of (create_pupil, save_passport_draft, ...) also serve the importer, the demo
seed and senctl."""

from . import ehc_plans, imports, moves, organisations, passports, pupils, staff

__all__ = ["ehc_plans", "imports", "moves", "organisations", "passports", "pupils", "staff"]

"""senctl: the platform's admin command line.

    senctl keys create [--dir DIR]
    senctl migrate [SERVICE ...]
    senctl serve SERVICE
    senctl org onboard --name N --kind K [--urn U --laestab L --phase P --contact-email E]
    senctl pupils import FILE --org URN
    senctl token --sub USER --org ORG --roles r1,r2 [--hours H]
    senctl deadletters list [SERVICE ...] | replay SERVICE [--event-id ID]
    senctl outbox backlog
    senctl contracts asyncapi
    senctl demo
"""

import argparse
import json
import os
import sys
from datetime import timedelta
from pathlib import Path

from services.common import settings

SERVICE_CLASSES = {
    "pupils": "services.pupils.service:PupilsService",
    "provision": "services.provision.service:ProvisionService",
    "cpd": "services.cpd.service:CpdService",
    "referrals": "services.referrals.service:ReferralsService",
    "notify": "services.notify.service:NotifyService",
    "portal": "services.portal.service:PortalService",
}


def _metadata(service):
    import importlib
    return importlib.import_module(f"services.{service}.models").Base.metadata


def _pupils_db():
    from services.common.db import open_database
    return open_database("pupils", _metadata("pupils"))


def cmd_keys(args):
    from services.common.auth import generate_key_pair
    directory = Path(args.dir or settings.VAR_DIR / "keys")
    directory.mkdir(parents=True, exist_ok=True)
    private, public = generate_key_pair()
    priv_path, pub_path = directory / "jwt_private.pem", directory / "jwt_public.pem"
    if priv_path.exists() and not args.force:
        print(f"{priv_path} exists; use --force to replace it", file=sys.stderr)
        return 1
    fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(private)
    pub_path.write_bytes(public)
    print(f"wrote {priv_path} (keep secret) and {pub_path}")
    return 0


def cmd_migrate(args):
    from services.common.migrations import upgrade
    unknown = set(args.services) - set(settings.SERVICES)
    if unknown:
        print(f"unknown services: {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    from services.common import topology
    for service in args.services or settings.SERVICES:
        upgrade(service)
        queues = topology.declare(topology.service_class(SERVICE_CLASSES[service]))
        print(f"{service}: database at head, {len(queues)} event queues declared")
    return 0


def cmd_serve(args):
    config = os.environ.get("NAMEKO_CONFIG") or str(settings.ROOT / "config.yml")
    os.environ.setdefault("OTEL_SERVICE_NAME", args.service)
    os.execv(sys.executable, [sys.executable, "-m", "nameko", "run", "--config", config,
                              SERVICE_CLASSES[args.service]])


def cmd_onboard(args):
    from marshmallow import ValidationError

    from services.common.problems import Problem, flatten_errors
    from services.pupils import onboarding
    from services.pupils.schemas import OrganisationCreateSchema
    raw = {k: v for k, v in {"name": args.name, "kind": args.kind, "urn": args.urn,
                             "laestab": args.laestab, "phase": args.phase,
                             "contact_email": args.contact_email}.items() if v is not None}
    try:
        data = OrganisationCreateSchema().load(raw)
        org = onboarding.onboard(_pupils_db(), data, actor="senctl")
    except ValidationError as exc:
        print(json.dumps({"errors": flatten_errors(exc.messages)}), file=sys.stderr)
        return 2
    except Problem as exc:
        print(json.dumps(exc.body()), file=sys.stderr)
        return 2
    print(org.id)
    return 0


def cmd_pupils_import(args):
    """Import an MIS CSV export into a trust school or ARB, with a progress bar;
    the report (counts and every rejected row) is printed as JSON on stdout."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import click

    from services.common.problems import Problem
    from services.pupils import domain, importer, onboarding
    db = _pupils_db()
    org = onboarding.find(db, args.org)
    if org is None or org.kind not in domain.PUPIL_ORG_KINDS:
        print(f"no trust school or ARB with id, URN or LAESTAB {args.org}", file=sys.stderr)
        return 2
    try:
        with open(args.file, "rb") as f:
            total = max(sum(1 for _ in f) - 1, 0)
    except OSError as exc:
        print(f"cannot read {args.file}: {exc.strerror}", file=sys.stderr)
        return 2
    today = datetime.now(ZoneInfo("Europe/London")).date()
    with open(args.file, encoding="utf-8-sig", newline="") as f, click.progressbar(
            length=total, label="Importing pupils", file=sys.stderr) as bar:
        try:
            report = importer.import_csv(db, org.id, f, actor="senctl", today=today,
                                         progress=lambda n: bar.update(n - bar.pos))
        except Problem as exc:
            print(json.dumps(exc.body()), file=sys.stderr)
            return 2
    print(json.dumps(report.as_dict()))
    return 0


def cmd_token(args):
    from services.common.auth import issue_token
    from services.pupils import onboarding
    org = onboarding.find(_pupils_db(), args.org)
    if org is None:
        print(f"no organisation with id, URN or LAESTAB {args.org}", file=sys.stderr)
        return 2
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    try:
        print(issue_token(args.sub, org.id, roles, ttl=timedelta(hours=args.hours)))
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return 0


def cmd_deadletters(args):
    from services.common.deadletters import list_dead_letters, replay_dead_letters
    if args.action == "list":
        for service in args.services or settings.SERVICES:
            for item in list_dead_letters(service):
                print(json.dumps({"service": service, **item}))
        return 0
    if len(args.services) != 1:
        print("replay takes one service", file=sys.stderr)
        return 2
    for item in replay_dead_letters(args.services[0], event_id=args.event_id):
        print(json.dumps({"replayed": True, **item}))
    return 0


def cmd_outbox(args):
    from sqlalchemy.exc import DBAPIError

    from services.common.db import open_database
    from services.common.outbox import Relay
    for service in args.services or settings.SERVICES:
        db = open_database(service, _metadata(service))
        try:
            print(f"{service}\t{Relay(db).backlog()}")
        except DBAPIError as exc:
            print(f"{service}\tunavailable ({type(exc.orig).__name__}; migrated?)")
    return 0


def cmd_contracts(args):
    from services.contracts.asyncapi import render
    print(render(), end="")
    return 0


def cmd_demo(args):
    """Seed the demo trust, its schools, pupils, staff and agreement (once each)."""
    from . import demo
    demo.seed()
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="senctl", description="SEN trust platform admin")
    sub = p.add_subparsers(dest="command", required=True)

    keys = sub.add_parser("keys", help="signing keys").add_subparsers(dest="action", required=True)
    k = keys.add_parser("create", help="create the trust's JWT key pair")
    k.add_argument("--dir")
    k.add_argument("--force", action="store_true")
    k.set_defaults(fn=cmd_keys)

    m = sub.add_parser("migrate", help="migrate service databases to the latest schema")
    m.add_argument("services", nargs="*", default=[], help="default: all")
    m.set_defaults(fn=cmd_migrate)

    s = sub.add_parser("serve", help="run one service")
    s.add_argument("service", choices=settings.SERVICES)
    s.set_defaults(fn=cmd_serve)

    org = sub.add_parser("org", help="organisations").add_subparsers(dest="action", required=True)
    o = org.add_parser("onboard", help="onboard an organisation (publishes organisation.onboarded)")
    o.add_argument("--name", required=True)
    o.add_argument("--kind", required=True)
    o.add_argument("--urn")
    o.add_argument("--laestab")
    o.add_argument("--phase")
    o.add_argument("--contact-email")
    o.set_defaults(fn=cmd_onboard)

    pupils = sub.add_parser("pupils", help="pupils").add_subparsers(dest="action", required=True)
    pi = pupils.add_parser("import", help="import an MIS CSV export (UPN, legal surname, "
                                          "forename, date of birth, year group, SEN provision, "
                                          "primary need, secondary need)")
    pi.add_argument("file")
    pi.add_argument("--org", required=True, help="organisation id, URN or LAESTAB")
    pi.set_defaults(fn=cmd_pupils_import)

    t = sub.add_parser("token", help="issue a bearer token (printed alone on stdout)")
    t.add_argument("--sub", required=True)
    t.add_argument("--org", required=True, help="organisation id, URN or LAESTAB")
    t.add_argument("--roles", required=True, help="comma-separated roles")
    t.add_argument("--hours", type=float, default=8)
    t.set_defaults(fn=cmd_token)

    d = sub.add_parser("deadletters", help="list or replay dead letters")
    d.add_argument("action", choices=("list", "replay"))
    d.add_argument("services", nargs="*", default=[])
    d.add_argument("--event-id")
    d.set_defaults(fn=cmd_deadletters)

    ob = sub.add_parser("outbox", help="outbox backlog per service")
    ob.add_argument("action", choices=("backlog",))
    ob.add_argument("services", nargs="*", default=[], help="default: all")
    ob.set_defaults(fn=cmd_outbox)

    c = sub.add_parser("contracts", help="event catalogue")
    c.add_argument("action", choices=("asyncapi",))
    c.set_defaults(fn=cmd_contracts)

    demo = sub.add_parser("demo", help="onboard the demo trust and partner school")
    demo.set_defaults(fn=cmd_demo)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    return args.fn(args) or 0


if __name__ == "__main__":
    sys.exit(main())

"""senctl: the platform's admin command line.

    senctl keys create [--dir DIR]
    senctl migrate [SERVICE ...]
    senctl serve SERVICE
    senctl org onboard --name N --kind K [--urn U --laestab L --phase P --contact-email E]
    senctl pupils import FILE --org URN [--rejected OUT.csv] [--json]
    senctl staff add --email E --name N --org ORG --roles r1,r2 | list [--org ORG]
    senctl token --sub USER --org ORG --roles r1,r2 [--hours H]
    senctl token revoke (--jti JTI | --sub USER)
    senctl deadletters list [SERVICE ...] | replay SERVICE [--event-id ID] [--transient] [--dry-run]
    senctl outbox backlog
    senctl contracts asyncapi
    senctl demo                (the demo trust, schools, pupils, staff, agreement)
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


def sentence(message):
    """A validation message as the tail of a sentence: "Must be one of: a, b." ->
    "must be one of a, b"."""
    text = str(message).strip().rstrip(".")
    text = text.replace("one of: ", "one of ")
    return text[:1].lower() + text[1:]


def explain(what, detail=None, errors=None):
    """Tell the operator, in sentences, why `what` did not happen (on stderr)."""
    header = f"Could not {what}"
    if detail and not detail.startswith("Check these fields"):
        header += f": {detail[:1].lower()}{detail[1:].rstrip('.')}"
    lines = [header + "."]
    for field, messages in sorted((errors or {}).items()):
        for message in messages if isinstance(messages, list) else [messages]:
            lines.append(f"  {field}: {sentence(message)}")
    print("\n".join(lines), file=sys.stderr)


def _metadata(service):
    import importlib
    return importlib.import_module(f"services.{service}.models").Base.metadata


def _find_org(db, key):
    """An organisation by id, URN, LAESTAB or exact name (the trust has no URN)."""
    from sqlalchemy import select

    from services.pupils import queries
    from services.pupils.models import Organisation
    found = queries.find_organisation(db, key)
    if found is None:
        with db.session() as s:
            named = s.execute(select(Organisation).where(Organisation.name == key)
                              ).scalars().all()
        found = named[0] if len(named) == 1 else None
    return found


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
        explain("migrate", f"there is no service called {', '.join(sorted(unknown))}; "
                           f"the services are {', '.join(settings.SERVICES)}")
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
    # eventlet without dnspython (~9 MB less a service); the kit resolves names in
    # OS threads instead, so a slow lookup still holds no other work
    # (services/common/resolver.py)
    os.environ.setdefault("EVENTLET_NO_GREENDNS", "yes")
    os.execv(sys.executable, [sys.executable, "-m", "nameko", "run", "--config", config,
                              SERVICE_CLASSES[args.service]])


def cmd_onboard(args):
    from marshmallow import ValidationError

    from services.common.errors import DomainError
    from services.common.problems import Problem, flatten_errors
    from services.pupils.commands import organisations
    from services.pupils.schemas import OrganisationCreateSchema
    raw = {k: v for k, v in {"name": args.name, "kind": args.kind, "urn": args.urn,
                             "laestab": args.laestab, "phase": args.phase,
                             "contact_email": args.contact_email}.items() if v is not None}
    try:
        data = OrganisationCreateSchema().load(raw)
        org = organisations.onboard(_pupils_db(), data, actor="senctl")
    except ValidationError as exc:
        explain("onboard the organisation", errors=flatten_errors(exc.messages))
        return 2
    except (Problem, DomainError) as exc:
        explain("onboard the organisation", exc.detail, exc.errors)
        return 2
    print(org.id)
    return 0


def cmd_staff(args):
    """The staff directory: give a person roles at an organisation (the first trust
    admin, before anyone can sign in to the portal), or list it as JSON lines."""
    from marshmallow import ValidationError

    from services.common.errors import DomainError
    from services.common.paging import MAX_OFFSET
    from services.common.problems import Problem, flatten_errors
    from services.pupils import queries
    from services.pupils.commands import staff
    from services.pupils.schemas import StaffCreateSchema, StaffMemberSchema
    db = _pupils_db()
    org = _find_org(db, args.org) if args.org else None
    if args.org and org is None:
        explain(f"{args.action} staff", f"there is no organisation with the id, URN, "
                                        f"LAESTAB or name {args.org}")
        return 2
    if args.action == "list":
        from services.common.auth import Principal
        everyone = Principal("senctl", "-", frozenset({"trust_admin"}), org_kind="trust")
        with db.session() as s:
            page = queries.list_members(s, everyone, {
                "org_id": org.id if org else None, "limit": MAX_OFFSET, "offset": 0})
        for member in page["items"]:
            print(json.dumps(StaffMemberSchema().dump(member), default=str))
        return 0
    if org is None or not args.email or not args.name or not args.roles:
        explain("add the staff member", "give --email, --name, --org and --roles")
        return 2
    try:
        body = StaffCreateSchema().load({
            "email": args.email, "name": args.name, "org_id": org.id,
            "roles": [r.strip() for r in args.roles.split(",") if r.strip()]})
        with db.unit_of_work() as uow:
            member = staff.add_member(uow, body, actor="senctl")
    except ValidationError as exc:
        explain("add the staff member", errors=flatten_errors(exc.messages))
        return 2
    except (Problem, DomainError) as exc:
        explain("add the staff member", exc.detail, exc.errors)
        return 2
    print(member.id)
    return 0


def cmd_pupils_import(args):
    """Import an MIS CSV export into a trust school or ARB, with a progress bar;
    prints a summary (counts and the first rejected rows) and writes the rejected rows,
    with a Reason column, to FILE.rejected.csv to correct and import again. Exits 1
    when any row was rejected (2 when the file could not be imported at all)."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    import click

    from services.common.access import PUPIL_SCHOOLS
    from services.common.errors import DomainError
    from services.common.problems import Problem
    from services.pupils import queries
    from services.pupils.commands import imports
    db = _pupils_db()
    org = queries.find_organisation(db, args.org)
    if org is None or org.kind not in PUPIL_SCHOOLS:
        explain("import the pupils",
                f"there is no trust school or ARB with the id, URN or LAESTAB {args.org}")
        return 2
    try:
        with open(args.file, "rb") as f:
            total = max(sum(1 for _ in f) - 1, 0)
    except OSError as exc:
        explain("import the pupils", f"cannot read {args.file} ({exc.strerror})")
        return 2
    today = datetime.now(ZoneInfo("Europe/London")).date()
    with open(args.file, encoding="utf-8-sig", newline="") as f, click.progressbar(
            length=total, label="Importing pupils", file=sys.stderr) as bar:
        try:
            report = imports.import_csv(db, org.id, f, actor="senctl", today=today,
                                        progress=lambda n: bar.update(n - bar.pos))
        except (Problem, DomainError) as exc:
            explain("import the pupils", exc.detail, exc.errors)
            return 2
    rejected_file = None
    if report.rejected:
        source = Path(args.file)
        rejected_file = Path(args.rejected) if args.rejected else source.with_name(
            source.stem + ".rejected.csv")
        with open(rejected_file, "w", encoding="utf-8", newline="") as out:
            report.write_rejected(out)
    print(json.dumps(report.as_dict()) if args.json else report.summary(rejected_file))
    return 1 if report.rejected else 0


def cmd_token(args):
    from services.common import auth
    from services.common.access import refused_roles
    if args.action == "revoke":
        if bool(args.jti) == bool(args.sub):
            explain("revoke tokens", "name one of --jti (one token) or --sub (every token "
                                     "of a person issued so far)")
            return 2
        item = auth.revoke(jti=args.jti, sub=args.sub)
        print(f"revoked {json.dumps(item)} in {auth.revocation_file()}", file=sys.stderr)
        return 0
    if not (args.sub and args.org and args.roles):
        explain("issue a token", "give --sub, --org and --roles")
        return 2
    org = _find_org(_pupils_db(), args.org)
    if org is None:
        explain("issue a token", f"there is no organisation with the id, URN, LAESTAB "
                                 f"or name {args.org}")
        return 2
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    unknown = sorted(set(roles) - auth.ROLES)
    if unknown or not roles:
        explain("issue a token", errors={"roles": [
            f"{', '.join(unknown) or 'none given'} is not a role; the roles are "
            f"{', '.join(sorted(auth.ROLES))}"]})
        return 2
    refused = refused_roles(roles, org.kind)
    if refused:
        explain("issue a token", errors={"roles": [
            f"a {org.kind.replace('_', ' ')} may not hold {', '.join(refused)}"]})
        return 2
    if args.hours <= 0 or args.hours * 3600 > auth.max_ttl_seconds():
        explain("issue a token", errors={"hours": [
            f"must be more than 0 and at most {auth.max_ttl_seconds() / 3600:g} "
            f"(JWT_MAX_TTL_SECONDS)"]})
        return 2
    print(auth.issue_token(args.sub, org.id, roles, ttl=timedelta(hours=args.hours),
                           org_kind=org.kind))
    return 0


def cmd_deadletters(args):
    from services.common.deadletters import list_dead_letters, replay_dead_letters
    if args.action == "list":
        for service in args.services or settings.SERVICES:
            for item in list_dead_letters(service):
                print(json.dumps({"service": service, **item}))
        return 0
    if len(args.services) != 1:
        explain("replay dead letters", "name exactly one service, for example "
                                       "`senctl deadletters replay notify`")
        return 2
    results = replay_dead_letters(args.services[0], event_id=args.event_id,
                                  transient_only=args.transient, dry_run=args.dry_run)
    for item in results:
        print(json.dumps({"replayed": item["action"] == "replayed", **item}))
    refused = [i for i in results if i["action"] == "refused"]
    for item in refused:
        print(f"not replayed: event {item['event_id']} ({item['kind']}): {item['why']}",
              file=sys.stderr)
    return 1 if refused else 0


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


def _examples(*lines):
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def _command(sub, name, help, *examples, description=None):
    return sub.add_parser(name, help=help, description=description or help[:1].upper() + help[1:],
                          epilog=_examples(*examples),
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def build_parser():
    from services.common.auth import ROLES
    from services.contracts.events import ORG_KINDS
    p = argparse.ArgumentParser(
        prog="senctl", description="The SEN trust platform's admin command line: keys, "
        "databases, services, organisations, pupils, tokens, dead letters and the demo.",
        epilog=_examples("senctl keys create", "senctl migrate",
                         "senctl org onboard --name 'Riverside Primary School' "
                         "--kind partner_school --urn 100001 --laestab 2021001",
                         "senctl demo", "senctl COMMAND --help   (each command's options)"),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    keys = _command(sub, "keys", "the trust's token signing keys",
                    "senctl keys create").add_subparsers(dest="action", required=True,
                                                         metavar="ACTION")
    k = _command(keys, "create", "create the trust's JWT key pair (RS256)",
                 "senctl keys create", "senctl keys create --dir /etc/sen/keys --force")
    k.add_argument("--dir", metavar="DIR",
                   help="where to write jwt_private.pem and jwt_public.pem "
                        "(default: var/keys, or $SEN_VAR_DIR/keys)")
    k.add_argument("--force", action="store_true",
                   help="replace an existing key pair (tokens signed with the old key "
                        "stop working)")
    k.set_defaults(fn=cmd_keys)

    m = _command(sub, "migrate", "migrate service databases to the latest schema and "
                                 "declare their event queues",
                 "senctl migrate", "senctl migrate pupils notify")
    m.add_argument("services", nargs="*", default=[], metavar="SERVICE",
                   help=f"services to migrate (default: all of {', '.join(settings.SERVICES)})")
    m.set_defaults(fn=cmd_migrate)

    s = _command(sub, "serve", "run one service in the foreground (nameko run)",
                 "senctl serve referrals",
                 "WEB_SERVER_ADDRESS=127.0.0.1:8004 senctl serve referrals")
    s.add_argument("service", choices=settings.SERVICES, metavar="SERVICE",
                   help=f"one of {', '.join(settings.SERVICES)}")
    s.set_defaults(fn=cmd_serve)

    org = _command(sub, "org", "organisations", "senctl org onboard --help").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    o = _command(org, "onboard", "onboard an organisation (publishes organisation.onboarded)",
                 "senctl org onboard --name 'Demo Special Schools Trust' --kind trust",
                 "senctl org onboard --name 'Oakfield Special School' --kind trust_school "
                 "--urn 100010 --laestab 8017010 --phase all_through "
                 "--contact-email office@oakfield.example")
    o.add_argument("--name", required=True, help="the organisation's name, as on GIAS")
    o.add_argument("--kind", required=True, metavar="KIND",
                   help=f"one of {', '.join(ORG_KINDS)}")
    o.add_argument("--urn", help="6-digit unique reference number (required for a school "
                                 "or ARB), e.g. 100010")
    o.add_argument("--laestab", help="7-digit LA and establishment number (required for a "
                                     "school or ARB), e.g. 8017010")
    o.add_argument("--phase", help="nursery, primary, middle, secondary, all_through or "
                                   "post_16")
    o.add_argument("--contact-email", metavar="EMAIL",
                   help="the office or SENCO address messages about the organisation go to")
    o.set_defaults(fn=cmd_onboard)

    st = _command(sub, "staff", "the staff directory: who holds which roles where",
                  "senctl staff add --email admin@trust.example --name 'Alex Morgan' "
                  "--org 'Demo Special Schools Trust' --roles trust_admin",
                  "senctl staff list --org 100010")
    st.add_argument("action", choices=("add", "list"), metavar="ACTION",
                    help="add (a membership: prints its id) or list (JSON lines)")
    st.add_argument("--email", help="add: the person's sign-in address")
    st.add_argument("--name", help="add: the person's name")
    st.add_argument("--org", metavar="ORG",
                    help="the organisation: its id, URN, LAESTAB or name (list: default all)")
    st.add_argument("--roles", metavar="ROLES",
                    help="add: comma-separated, e.g. senco,teacher")
    st.set_defaults(fn=cmd_staff)

    pupils = _command(sub, "pupils", "pupils", "senctl pupils import --help").add_subparsers(
        dest="action", required=True, metavar="ACTION")
    pi = _command(pupils, "import", "import an MIS CSV export (UPN, legal surname, forename, "
                                    "date of birth, year group, SEN provision, primary need, "
                                    "secondary need); prints a summary, writes the rejected "
                                    "rows to correct and import again, exits 1 if any",
                  "senctl pupils import arbor-export.csv --org 100010")
    pi.add_argument("file", metavar="FILE", help="the CSV file exported from the MIS")
    pi.add_argument("--org", required=True, metavar="ORG",
                    help="the trust school or ARB: its id, URN or LAESTAB")
    pi.add_argument("--rejected", metavar="OUT.csv", help="where to write the rejected rows "
                    "(default: FILE.rejected.csv beside FILE)")
    pi.add_argument("--json", action="store_true", help="print the full report as JSON")
    pi.set_defaults(fn=cmd_pupils_import)

    t = _command(sub, "token", "issue a bearer token (printed alone on stdout), or revoke "
                               "tokens for a lost device",
                 "senctl token --sub jo@riverside.example --org 100001 --roles partner_referrer",
                 "senctl token --sub admin@demo-trust.example --org 'Demo Special Schools "
                 "Trust' --roles trust_admin --hours 1",
                 "senctl token revoke --sub jo@riverside.example",
                 "senctl token revoke --jti 6f1c...")
    t.add_argument("action", nargs="?", choices=("issue", "revoke"), default="issue",
                   metavar="ACTION", help="issue (the default) or revoke")
    t.add_argument("--sub", metavar="USER",
                   help="who the token is for (an email address); revoke: every token of "
                        "theirs issued so far")
    t.add_argument("--org", metavar="ORG",
                   help="the organisation they act for: its id, URN, LAESTAB or name")
    t.add_argument("--roles", metavar="ROLES",
                   help=f"comma-separated, from {', '.join(sorted(ROLES))}")
    t.add_argument("--hours", type=float, default=8, metavar="H",
                   help="how long the token is valid (default: 8; at most JWT_MAX_TTL_SECONDS)")
    t.add_argument("--jti", metavar="JTI", help="revoke: the one token with this id")
    t.set_defaults(fn=cmd_token)

    d = _command(sub, "deadletters", "list or replay events a service could not handle",
                 "senctl deadletters list", "senctl deadletters list notify",
                 "senctl deadletters replay notify",
                 "senctl deadletters replay notify --event-id 3f2c...",
                 "senctl deadletters replay notify --dry-run",
                 "senctl deadletters replay referrals --transient")
    d.add_argument("action", choices=("list", "replay"), metavar="ACTION",
                   help="list (JSON lines: event, handler, reason) or replay (back to the "
                        "service's queue)")
    d.add_argument("services", nargs="*", default=[], metavar="SERVICE",
                   help="list: the services to look at (default: all); replay: exactly one")
    d.add_argument("--event-id", metavar="ID", help="replay only this event")
    d.add_argument("--transient", action="store_true",
                   help="replay only what failed on a fault that may have cleared")
    d.add_argument("--dry-run", action="store_true", help="show what replay would do")
    d.set_defaults(fn=cmd_deadletters)

    ob = _command(sub, "outbox", "events waiting to be published, per service",
                  "senctl outbox backlog", "senctl outbox backlog referrals")
    ob.add_argument("action", choices=("backlog",), metavar="ACTION", help="backlog")
    ob.add_argument("services", nargs="*", default=[], metavar="SERVICE",
                    help="services to look at (default: all)")
    ob.set_defaults(fn=cmd_outbox)

    c = _command(sub, "contracts", "the event catalogue",
                 "senctl contracts asyncapi > docs/asyncapi.json")
    c.add_argument("action", choices=("asyncapi",), metavar="ACTION",
                   help="asyncapi: print the AsyncAPI document of every event")
    c.set_defaults(fn=cmd_contracts)

    demo = _command(sub, "demo", "seed the demo trust, its schools, pupils, staff directory "
                                 "and this term's agreement (once; safe to run again)",
                    "senctl demo")
    demo.set_defaults(fn=cmd_demo)
    return p


def main(argv=None):
    from sqlalchemy.exc import OperationalError, ProgrammingError
    args = build_parser().parse_args(argv)
    try:
        return args.fn(args) or 0
    except (OperationalError, ProgrammingError) as exc:
        explain(f"run `senctl {args.command}`",
                f"a database is missing a table or cannot be reached "
                f"({type(exc.orig).__name__}); run `senctl migrate` first and check "
                f"DATABASE_URL")
        return 2
    except RuntimeError as exc:  # e.g. no private key for `senctl token`
        explain(f"run `senctl {args.command}`", str(exc))
        return 2
    except OSError as exc:  # the broker (or another server) cannot be reached
        explain(f"run `senctl {args.command}`",
                f"a server could not be reached ({exc.strerror or exc}); check AMQP_URI "
                f"and that RabbitMQ is running")
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""senctl reads well: every command and option has help text, every command an
example, and its errors are sentences naming the option, never raw JSON."""

import argparse
import io
from contextlib import redirect_stderr, redirect_stdout

import pytest
from nameko import config as nameko_config

from services.cli import senctl
from services.common.migrations import upgrade


def commands(parser, path=()):
    """Every (path, parser) of senctl, leaves and groups."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from commands(child, path + (name,))


def test_every_command_has_an_example_and_every_option_help():
    found = list(commands(senctl.build_parser()))
    assert len(found) > 10
    for path, parser in found:
        assert parser.epilog and "examples:" in parser.epilog, path
        assert all("senctl " in line
                   for line in parser.epilog.splitlines()[1:]), path
        assert parser.description, path
        for action in parser._actions:
            if isinstance(action, (argparse._HelpAction, argparse._SubParsersAction)):
                continue
            assert action.help, (path, action.dest)
        text = parser.format_help()
        assert "examples:" in text and "senctl" in text


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = senctl.main(list(argv))
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def pupils_db(tmp_path):
    url = f"sqlite:///{tmp_path / 'pupils.sqlite3'}"
    upgrade("pupils", url)
    with nameko_config.patch({"PUPILS_DATABASE_URL": url}):
        yield url


def test_onboard_errors_are_sentences_naming_the_field(pupils_db):
    code, _, err = run("org", "onboard", "--name", "X", "--kind", "school")
    assert code == 2
    assert err.splitlines() == [
        "Could not onboard the organisation.",
        "  kind: must be one of trust, trust_school, arb, partner_school"]
    code, _, err = run("org", "onboard", "--name", "Oak", "--kind", "trust_school")
    assert code == 2 and "  laestab: required for a school or ARB" in err.splitlines()
    assert "  urn: required for a school or ARB" in err.splitlines()
    assert "{" not in err
    args = ("org", "onboard", "--name", "Oak", "--kind", "arb", "--urn", "140001",
            "--laestab", "8011001")
    assert run(*args)[0] == 0
    code, _, err = run(*args)
    assert code == 2 and err.splitlines()[0] == (
        "Could not onboard the organisation: an organisation with this URN or LAESTAB "
        "is already onboarded.")
    assert "  urn: already onboarded" in err.splitlines()


def test_token_and_other_errors_are_sentences(pupils_db):
    assert run("org", "onboard", "--name", "Trust", "--kind", "trust")[0] == 0
    code, _, err = run("token", "--sub", "a@b.example", "--org", "nowhere", "--roles", "senco")
    assert code == 2 and err.strip() == (
        "Could not issue a token: there is no organisation with the id, URN, LAESTAB or name "
        "nowhere.")
    code, _, err = run("migrate", "pupil")
    assert code == 2 and "there is no service called pupil; the services are" in err


def test_unknown_role_is_named(pupils_db):
    from services.common.db import open_database
    from services.pupils.commands.organisations import onboard
    from services.pupils.models import Base
    org = onboard(open_database("pupils", Base.metadata, pupils_db),
                  {"name": "Trust", "kind": "trust"}, actor="t")
    code, out, err = run("token", "--sub", "a@b.example", "--org", org.id, "--roles",
                         "trust_admin,wizard")
    assert code == 2 and out == ""
    assert err.splitlines()[1].startswith("  roles: wizard is not a role; the roles are ")
    code, out, _ = run("token", "--sub", "a@b.example", "--org", org.id, "--roles", "trust_admin")
    assert code == 0 and out.count(".") == 2  # a JWT alone on stdout


def test_staff_add_bootstraps_the_first_trust_admin_and_lists_the_directory(pupils_db):
    import json
    assert run("org", "onboard", "--name", "Demo Trust", "--kind", "trust")[0] == 0
    code, out, err = run("staff", "add", "--email", "Admin@Trust.example", "--name", "Alex",
                         "--org", "Demo Trust", "--roles", "trust_admin")
    assert code == 0, err
    member_id = out.strip()
    code, out, _ = run("staff", "list", "--org", "Demo Trust")
    [member] = [json.loads(line) for line in out.splitlines()]
    assert member["id"] == member_id and member["email"] == "admin@trust.example"
    assert member["roles"] == ["trust_admin"] and member["active"] is True
    code, _, err = run("staff", "add", "--email", "admin@trust.example", "--name", "Alex",
                       "--org", "Demo Trust", "--roles", "trust_admin")
    assert code == 2 and err.splitlines() == [
        "Could not add the staff member: this person already has a membership at this "
        "organisation.", "  email: already in the directory at this organisation"]
    code, _, err = run("staff", "add", "--email", "x@trust.example", "--name", "X",
                       "--org", "Demo Trust", "--roles", "wizard")
    assert code == 2 and err.splitlines()[1].startswith("  roles.0: must be one of ")
    code, _, err = run("staff", "add", "--email", "x@trust.example", "--org", "Demo Trust")
    assert code == 2 and "give --email, --name, --org and --roles" in err


def test_an_unreachable_broker_is_a_sentence_not_a_traceback():
    from tests.conftest import free_port
    with nameko_config.patch({"AMQP_URI": f"amqp://guest:guest@127.0.0.1:{free_port()}/"}):
        code, _, err = run("deadletters", "list", "notify")
    assert code == 2 and err.startswith("Could not run `senctl deadletters`: a server could "
                                        "not be reached")
    assert "Traceback" not in err

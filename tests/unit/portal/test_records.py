"""The portal's own state: sessions with idle and absolute timeouts, sign out
everywhere, single-use expiring sign-in links, one-time OIDC states and rate
limits, on a real SQLite database migrated with Alembic."""

from datetime import timedelta

import pytest

from services.common.db import open_database, utcnow
from services.common.migrations import upgrade
from services.portal import commands, queries
from services.portal.adapters import web
from services.portal.models import Base

CHOICE = {"org_id": "o1", "org_name": "Oakfield", "org_kind": "trust_school",
          "roles": ["senco"], "label": "Oakfield (senco)"}


@pytest.fixture
def db(tmp_path):
    url = f"sqlite:///{tmp_path}/portal.sqlite3"
    upgrade("portal", url)
    return open_database("portal", Base.metadata, url)


def test_a_session_lives_until_idle_or_absolute_timeout(db):
    sid, token = commands.create_session(db, "a@x.example", "A", "oidc", [CHOICE])
    row = queries.find_session(db, token)
    assert row.id == sid and row.org_id == "o1" and row.roles == ["senco"]
    assert queries.find_session(db, "not-the-token") is None
    # idle: 31 minutes without a request ends it
    assert queries.find_session(db, token, now=utcnow() + timedelta(minutes=31)) is None
    assert queries.find_session(db, token) is None  # and it stays ended

    _, token = commands.create_session(db, "a@x.example", "A", "oidc", [CHOICE])
    start = utcnow()
    for minutes in range(20, 600, 20):  # active all day: every 20 minutes
        assert queries.find_session(db, token, now=start + timedelta(minutes=minutes))
    assert queries.find_session(db, token, now=start + timedelta(hours=10, minutes=1)) is None


def test_several_memberships_wait_for_a_choice_and_sign_out_everywhere(db):
    other = dict(CHOICE, org_id="o2", org_name="Brook")
    sid, token = commands.create_session(db, "a@x.example", "A", "oidc", [CHOICE, other])
    assert queries.find_session(db, token).org_id is None
    assert not commands.choose(db, sid, 5)
    assert commands.choose(db, sid, 1)
    assert queries.find_session(db, token).org_name == "Brook"
    _, second = commands.create_session(db, "a@x.example", "A", "email", [CHOICE])
    _, someone_else = commands.create_session(db, "b@x.example", "B", "email", [CHOICE])
    assert commands.end_all_sessions(db, "a@x.example") == 2
    assert queries.find_session(db, token) is None and queries.find_session(db, second) is None
    assert queries.find_session(db, someone_else) is not None


def test_a_link_works_once_and_expires(db):
    token, expires = commands.create_link(db, "jo@school.example")
    assert expires - utcnow() <= timedelta(minutes=15)
    assert queries.link_is_usable(db, token)
    assert commands.use_link(db, token) == "jo@school.example"
    assert commands.use_link(db, token) is None  # single use
    assert not queries.link_is_usable(db, token)
    late, _ = commands.create_link(db, "jo@school.example")
    assert commands.use_link(db, late, now=utcnow() + timedelta(minutes=16)) is None
    assert commands.use_link(db, "made-up") is None


def test_an_oidc_state_is_taken_once(db):
    commands.save_login_state(db, "state-1", "nonce-1", "verifier-1")
    assert commands.take_login_state(db, "state-1") == ("nonce-1", "verifier-1")
    assert commands.take_login_state(db, "state-1") is None
    assert commands.take_login_state(db, None) is None


def test_rate_limits_count_per_key_within_a_window(db):
    assert all(commands.hit(db, "email", "Jo@School.example", 3) for _ in range(3))
    assert not commands.hit(db, "email", "jo@school.example", 3)  # case-insensitive
    assert commands.hit(db, "email", "sam@school.example", 3)
    assert commands.hit(db, "email", "jo@school.example", 3, now=utcnow() + timedelta(minutes=16))


def test_secrets_are_stored_hashed(db):
    from sqlalchemy import select

    from services.portal.models import link_tokens, sessions
    _, token = commands.create_session(db, "a@x.example", "A", "oidc", [CHOICE])
    link, _ = commands.create_link(db, "a@x.example")
    with db.session() as s:
        hashes = s.execute(select(sessions.c.token_hash)).scalars().all() + \
            s.execute(select(link_tokens.c.token_hash)).scalars().all()
    assert token not in hashes and link not in hashes
    assert commands.digest(token) in hashes and commands.digest(link) in hashes


@pytest.mark.parametrize("value,ok", [("/referrals/r1", True), ("/", True), ("//evil.example", False),
                                      ("https://evil.example/", False), ("/\\evil", False),
                                      ("", False), (None, False)])
def test_only_local_paths_are_places_to_return_to(value, ok):
    assert (web.safe_next(value) is not None) is ok

"""Shared fixtures. eventlet is patched first: nameko needs it, and pytest
does not do it for us (docs/architecture.md, "Testing")."""

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

# Before anything imports sockets or threads. (This is also why the suite is
# not run with pytest-xdist: its workers hang once their threads are patched;
# scripts/run-tests.sh runs shards as separate processes instead.)
eventlet.monkey_patch()

import os  # noqa: E402
import shutil  # noqa: E402
import socket  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from email import message_from_bytes, policy  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import requests  # noqa: E402
from nameko import config as nameko_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# Settings every test process shares: fast relay and retries, a private var dir.
os.environ.setdefault("SEN_VAR_DIR", f"/tmp/sen-test-{os.getpid()}")
os.environ["OUTBOX_POLL_SECONDS"] = "0.2"
os.environ["HANDLER_BACKOFF_SECONDS"] = "0.05"
os.environ["HANDLER_MAX_ATTEMPTS"] = "3"
os.environ["HANDLER_RETRY_DELAYS"] = "0.3,0.6"
os.environ["DELIVERY_BACKOFF_SECONDS"] = "0.2"
os.environ["DELIVERY_SWEEP_SECONDS"] = "0.2"
os.environ["DELIVERY_LEASE_SECONDS"] = "3"

from services.common import auth  # noqa: E402

_PRIVATE, _PUBLIC = auth.generate_key_pair()
os.environ["JWT_PRIVATE_KEY"] = _PRIVATE.decode()
os.environ["JWT_PUBLIC_KEY"] = _PUBLIC.decode()


def pytest_configure(config):
    """nameko's fixtures (rabbit_config, rabbit_manager) use the broker the
    settings name (AMQP_URI, RABBIT_API_URI) unless --amqp-uri/--rabbit-api-uri say."""
    amqp, api = os.environ.get("AMQP_URI"), os.environ.get("RABBIT_API_URI")
    if amqp and config.getoption("RABBIT_AMQP_URI") == "pyamqp://guest:guest@localhost:5672/":
        config.option.RABBIT_AMQP_URI = amqp.split(";")[0]
    if api and config.getoption("RABBIT_API_URI") == "http://guest:guest@localhost:15672":
        config.option.RABBIT_API_URI = api.rstrip("/").removesuffix("/api")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# Organisation ids a test has said the kind of (kind_of(org) when not given).
ORG_KINDS = {}


def kind_of(org, roles=()):
    """The kind of organisation a test token is for, when the test does not say
    (`kind=`): what the test registered with `ORG_KINDS`, else "partner_school"
    for a partner_referrer, a trust school for an id naming a school, "trust" for
    an id naming the trust or roles only the trust holds, otherwise a trust school."""
    if org in ORG_KINDS:
        return ORG_KINDS[org]
    roles, name = set(roles), org.lower()
    if "partner_referrer" in roles or "partner" in name:
        return "partner_school"
    if "school" in name or "arb" in name:
        return "trust_school"
    if "trust" in name or roles & {"trust_admin", "outreach", "outreach_lead", "portal"}:
        return "trust"
    return "trust_school"


def make_token(org, *roles, sub="user@example.org", kind=None, **kwargs):
    return auth.issue_token(sub, org, list(roles), org_kind=kind or kind_of(org, roles),
                            **kwargs)


@pytest.fixture
def token():
    """token(org, *roles, sub=..., kind=..., pupils=...) -> a signed bearer token.
    `kind` is the organisation's kind (see kind_of for the default)."""
    yield make_token
    ORG_KINDS.clear()


def bearer(tok):
    return {"Authorization": f"Bearer {tok}"}


# -- databases --------------------------------------------------------------------

def _postgres_admin_url():
    return os.environ.get("TEST_POSTGRES_URL")


def _fresh_postgres(prefix):
    import sqlalchemy as sa
    admin = _postgres_admin_url()
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    url = sa.engine.make_url(admin).set(database=name)
    return url.render_as_string(hide_password=False), name


def _drop_postgres(name):
    import sqlalchemy as sa

    from services.common.db import dispose_engines
    dispose_engines()
    engine = sa.create_engine(_postgres_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


@pytest.fixture
def database_urls(tmp_path):
    """database_urls(service) -> URL of a fresh SQLite database, migrated."""
    from services.common.migrations import upgrade

    def make(service, engine="sqlite"):
        if engine == "postgresql":
            url, name = _fresh_postgres(f"sen_{service}")
            created.append(name)
        else:
            url = f"sqlite:///{tmp_path / (service + '-' + uuid.uuid4().hex[:6])}.sqlite3"
        upgrade(service, url)
        return url

    created = []
    yield make
    for name in created:
        _drop_postgres(name)


def _engines():
    engines = ["sqlite"]
    if _postgres_admin_url():
        engines.append("postgresql")
    return engines


@pytest.fixture(params=_engines())
def engine_name(request):
    """Parametrise a persistence test over SQLite and, where TEST_POSTGRES_URL
    is set (CI sets it), PostgreSQL."""
    return request.param


# -- SMTP -------------------------------------------------------------------------

class Mailbox:
    def __init__(self, directory, port):
        self.dir = Path(directory)
        self.port = port

    def messages(self):
        return [message_from_bytes(p.read_bytes(), policy=policy.default)
                for p in sorted(self.dir.glob("*.eml"))]

    def transactions(self):
        log = self.dir / "transactions.log"
        return log.read_text().splitlines() if log.exists() else []

    def wait_for(self, count, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = self.messages()
            if len(msgs) >= count:
                return msgs
            time.sleep(0.1)
        return self.messages()


def start_mailcatcher(directory, port):
    proc = subprocess.Popen([sys.executable, "-m", "services.cli.mailcatcher", "--dir",
                             str(directory), "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return proc
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("SMTP catcher did not start")


@pytest.fixture
def mailbox(tmp_path):
    """A real SMTP server (aiosmtpd, in its own process) and what it received."""
    port = free_port()
    directory = tmp_path / "mail"
    proc = start_mailcatcher(directory, port)
    with nameko_config.patch({"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port)}):
        yield Mailbox(directory, port)
    proc.terminate()
    proc.wait(5)
    shutil.rmtree(directory, ignore_errors=True)


def wait_until(predicate, timeout=10, interval=0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = predicate()
        if result:
            return result
        time.sleep(interval)
    return predicate()


@pytest.fixture
def http():
    with requests.Session() as session:
        yield session

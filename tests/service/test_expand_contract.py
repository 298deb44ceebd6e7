"""Upgrades without downtime, for the schema (deploy/README.md §6): a release's
migration *expands* the schema (a nullable column with a server default, a new
table) while the previous release's code keeps serving; a later release
*contracts* it. The migration runs as the Job would, in its own process, while
this release's referrals service takes referrals without pause."""

import shutil
import subprocess
import sys
import threading
import time

from sqlalchemy import create_engine, text

from services.referrals.service import ReferralsService
from tests.conftest import ROOT, bearer
from tests.helpers import referral_body

EXPAND = '''"""Expand: referrals get an urgency (old code never sets it: the server default
fills it) and a table of urgency reviews. Contract (a later release): drop the
server default once every writer sets urgency itself."""
import sqlalchemy as sa
from alembic import op

revision = "9001"
down_revision = "{head}"


def upgrade():
    op.add_column("referrals", sa.Column("urgency", sa.String(20), nullable=True,
                                         server_default="routine"))
    op.create_table("urgency_reviews",
                    sa.Column("id", sa.Integer, primary_key=True),
                    sa.Column("referral_id", sa.String(36), nullable=False, index=True))


def downgrade():
    op.drop_table("urgency_reviews")
    op.drop_column("referrals", "urgency")
'''

JOB = '''
import sys
from alembic import command
from alembic.config import Config
cfg = Config()
cfg.set_main_option("script_location", sys.argv[1])
cfg.attributes.update(service="referrals", url=sys.argv[2])
command.upgrade(cfg, "head")
'''


def test_an_expand_migration_runs_while_the_previous_code_serves(run_service, database_urls,
                                                                 engine_name, token, tmp_path):
    url = database_urls("referrals", engine_name)
    base, _, _ = run_service(ReferralsService, db_url=url)
    engine = create_engine(url)
    with engine.connect() as conn:
        head = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    migrations = tmp_path / "migrations"
    shutil.copytree(ROOT / "services" / "referrals" / "migrations", migrations,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (migrations / "versions" / "9001_expand_urgency.py").write_text(EXPAND.format(head=head))

    import requests
    session = requests.Session()
    headers = bearer(token("school-a", "partner_referrer"))
    results, stop = [], threading.Event()

    def submit():
        while not stop.is_set():
            try:
                resp = session.post(base + "/api/v1/referrals", json=referral_body(),
                                    headers=headers, timeout=30)
                results.append((time.monotonic(), resp.status_code))
            except requests.RequestException as exc:
                results.append((time.monotonic(), type(exc).__name__))

    writer = threading.Thread(target=submit)
    writer.start()
    time.sleep(1.0)
    began = time.monotonic()
    job = subprocess.run([sys.executable, "-c", JOB, str(migrations), url], cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    ended = time.monotonic()
    time.sleep(1.5)  # the previous code keeps writing on the expanded schema
    stop.set()
    writer.join(30)
    assert job.returncode == 0, job.stderr[-3000:]

    during = [s for t, s in results if began <= t <= ended]
    after = [s for t, s in results if t > ended]
    print(f"\nexpand migration took {ended - began:.2f} s; requests: {len(results)} "
          f"({len(during)} during, {len(after)} after), statuses {set(s for _, s in results)}")
    assert results and all(s == 201 for _, s in results), [s for _, s in results if s != 201]
    assert after, "nothing was written after the migration"
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "9001"
        urgencies = conn.execute(text("SELECT urgency, count(*) FROM referrals GROUP BY urgency"))
        assert dict(urgencies.all()) == {"routine": len(results)}
    engine.dispose()
    listed = session.get(base + "/api/v1/referrals", headers=headers, timeout=30)
    assert listed.status_code == 200, listed.text  # the old code reads the expanded table

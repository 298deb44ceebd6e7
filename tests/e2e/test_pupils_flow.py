"""Pupils end to end, as processes: `senctl pupils import` into the running
service's database, the HTTP API over what was imported, the outbox relayed
to the broker, and an accepted referral (published as the referrals service
does) linking the pupil by UPN."""

import sqlite3

from nameko import config as nameko_config
from nameko.standalone.events import event_dispatcher
from stdnum.gb.upn import calc_check_digit

from services.contracts import make_event
from tests.conftest import bearer, wait_until


def upn(serial):
    body = f"801200005{serial:03d}"
    return calc_check_digit(body) + body


def test_import_list_and_referral_link(platform_factory, http, tmp_path):
    platform = platform_factory("pupils")
    school = platform.senctl("org", "onboard", "--name", "Oak Special School", "--kind",
                             "trust_school", "--urn", "140001", "--laestab", "8011001")
    csv_path = tmp_path / "mis.csv"
    csv_path.write_text("UPN,Legal Surname,Forename,DOB,NC Year,SEN Provision,Primary Need,"
                        "Secondary Need\n"
                        + "".join(f"{upn(n)},Taylor,Sam{n},01/03/2015,5,K,ASD,\n"
                                  for n in range(1, 4))
                        + "A801200005001,Bad,Row,01/03/2015,5,K,ASD,\n")
    # one row rejected: exit 1, a summary, and the row to correct in mis.rejected.csv
    report = platform.senctl("pupils", "import", str(csv_path), "--org", "140001", returncode=1)
    assert "3 imported (3 new" in report and "1 rejected" in report
    assert (tmp_path / "mis.rejected.csv").read_text().startswith("UPN,")

    token = platform.senctl("token", "--sub", "senco@oak", "--org", "140001",
                            "--roles", "senco")
    listed = http.get(platform.url("pupils") + "/api/v1/pupils", params={"need_type": "ASD"},
                      headers=bearer(token))
    assert listed.status_code == 200 and listed.json()["total"] == 3
    pupil = next(p for p in listed.json()["items"] if p["upn"] == upn(2))

    def relayed():  # the service's relay published the import's events
        with sqlite3.connect(platform.database("pupils")) as conn:
            return conn.execute("SELECT count(*) FROM outbox WHERE routing_key="
                                "'pupil.registered' AND published_at IS NOT NULL").fetchone()[0]
    assert wait_until(lambda: relayed() == 3, timeout=15)

    event = make_event("referral.accepted", {
        "referral_id": "r-e2e-1", "reference": "REF-E2E-0001", "school_org_id": school,
        "contact": {"name": "Jo Smith", "email": "jo@oak.example"}, "pupil_upn": upn(2),
    }, org_id=school, actor="lead@trust.example")
    with nameko_config.patch({"AMQP_URI": platform.amqp_uri}):
        event_dispatcher()("referrals", "referral.accepted", event)

    def linked():
        resp = http.get(f"{platform.url('pupils')}/api/v1/pupils/{pupil['id']}",
                        headers=bearer(token))
        return resp.json()["referrals"]
    links = wait_until(linked, timeout=15)
    assert [x["reference"] for x in links] == ["REF-E2E-0001"], platform.log("pupils")

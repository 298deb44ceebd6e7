"""CPD end to end, as processes: the trust is onboarded in pupils, cpd learns of
it through organisation.onboarded; a hub course is published, a partner
school's teacher books, attends, and anyone can verify the certificate."""

import json
import sqlite3
from datetime import UTC, datetime, timedelta

from services.contracts import parse_event
from tests.conftest import bearer, wait_until


def test_course_to_verified_certificate(platform_factory, http):
    platform = platform_factory("pupils", "cpd")
    trust = platform.senctl("org", "onboard", "--name", "Oak Trust", "--kind", "trust")
    school = platform.senctl("org", "onboard", "--name", "Riverside Primary School",
                             "--kind", "partner_school", "--urn", "100001",
                             "--laestab", "2021001")
    admin = bearer(platform.senctl("token", "--sub", "hub-admin", "--org", trust,
                                   "--roles", "cpd_admin"))
    teacher = bearer(platform.senctl("token", "--sub", "sam@riverside.example", "--org", school,
                                     "--roles", "teacher"))
    api = platform.url("cpd") + "/api/v1/cpd"

    def cpd_knows(org_id):
        with sqlite3.connect(platform.database("cpd")) as conn:
            return conn.execute("SELECT kind FROM organisations WHERE org_id=?",
                                (org_id,)).fetchone()
    assert wait_until(lambda: cpd_knows(trust) and cpd_knows(school), timeout=20), \
        platform.log("cpd")

    course = http.post(api + "/courses", headers=admin, json={
        "title": "Autism in the classroom", "summary": "One morning.", "audience": "Teachers",
        "area_of_need": "communication_and_interaction", "cpd_hours": 3,
        "price_pence": 5000}).json()
    start = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    session = http.post(f"{api}/courses/{course['id']}/sessions", headers=admin, json={
        "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=3)).isoformat(),
        "venue": "Hub", "facilitator": "Dr Khan", "capacity": 10}).json()
    assert http.post(f"{api}/courses/{course['id']}/publish", headers=admin).ok

    booking = http.post(f"{api}/sessions/{session['id']}/bookings", headers=teacher,
                        json={"attendee": {"name": "Sam Lee", "email": "sam@riverside.example"}})
    assert booking.status_code == 201, booking.text
    assert booking.json()["charge_pence"] == 5000  # a partner school pays
    with sqlite3.connect(platform.database("cpd")) as conn:  # the session has begun
        begun = (datetime.now(UTC) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        conn.execute("UPDATE sessions SET starts_at=? WHERE id=?", (begun, session["id"]))
    attended = http.put(f"{api}/sessions/{session['id']}/attendance", headers=admin,
                        json={"records": [{"booking_id": booking.json()["id"],
                                           "attended": True}]})
    (cert_id,) = attended.json()["certificates_issued"]
    cert = http.get(f"{api}/certificates/{cert_id}", headers=teacher).json()
    check = http.get(platform.url("cpd") + cert["verify_path"])
    assert check.json()["provider"] == "Oak Trust" and check.json()["holder_name"] == "Sam Lee"
    report = http.get(f"{api}/reports/need-trend", headers=admin)
    assert report.status_code == 200, report.text

    # every event cpd wrote is valid, and the relay published them all
    def all_published():
        with sqlite3.connect(platform.database("cpd")) as conn:
            rows = conn.execute("SELECT body, published_at FROM outbox").fetchall()
        return rows if rows and all(p for _, p in rows) else None
    rows = wait_until(all_published, timeout=15)
    assert rows, platform.log("cpd")
    types = sorted(parse_event(json.loads(b))["type"] for b, _ in rows)
    assert types == ["booking.confirmed", "certificate.issued", "course.published"]

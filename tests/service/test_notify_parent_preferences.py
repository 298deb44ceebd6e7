"""A parent sets and reads their own message preferences, and nobody else's."""

import pytest

from services.notify.models import RecipientPreference
from services.notify.service import NotifyService
from tests.conftest import bearer

PATH = "/api/v1/notification-preferences"


@pytest.fixture
def api(run_service, database_urls):
    from services.common.db import open_database
    from services.notify.models import Base
    url = database_urls("notify")
    base, _, _ = run_service(NotifyService, db_url=url)
    return base + PATH, open_database("notify", Base.metadata, url)


def test_a_parent_keeps_their_own_preferences(api, http, token):
    url, db = api
    parent = bearer(token("school-1", "parent", sub="pat@home.example", pupils=["p-1"]))
    fresh = http.get(url, params={"address": "pat@home.example"}, headers=parent)
    assert fresh.status_code == 200, fresh.text
    assert fresh.json() == {"address": "pat@home.example", "opt_outs": [],
                            "quiet_hours": None, "digest": False}
    # a school recorded the family's preferences first; the parent may still change them
    senco = bearer(token("school-2", "senco"))
    assert http.put(url, json={"address": "pat@home.example", "opt_outs": ["ehcp"]},
                    headers=senco).status_code == 200
    put = http.put(url, json={"address": "Pat@Home.example", "opt_outs": ["passport"],
                              "quiet_hours": "21:00-07:30"}, headers=parent)
    assert put.status_code == 200, put.text
    got = http.get(url, params={"address": "pat@home.example"}, headers=parent).json()
    assert got == {"address": "pat@home.example", "opt_outs": ["passport"],
                   "quiet_hours": "21:00-07:30", "digest": False}
    with db.session() as s:
        assert s.get(RecipientPreference, "pat@home.example").opt_outs == "passport"

    assert http.get(url, params={"address": "other@home.example"},
                    headers=parent).status_code == 404
    assert http.put(url, json={"address": "other@home.example"},
                    headers=parent).status_code == 404
    # staff of another school do not read what this school's family chose
    assert http.get(url, params={"address": "pat@home.example"},
                    headers=bearer(token("school-3", "senco"))).status_code == 404
    assert http.get(url, params={"address": "pat@home.example"},
                    headers=bearer(token("trust", "portal", sub="portal"))).status_code == 403

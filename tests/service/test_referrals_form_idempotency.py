"""The referral web form sends its own idempotency key (issue 17): the same form
sent twice (a double click, a retry after a broken connection) makes one
referral and lands on it."""

import re

from tests.service.test_referrals_form import FULL, csrf_of, scalar, sign_in, site  # noqa: F401


def test_the_same_form_sent_twice_makes_one_referral(site):  # noqa: F811
    form, engine, mailbox = site
    session, _ = sign_in(form, mailbox)
    page = session.get(form + "/new").text
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {**FULL, "csrf": csrf_of(page), "idempotency_key": key}
    first = session.post(form + "/new", data=data, allow_redirects=False)
    again = session.post(form + "/new", data=data, allow_redirects=False)
    assert first.status_code == again.status_code == 303
    assert again.headers["Location"] == first.headers["Location"]
    assert scalar(engine, "SELECT count(*) FROM referrals") == 1
    assert scalar(engine, "SELECT count(*) FROM outbox") == 1
    # a new form (a new key) is a new referral
    fresh = session.get(form + "/new").text
    new_key = re.search(r'name="idempotency_key" value="([^"]+)"', fresh).group(1)
    assert new_key != key
    other = session.post(form + "/new", data={**data, "idempotency_key": new_key},
                         allow_redirects=False)
    assert other.status_code == 303 and other.headers["Location"] != first.headers["Location"]
    assert scalar(engine, "SELECT count(*) FROM referrals") == 2

"""Replaying notify's dead letters (issue 17): a delivery that failed for good
is dead-lettered with a queue notify really consumes (`notify.deliveries`), so
`senctl deadletters replay notify` sends it again instead of losing it."""

from nameko.standalone.events import event_dispatcher

from services.common import deadletters
from services.notify import domain
from services.notify.service import NotifyService
from tests.conftest import wait_until
from tests.helpers import referral_submitted
from tests.service.test_notify_channels import deliveries, servers  # noqa: F401


def test_a_dead_lettered_delivery_is_replayed_to_notify_and_never_lost(
        run_service, servers):  # noqa: F811
    from services.common.db import open_database
    from services.notify.models import Base
    _, container, url = run_service(NotifyService)
    db = open_database("notify", Base.metadata, url)
    event = referral_submitted(email="bounce.jo@riverside.example")
    event_dispatcher()("referrals", "referral.submitted", event)

    def letters():
        return [x for x in deadletters.list_dead_letters("notify") if x["kind"] == "delivery"]
    found = wait_until(letters, timeout=20)
    assert len(found) == 1 and found[0]["queue"] == "notify.deliveries"
    assert found[0]["reason"].startswith("permanent-failure: SMTP 550")
    bounced = deliveries(db, recipient="bounce.jo@riverside.example")
    assert [d.status for d in bounced] == [domain.PERMANENT_FAILURE]

    dry = deadletters.replay_dead_letters("notify", dry_run=True)
    assert [(d["action"], d["to"]) for d in dry] == [("would replay", "notify.deliveries")]
    refusals = len([a for a in servers.smtp_attempts() if a.startswith("550")])

    done = deadletters.replay_dead_letters("notify")
    assert [(d["action"], d["to"]) for d in done] == [("replayed", "notify.deliveries")]
    # notify tried it again (still refused), and the record is back in the DLQ, not gone
    assert wait_until(lambda: len([a for a in servers.smtp_attempts()
                                   if a.startswith("550")]) == refusals + 1, timeout=20)
    assert wait_until(lambda: len(letters()) == 1, timeout=20)
    assert [d.status for d in deliveries(db, recipient="bounce.jo@riverside.example")] == [
        domain.PERMANENT_FAILURE]

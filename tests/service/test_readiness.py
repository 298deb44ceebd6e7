"""Readiness means "can serve its requests" (issue 17): with the broker away a
service stays ready, because intake works through the outbox; the broker's
state is reported and is a metric. Liveness never looks at it."""

import json

from nameko import config as nameko_config
from nameko.testing.services import worker_factory
from prometheus_client import generate_latest
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from services.common import metrics
from services.common.db import open_database
from services.referrals.models import Base
from services.referrals.service import ReferralsService


def _request(path):
    return Request(EnvironBuilder(path=path).get_environ())


def test_ready_without_the_broker_and_the_broker_state_is_a_metric(database_urls):
    db = open_database("referrals", Base.metadata, database_urls("referrals"))
    service = worker_factory(ReferralsService, db=db)
    with nameko_config.patch({"AMQP_URI": "amqp://guest:guest@127.0.0.1:1/"}):
        metrics._broker_state.pop("referrals", None)  # not known yet: asked directly
        ready = service.health_ready(_request("/health/ready"))
        assert ready.status_code == 200
        body = json.loads(ready.get_data())
        assert body["status"] == "ok" and body["checks"]["database"] == "ok"
        assert body["checks"]["broker"].startswith("unavailable")

        metrics.set_broker_connected("referrals", False)  # as the relay finds it
        assert service.health_ready(_request("/health/ready")).status_code == 200
        assert 'broker_connected{service="referrals"} 0.0' in generate_latest().decode()
        live = service.health_live(_request("/health/live"))
        assert live.status_code == 200
    metrics.set_broker_connected("referrals", True)
    assert 'broker_connected{service="referrals"} 1.0' in generate_latest().decode()


def test_not_ready_when_the_database_is_away(tmp_path):
    db = open_database("referrals", Base.metadata, f"sqlite:///{tmp_path}/missing/dir/x.db")
    service = worker_factory(ReferralsService, db=db)
    metrics.set_broker_connected("referrals", True)
    ready = service.health_ready(_request("/health/ready"))
    assert ready.status_code == 503
    assert json.loads(ready.get_data())["checks"]["database"].startswith("error")

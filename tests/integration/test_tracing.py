"""One referral is one trace: the HTTP request, the outbox publish and the
consumer's handling share a trace id through the AMQP `traceparent` header."""

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common.db import open_database
from services.referrals.service import ReferralsService
from tests.conftest import bearer, free_port, wait_until
from tests.helpers import referral_body
from tests.integration.test_outbox_inbox import Base, Listener, seen


@pytest.fixture(scope="module")
def spans():
    exporter = InMemorySpanExporter()
    trace.get_tracer_provider().add_span_processor(SimpleSpanProcessor(exporter))
    return exporter


def test_http_request_and_consumer_share_one_trace(
        spans, rabbit_config, container_factory, database_urls, tmp_path, http, token):
    listener_db = open_database("listener", Base.metadata, f"sqlite:///{tmp_path}/l.sqlite3")
    Base.metadata.create_all(listener_db.engine)
    container_factory(Listener, config={"LISTENER_DATABASE_URL": listener_db.url}).start()
    port = free_port()
    container_factory(ReferralsService, config={
        "REFERRALS_DATABASE_URL": database_urls("referrals"),
        "WEB_SERVER_ADDRESS": f"127.0.0.1:{port}"}).start()
    spans.clear()

    resp = http.post(f"http://127.0.0.1:{port}/api/v1/referrals", json=referral_body(),
                     headers=bearer(token("school-a", "partner_referrer")))
    assert resp.status_code == 201
    assert wait_until(lambda: seen(listener_db) == 1)

    def consumer_span():
        return [s for s in spans.get_finished_spans()
                if s.name == "listener.on_submitted"]

    consumed = wait_until(consumer_span)
    assert consumed, [s.name for s in spans.get_finished_spans()]
    server = [s for s in spans.get_finished_spans()
              if s.name == "referrals.create_referral"]
    assert server, [s.name for s in spans.get_finished_spans()]
    assert consumed[0].context.trace_id == server[0].context.trace_id
    assert consumed[0].parent is not None  # continued, not a new root
    # nothing personal on any span
    for span in spans.get_finished_spans():
        flat = str(dict(span.attributes or {}))
        assert "Taylor" not in flat and "B801200005001" not in flat

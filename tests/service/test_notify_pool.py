"""The SMTP pool (issue 18) against a real SMTP server in its own process:
connections are kept open and re-used (reset between transactions), bounded,
closed when idle, and a broken one is dropped without losing the delivery."""

import socket
import threading
import uuid
from types import SimpleNamespace

import pytest

from services.common.config import load
from services.notify import domain
from services.notify.adapters import Mailer, SendFailed
from services.notify.config import NotifyConfig
from tests.service.test_notify_channels import servers  # noqa: F401  (fixture)


def delivery(to="jo@school.example"):
    return SimpleNamespace(id=str(uuid.uuid4()), recipient=to, recipient_name="Jo",
                           subject="Hello", template_id="t", template_version=1,
                           body_text="Hello\n", body_html="<p>Hello</p>", language="en")


@pytest.fixture
def mailer(servers):  # noqa: F811
    mailer = Mailer()
    config = load(NotifyConfig, "notify")
    mailer.configure(config)
    yield mailer, config, servers
    mailer.close()


def test_one_connection_carries_many_messages(mailer):
    mailer, config, smtp = mailer
    for _ in range(5):
        mailer.smtp.send(delivery(), config)
    assert mailer.pool.opened == 1
    assert len(smtp.emails("jo@school.example")) == 5


def test_the_pool_is_bounded_under_concurrent_sends(mailer):
    mailer, config, smtp = mailer
    mailer.pool.size = 3
    threads = [threading.Thread(target=mailer.smtp.send, args=(delivery(f"p{i}@s.example"),
                                                               config)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert mailer.pool.opened <= 3 and mailer.pool._open <= 3
    assert len(smtp.emails()) == 12


def test_idle_connections_are_closed_and_a_new_one_opened_later(mailer):
    mailer, config, _ = mailer
    mailer.smtp.send(delivery(), config)
    mailer.pool.idle_seconds = 0
    mailer.close_idle()
    assert mailer.pool._idle == [] and mailer.pool._open == 0
    mailer.pool.idle_seconds = 20
    mailer.smtp.send(delivery(), config)
    assert mailer.pool.opened == 2


def test_a_broken_idle_connection_is_dropped_and_the_message_still_goes(mailer):
    mailer, config, smtp = mailer
    mailer.smtp.send(delivery(), config)
    [(connection, _, _)] = mailer.pool._idle
    connection.sock.shutdown(socket.SHUT_RDWR)  # as if the server had gone while it was idle
    mailer.smtp.send(delivery("second@school.example"), config)
    assert mailer.pool.opened == 2 and len(smtp.emails("second@school.example")) == 1


def test_a_failed_transaction_discards_its_connection(mailer):
    mailer, config, smtp = mailer
    mailer.smtp.send(delivery(), config)
    with pytest.raises(SendFailed) as failed:
        mailer.smtp.send(delivery("bounce@school.example"), config)  # 550 at RCPT
    assert failed.value.status == domain.PERMANENT_FAILURE
    assert mailer.pool._idle == [] and mailer.pool._open == 0  # not re-used after an error
    mailer.smtp.send(delivery(), config)
    assert mailer.pool.opened == 2


def test_an_unreachable_server_fails_temporarily_without_leaking_a_place(mailer):
    mailer, config, _ = mailer
    closed = NotifyConfig(smtp_host="127.0.0.1", smtp_port=1, smtp_timeout=1.0)
    for _ in range(mailer.pool.size + 1):
        with pytest.raises(SendFailed) as failed:
            mailer.smtp.send(delivery(), closed)
        assert failed.value.status == domain.TEMPORARY_FAILURE
    assert mailer.pool._open == 0

"""The kit's AMQP consumer rides out a broker reset (issue 17): nameko's own
`ack_message` catches only amqp's ConnectionError, so a ConnectionResetError
on basic.ack during a broker stop killed the container."""

from types import SimpleNamespace

import pytest

from services.common.consumer import EventSubscriber, QueueSubscriber, SafeConsumer


class Message:
    content_type = "text/plain"
    content_encoding = None

    def __init__(self, exc):
        self.exc = exc
        self.channel = SimpleNamespace(connection=object())  # looks alive
        self.acked = self.requeued = 0

    def ack(self):
        self.acked += 1
        raise self.exc

    def requeue(self):
        self.requeued += 1
        raise self.exc


@pytest.mark.parametrize("exc", [ConnectionResetError(104, "Connection reset by peer"),
                                 BrokenPipeError(32, "Broken pipe"), TimeoutError()])
def test_ack_and_requeue_survive_a_connection_reset(exc):
    consumer = SafeConsumer("amqp://guest:guest@127.0.0.1:1/")
    message = Message(exc)
    consumer.ack_message(message)  # no exception: the broker redelivers it
    consumer.requeue_message(message)
    assert message.acked == 1 and message.requeued == 1


def test_every_kit_subscriber_uses_the_safe_consumer():
    assert EventSubscriber.consumer_cls is SafeConsumer
    assert QueueSubscriber.consumer_cls is SafeConsumer


def test_an_undecodable_message_without_a_handler_is_requeued_not_logged(caplog):
    consumer = SafeConsumer("amqp://guest:guest@127.0.0.1:1/")
    message = Message(None)
    message.body = b"Jo Smith, 1 Secret Lane"
    message.requeue = lambda: setattr(message, "requeued", message.requeued + 1)
    consumer.on_decode_error(message, ValueError("bad"))
    assert message.requeued == 1 and message.acked == 0
    assert "Secret Lane" not in caplog.text

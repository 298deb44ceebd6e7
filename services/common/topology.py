"""Declare a service's queues before any service runs (`senctl migrate`).

Events published before their consumer's queue exists would be unroutable
and dropped, so the queues and bindings are declared as part of migrating,
like a schema: by the time any producer runs, every consumer's queue exists.
"""

import importlib
import inspect

from kombu import Queue
from nameko.standalone.events import get_event_exchange

from . import messaging
from .consumer import EventSubscriber, QueueSubscriber, named_queue, queue_name


def subscriber_queues(service_cls):
    for method_name, member in inspect.getmembers(service_cls):
        for ep in getattr(member, "nameko_entrypoints", ()):
            if isinstance(ep, EventSubscriber):
                yield Queue(
                    queue_name(ep.source_service, ep.event_type, service_cls.name, method_name),
                    exchange=get_event_exchange(ep.source_service),
                    routing_key=ep.event_type, durable=True, auto_delete=False,
                    queue_arguments=messaging.queue_arguments())
            elif isinstance(ep, QueueSubscriber):
                yield named_queue(ep.queue_name)


def declare(service_cls, amqp_uri=None):
    """Declare the event queues (and their exchanges and bindings) and the DLQ."""
    names = []
    with messaging.connection(amqp_uri) as conn:
        channel = conn.channel()
        for queue in subscriber_queues(service_cls):
            queue(channel).declare()
            names.append(queue.name)
        messaging.dead_letter_queue(service_cls.name)(channel).declare()
        channel.close()
    return names


def service_class(path):
    module, _, cls = path.partition(":")
    return getattr(importlib.import_module(module), cls)

"""OpenTelemetry: one tracer provider per process, nameko instrumented, spans
exported by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (DESIGN.md §3).

Request and response payloads and headers are never recorded on spans: they
hold personal data. Trace context crosses AMQP in the `traceparent` header.

Spans cost only when something receives them. While the tracer provider has
no span processor (no exporter configured, nothing added at run time), the
instrumentation's wrappers take a fast path: no span is started, only an
incoming `traceparent` is made the current context, so events emitted by the
worker carry it on through the outbox. As soon as a processor is added
(`OTEL_EXPORTER_OTLP_ENDPOINT`, or a test's in-memory one), every entrypoint
makes the same spans as before.
"""

import os
import threading
import weakref

from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_lock = threading.Lock()
_done = False
_provider = None
_propagator = TraceContextTextMapPropagator()
_fast_tokens = weakref.WeakKeyDictionary()  # worker_ctx -> context token (fast path)


def recording():
    """True when spans go somewhere: the provider has at least one span processor."""
    provider = _provider
    if provider is None:
        return False
    try:
        return bool(provider._active_span_processor._span_processors)
    except AttributeError:  # another SDK's provider: assume it records
        return True


def current_context(carrier):
    """The trace context of an incoming `traceparent` (W3C), or None; cheap when absent."""
    if not carrier or "traceparent" not in carrier:
        return None
    return _propagator.extract(carrier)


def _gate(entrypoints, http, amqp):
    """Wrap the instrumentation's patch functions so they do nothing costly while
    no span processor is configured (see the module docstring)."""
    full_setup, full_result = entrypoints.worker_setup, entrypoints.worker_result
    full_wsgi, full_publish = http.wsgi_app_call, amqp.publish

    def worker_setup(tracer, config, wrapped, instance, args, kwargs):
        if recording():
            return full_setup(tracer, config, wrapped, instance, args, kwargs)
        (worker_ctx,) = args
        adapter = entrypoints.adapter_factory(worker_ctx, config)
        try:
            ctx = current_context(adapter.get_metadata(worker_ctx))
        except Exception:  # noqa: BLE001 - tracing never stops a worker
            ctx = None
        if ctx is not None:
            _fast_tokens[worker_ctx] = context.attach(ctx)
        return wrapped(*args, **kwargs)

    def worker_result(tracer, config, wrapped, instance, args, kwargs):
        worker_ctx = args[0]
        if worker_ctx in entrypoints.active_spans:
            return full_result(tracer, config, wrapped, instance, args, kwargs)
        token = _fast_tokens.pop(worker_ctx, None)
        if token is not None:
            context.detach(token)
        return wrapped(*args, **kwargs)

    def wsgi_app_call(tracer, config, wrapped, instance, args, kwargs):
        if recording():
            return full_wsgi(tracer, config, wrapped, instance, args, kwargs)
        return wrapped(*args, **kwargs)

    def publish(tracer, config, wrapped, instance, args, kwargs):
        if recording():
            return full_publish(tracer, config, wrapped, instance, args, kwargs)
        return wrapped(*args, **kwargs)

    entrypoints.worker_setup, entrypoints.worker_result = worker_setup, worker_result
    http.wsgi_app_call, amqp.publish = wsgi_app_call, publish


def setup(service_name=None):
    global _done, _provider
    with _lock:
        if _done:
            return trace.get_tracer_provider()
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name or "sen-trust"
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)  # refused (with a warning) if one is set
        _provider = trace.get_tracer_provider()
        from nameko_opentelemetry import NamekoInstrumentor, amqp, entrypoints, http
        _gate(entrypoints, http, amqp)
        NamekoInstrumentor().instrument(
            send_headers=False, send_request_payloads=False, send_response_payloads=False)
        _done = True
        return provider

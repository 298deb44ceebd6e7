"""OpenTelemetry: one tracer provider per process, nameko instrumented, spans
exported by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (docs/architecture.md, "Events").

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
import socket
import threading
import weakref
from contextlib import contextmanager

from nameko_opentelemetry.entrypoints import EntrypointAdapter
from opentelemetry import context, trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import Status, StatusCode
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


_tracer = None


@contextmanager
def message_span(name, carrier, entrypoint_type="EventSubscriber"):
    """The span of one message of a consumer's batch, as nameko's worker span of
    that message was before batching: named `<service>.<method>`, a child of the
    message's `traceparent`. While nothing records spans, only that context is made
    current, so the events its handler emits carry it on."""
    ctx = current_context(carrier)
    if recording():
        global _tracer
        if _tracer is None:
            _tracer = trace.get_tracer("services.common.consumer")
        service, _, method = name.partition(".")
        with _tracer.start_as_current_span(
                name, context=ctx, kind=trace.SpanKind.SERVER,
                attributes={"hostname": socket.gethostname(), "service_name": service,
                            "entrypoint_type": entrypoint_type, "method_name": method},
                record_exception=False, set_status_on_exception=False) as span:
            try:
                yield
            except BaseException as exc:
                span.record_exception(exc, escaped=True)
                span.set_status(Status(StatusCode.ERROR, f"{type(exc).__name__}"))
                raise
            span.set_status(Status(StatusCode.OK))
    elif ctx is not None:
        token = context.attach(ctx)
        try:
            yield
        finally:
            context.detach(token)
    else:
        yield


class BatchAdapter(EntrypointAdapter):
    """The worker span of a consumer's batch, `<service>.<method>.batch` (each
    message has its own span, `message_span`); no payloads, only the batch's size."""

    def get_span_name(self, worker_ctx):
        return f"{worker_ctx.service_name}.{worker_ctx.entrypoint.method_name}.batch"

    def get_attributes(self, worker_ctx):
        batch = worker_ctx.args[0] if worker_ctx.args else ()
        return {"service_name": worker_ctx.service_name,
                "entrypoint_type": type(worker_ctx.entrypoint).__name__,
                "method_name": worker_ctx.entrypoint.method_name,
                "batch_size": len(batch)}


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
            send_headers=False, send_request_payloads=False, send_response_payloads=False,
            entrypoint_adapters={
                "services.common.consumer.EventSubscriber": "services.common.tracing.BatchAdapter"})
        _done = True
        return provider

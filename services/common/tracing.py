"""OpenTelemetry: one tracer provider per process, nameko instrumented, spans
exported by OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (DESIGN.md §3).

Request and response payloads and headers are never recorded on spans: they
hold personal data. Trace context crosses AMQP in the `traceparent` header.
"""

import os
import threading

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_lock = threading.Lock()
_done = False


def setup(service_name=None):
    global _done
    with _lock:
        if _done:
            return trace.get_tracer_provider()
        name = os.environ.get("OTEL_SERVICE_NAME") or service_name or "sen-trust"
        provider = TracerProvider(resource=Resource.create({"service.name": name}))
        if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT"):
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
            provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        from nameko_opentelemetry import NamekoInstrumentor
        NamekoInstrumentor().instrument(
            send_headers=False, send_request_payloads=False, send_response_payloads=False)
        _done = True
        return provider

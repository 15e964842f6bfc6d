"""A Python service traced with OpenTelemetry Python, for tests/tests/e2e_python.rs.

It speaks W3C Trace Context (the test sets OTEL_PROPAGATORS=tracecontext) and
exports OTLP/HTTP protobuf to OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.

  GET /checkout?next=URL  a server span; inside it a client span that calls URL
                          (the Rust service) with the context injected; answers
                          with what URL answered
  GET /stock              a server span continuing the caller's trace; answers "7"

Prints "PORT <n>" once listening; exits, flushing its spans, when stdin closes.
"""

import urllib.parse

from opentelemetry import propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.trace import SpanKind
from shop import QuietHandler, answer, fetch, serve

# Service name, exporter endpoint and propagators come from OTEL_* variables.
provider = TracerProvider()
provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(), schedule_delay_millis=100))
trace.set_tracer_provider(provider)
tracer = trace.get_tracer("traced-tests.python")


class Handler(QuietHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        # Continue the caller's trace, if its headers carry one.
        parent = propagate.extract({k.lower(): v for k, v in self.headers.items()})
        name = "py." + url.path.strip("/")
        with tracer.start_as_current_span(name, context=parent, kind=SpanKind.SERVER) as span:
            span.set_attribute("http.route", url.path)
            body = answer(url, self.call)
            span.set_attribute("http.response.status_code", 404 if body is None else 200)
        self.reply(body)

    @staticmethod
    def call(target):
        with tracer.start_as_current_span("py.call", kind=SpanKind.CLIENT) as span:
            span.set_attribute("url.full", target)
            headers = {}
            propagate.inject(headers)
            return fetch(target, headers)


if __name__ == "__main__":
    serve(Handler, provider.shutdown)

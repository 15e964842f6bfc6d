"""A Python service traced with ddtrace, for tests/tests/e2e_python.rs.

It speaks Datadog's headers only (the test sets DD_TRACE_PROPAGATION_STYLE=datadog)
and sends its spans to the agent at DD_TRACE_AGENT_URL in Datadog's own protocol.

  GET /checkout?next=URL  a server span; inside it a client span that calls URL
                          (the Rust service) with the context injected; answers
                          with what URL answered
  GET /stock              a server span continuing the caller's trace; answers "7"

Prints "PORT <n>" once listening; exits, flushing its spans, when stdin closes.
"""

import urllib.parse

from ddtrace.propagation.http import HTTPPropagator
from ddtrace.trace import tracer
from shop import QuietHandler, answer, fetch, serve


class Handler(QuietHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        # Continue the caller's trace, if its headers carry one.
        parent = HTTPPropagator.extract({k.lower(): v for k, v in self.headers.items()})
        tracer.context_provider.activate(parent)
        name = "py." + url.path.strip("/")
        with tracer.trace(name, resource="GET " + url.path, span_type="web") as span:
            span.set_tag("span.kind", "server")
            body = answer(url, self.call)
            span.set_tag("http.status_code", "404" if body is None else "200")
        self.reply(body)

    @staticmethod
    def call(target):
        with tracer.trace("py.call", resource="GET " + urllib.parse.urlsplit(target).path, span_type="http") as span:
            span.set_tag("span.kind", "client")
            headers = {}
            HTTPPropagator.inject(span.context, headers)
            return fetch(target, headers)


if __name__ == "__main__":
    serve(Handler, tracer.shutdown)

"""A Python service traced with ddtrace, for tests/tests/e2e_python.rs.

It speaks Datadog's headers only (the test sets DD_TRACE_PROPAGATION_STYLE=datadog)
and sends its spans to the agent at DD_TRACE_AGENT_URL in Datadog's own protocol.

  GET /checkout?next=URL  a server span; inside it a client span that calls URL
                          (the Rust service) with the context injected; answers
                          with what URL answered
  GET /stock              a server span continuing the caller's trace; answers "7"

Prints "PORT <n>" once listening; exits, flushing its spans, when stdin closes.
"""

import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ddtrace.propagation.http import HTTPPropagator
from ddtrace.trace import tracer


class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        # Continue the caller's trace, if its headers carry one.
        parent = HTTPPropagator.extract({k.lower(): v for k, v in self.headers.items()})
        tracer.context_provider.activate(parent)
        name = "py." + url.path.strip("/")
        with tracer.trace(name, resource="GET " + url.path, span_type="web") as span:
            span.set_tag("span.kind", "server")
            if url.path == "/checkout":
                target = urllib.parse.parse_qs(url.query)["next"][0]
                body = self.call(target)
            elif url.path == "/stock":
                body = b"7"
            else:
                span.set_tag("http.status_code", "404")
                self.send_error(404)
                return
            span.set_tag("http.status_code", "200")
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    @staticmethod
    def call(target):
        with tracer.trace("py.call", resource="GET " + urllib.parse.urlsplit(target).path, span_type="http") as span:
            span.set_tag("span.kind", "client")
            headers = {}
            HTTPPropagator.inject(span.context, headers)
            with urllib.request.urlopen(urllib.request.Request(target, headers=headers), timeout=10) as response:
                return response.read()

    def log_message(self, *args):
        pass  # keep the test's output clean


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("PORT", server.server_address[1], flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies)
    server.shutdown()
    tracer.shutdown()  # flushes what is still buffered


if __name__ == "__main__":
    main()

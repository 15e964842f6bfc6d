"""What the two Python services of tests/tests/e2e_python.rs share: the
routes, the HTTP plumbing and the process's life. Each service keeps only
its tracer: how it continues a trace, names its spans and injects headers.

  GET /checkout?next=URL  calls URL and answers with what URL answered
  GET /stock              answers "7"

Prints "PORT <n>" once listening; exits when stdin closes, after `flush`.
"""

import sys
import threading
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def answer(url, call):
    """The body for `url` (a urlsplit result), or None for an unknown path;
    `call(target)` makes the outgoing request of /checkout."""
    if url.path == "/checkout":
        return call(urllib.parse.parse_qs(url.query)["next"][0])
    if url.path == "/stock":
        return b"7"
    return None


def fetch(target, headers):
    """GET `target` with `headers`; the response's body."""
    with urllib.request.urlopen(urllib.request.Request(target, headers=headers), timeout=10) as response:
        return response.read()


class QuietHandler(BaseHTTPRequestHandler):
    def reply(self, body):
        """200 with `body`, or 404 when `body` is None."""
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass  # keep the test's output clean


def serve(handler, flush):
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print("PORT", server.server_address[1], flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies)
    server.shutdown()
    flush()  # what is still buffered

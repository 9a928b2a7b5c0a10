"""A registry that does not take zstd layers, as some registries and older registry products do: a proxy on
loopback in front of the real loopback registry that passes every request through, except a manifest PUT naming a
zstd layer, which gets the distribution spec's MANIFEST_INVALID error (HTTP 400). The closest honest simulation
here: Debian's docker-registry itself has no media-type policy."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

ZSTD = "application/vnd.oci.image.layer.v1.tar+zstd"
_MANIFEST_PUT = re.compile(r"^/v2/.+/manifests/[^/]+$")
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def _handler(upstream: str) -> type[BaseHTTPRequestHandler]:
    class Proxy(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:  # quiet
            pass

        def handle_one_request(self) -> None:
            # a client tries TLS first on an insecure registry and falls back to HTTP when the answer is HTTP, as
            # Go's server gives it (http.server would answer in HTTP/0.9, which the client cannot read)
            if self.rfile.peek(1)[:1] == b"\x16":
                self.wfile.write(b"HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n")
                self.close_connection = True
                return
            super().handle_one_request()

        def _body(self) -> bytes:
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                parts = []
                while True:
                    size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                    if size == 0:
                        self.rfile.readline()
                        return b"".join(parts)
                    parts.append(self.rfile.read(size))
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _reply(self, status: int, headers: dict[str, str], body: bytes) -> None:
            self.send_response(status)
            for k, v in headers.items():
                if k.lower() not in _HOP:
                    self.send_header(k, v)
            # a HEAD answer carries the length of what GET would send (clients size manifests by it)
            length = headers.get("Content-Length", "0") if self.command == "HEAD" else str(len(body))
            self.send_header("Content-Length", length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _forward(self) -> None:
            body = self._body()
            if self.command == "PUT" and _MANIFEST_PUT.match(self.path.split("?")[0]) and ZSTD.encode() in body:
                err = {"errors": [{"code": "MANIFEST_INVALID", "message": "manifest invalid",
                                   "detail": f"unsupported layer media type {ZSTD}"}]}
                self._reply(400, {"Content-Type": "application/json"}, json.dumps(err).encode())
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            resp = requests.request(self.command, f"http://{upstream}{self.path}", headers=headers, data=body,
                                    allow_redirects=False, timeout=120)
            self._reply(resp.status_code, dict(resp.headers), resp.content)

        do_GET = do_HEAD = do_PUT = do_POST = do_PATCH = do_DELETE = _forward

    return Proxy


@contextmanager
def serve(upstream: str) -> Iterator[str]:
    """Yields the proxy's address (127.0.0.1:<port>): a registry like `upstream` that refuses zstd manifests."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(upstream))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()

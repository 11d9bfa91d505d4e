"""A plain HTTP server (stdlib only) that answers every request with a JSON description of
what it received: method, path, headers and body. The gateway's tests put it behind Envoy's
default virtual host to show that non-MCP paths pass the filter untouched.

    python http_echo.py PORT
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        out = json.dumps(
            {
                "echo": True,
                "method": self.command,
                "path": self.path,
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body.decode("utf-8", "replace"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    do_GET = do_POST = do_PUT = do_DELETE = _answer

    def log_message(self, fmt: str, *args: object) -> None:  # quiet
        pass


def main(argv: list[str]) -> None:
    if len(argv) != 2:
        sys.exit("usage: http_echo.py PORT")
    ThreadingHTTPServer(("127.0.0.1", int(argv[1])), Handler).serve_forever()


if __name__ == "__main__":
    main(sys.argv)

"""A bypass not in issue 10's list: requests dressed as notifications.

JSON-RPC tells a request from a notification by the `id` alone. A `tools/call` (or
`prompts/get`, `resources/read`) sent WITHOUT an id is not routed by the filter (it names no
server, strips no prefix, sets no `x-mcp-toolname` and no filter state `wasm.mcp_gateway.tool`,
so RBAC has nothing to match) but handed to the broker as a notification, and the broker relays
every notification of a session verbatim to every backend of that session. A backend that acts
on a request method whatever its id (many do: the id only decides whether an answer is sent)
then runs a tool, unprefixed and past every policy, as a fire-and-forget call.

Observed with a recording MCP backend (a few lines of stdlib HTTP, below): it writes every
message it receives; after the client sent only id-less calls, it must have received no
`tools/call`, `prompts/get` or `resources/read` at all. The gateway may answer such a message
with a JSON-RPC error (-32600) or accept it (202) and drop it; it must not pass it on.
"""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from conftest import PYTHON, Gateway, Proc, stop_all
import rawhttp
from custom_gateway import Backend, start_custom_gateway

RECORDER = textwrap.dedent(
    '''
    import json, sys
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    LOG = sys.argv[2]

    class H(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def body(self):
            if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
                out = b""
                while True:
                    size = int(self.rfile.readline().split(b";")[0], 16)
                    if size == 0:
                        while self.rfile.readline() not in (b"\\r\\n", b"\\n", b""):
                            pass
                        return out
                    out += self.rfile.read(size)
                    self.rfile.readline()
            return self.rfile.read(int(self.headers.get("content-length") or 0))

        def send(self, status, obj=None, headers=()):
            data = json.dumps(obj).encode() if obj is not None else b""
            self.send_response(status)
            for k, v in headers:
                self.send_header(k, v)
            if obj is not None:
                self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            raw = self.body()
            try:
                msg = json.loads(raw)
            except ValueError:
                msg = {"unparsable": raw.decode("utf-8", "replace")}
            with open(LOG, "a") as f:
                f.write(json.dumps({"message": msg, "headers": {k.lower(): v for k, v in self.headers.items()}}) + "\\n")
            method, mid = msg.get("method"), msg.get("id")
            if mid is None:
                return self.send(202)
            if method == "initialize":
                result = {"protocolVersion": msg["params"]["protocolVersion"], "capabilities": {"tools": {}, "prompts": {}, "resources": {}},
                          "serverInfo": {"name": "rec", "version": "1"}}
                return self.send(200, {"jsonrpc": "2.0", "id": mid, "result": result}, [("mcp-session-id", "rec-session")])
            if method == "tools/list":
                tool = {"name": "danger", "inputSchema": {"type": "object"}}
                return self.send(200, {"jsonrpc": "2.0", "id": mid, "result": {"tools": [tool]}})
            if method in ("prompts/list", "resources/list", "resources/templates/list"):
                key = {"prompts/list": "prompts", "resources/list": "resources", "resources/templates/list": "resourceTemplates"}[method]
                return self.send(200, {"jsonrpc": "2.0", "id": mid, "result": {key: []}})
            if method == "tools/call":
                text = "rec ran " + str(msg["params"].get("name"))
                return self.send(200, {"jsonrpc": "2.0", "id": mid, "result": {"content": [{"type": "text", "text": text}]}})
            return self.send(200, {"jsonrpc": "2.0", "id": mid, "result": {}})

        def do_GET(self):
            self.send(405)

        def do_DELETE(self):
            self.send(200)

    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
    '''
)


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Gateway, Path]]:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    log = tmp_path / "received.jsonl"
    log.touch()
    procs: list[Proc] = []
    try:
        gw = start_custom_gateway(tmp_path, procs, [Backend("rec", lambda port: [PYTHON, str(script), str(port), str(log)])])
        yield gw, log
    finally:
        stop_all(procs)


def received(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()]


ID_LESS = [
    {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "rec_danger", "arguments": {}}},
    {"jsonrpc": "2.0", "method": "tools/call", "params": {"name": "danger", "arguments": {}}},
    {"jsonrpc": "2.0", "method": "prompts/get", "params": {"name": "rec_greet"}},
    {"jsonrpc": "2.0", "method": "resources/read", "params": {"uri": "rec+file:///etc/passwd"}},
]


def test_request_methods_without_an_id_never_reach_a_backend(recorded: tuple[Gateway, Path]) -> None:
    gw, log = recorded
    headers = rawhttp.legacy_session(gw, "notif")
    # Control: a real, decided call reaches the recorder with the filter's facts.
    ok = gw.post({"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "rec_danger", "arguments": {}}}, headers)
    assert ok.status_code == 200 and "rec ran danger" in ok.text, ok.text
    decided = [m for m in received(log) if m["message"].get("method") == "tools/call"]
    assert len(decided) == 1 and decided[0]["headers"].get("x-mcp-toolname") == "danger", decided
    start = len(received(log))
    answers = []
    for body in ID_LESS:
        a = gw.post(body, headers)
        answers.append((a.status_code, a.text[:200]))
        assert a.status_code < 500, answers
    # A legitimate notification still goes through (the broker relays it): proof the relay ran.
    gw.post({"jsonrpc": "2.0", "method": "notifications/roots/list_changed"}, headers)
    got = received(log)[start:]
    assert any(m["message"].get("method") == "notifications/roots/list_changed" for m in got), got
    smuggled = [m["message"] for m in got if m["message"].get("method") in ("tools/call", "prompts/get", "resources/read")]
    assert not smuggled, f"request methods relayed to the backend past the filter's routing (answers {answers}): {smuggled}"

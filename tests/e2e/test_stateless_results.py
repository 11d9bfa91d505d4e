"""2026-07-28 results reach a 2026-07-28 client complete through the gateway (issue 14 item 1).

A backend written against an SDK older than 2026-07-28 answers results without `resultType`
(and `resources/read` without `ttlMs`/`cacheScope`). The gateway completes them, byte-wise,
on both paths: through the broker (the server is not `sessionless`) and straight through the
filter (`sessionless: true`). A backend that already answers complete results passes through
unchanged. The backend is this file itself run as a script (a few lines of stdlib HTTP), so
that the bytes it sends are known exactly.

    client -> Envoy --bb_/cb_--> broker --> bare / compliant backend
                    --bf_/cf_-----------> bare / compliant backend  (sessionless: the filter)
"""

from __future__ import annotations

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import pytest

# The backend's answers: exact bytes, so that the test can check the rest is untouched.
TEXT = "caf\u00e9 {\"result\":{\"x\":1}} \\ end"


def tool_result(compliant: bool) -> dict:
    r: dict = {"content": [{"type": "text", "text": TEXT}], "structuredContent": {"result": {"resultType": "nested"}}}
    if compliant:
        r["resultType"] = "complete"
    return r


def read_result(compliant: bool) -> dict:
    r: dict = {"contents": [{"uri": "file:///a.txt", "mimeType": "text/plain", "text": "A"}]}
    if compliant:
        r.update({"resultType": "complete", "ttlMs": 1000, "cacheScope": "public"})
    return r


def answer(msg: dict, compliant: bool, sse: bool) -> bytes | None:
    method, mid = msg.get("method"), msg.get("id")
    if mid is None:
        return None
    if method == "server/discover":
        result = {"supportedVersions": ["2026-07-28"], "capabilities": {"tools": {}, "resources": {}},
                  "serverInfo": {"name": "bare", "version": "1"}, "resultType": "complete", "ttlMs": 0, "cacheScope": "private"}
    elif method == "tools/list":
        result = {"tools": [{"name": "echo", "inputSchema": {"type": "object"}}], "resultType": "complete", "ttlMs": 0, "cacheScope": "private"}
    elif method in ("resources/list", "resources/templates/list", "prompts/list"):
        key = {"resources/list": "resources", "resources/templates/list": "resourceTemplates", "prompts/list": "prompts"}[method]
        result = {key: [], "resultType": "complete", "ttlMs": 0, "cacheScope": "private"}
    elif method == "tools/call":
        result = tool_result(compliant)
    elif method == "resources/read":
        result = read_result(compliant)
    else:
        return json.dumps({"jsonrpc": "2.0", "id": mid, "error": {"code": -32601, "message": "no"}}).encode()
    return json.dumps({"jsonrpc": "2.0", "id": mid, "result": result}, separators=(",", ":")).encode()


class Handler(BaseHTTPRequestHandler):
    compliant = False

    def log_message(self, *a: object) -> None:
        pass

    def do_POST(self) -> None:
        n = int(self.headers.get("content-length", "0"))
        msg = json.loads(self.rfile.read(n))
        # `sse` in the tool's arguments: answer as an event stream, a progress event first.
        sse = bool((msg.get("params") or {}).get("arguments", {}).get("sse"))
        body = answer(msg, self.compliant, sse)
        if body is None:
            self.send_response(202)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        if sse:
            progress = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress", "params": {"progressToken": 1, "progress": 1}})
            body = f"event: message\ndata: {progress}\n\nevent: message\ndata: ".encode() + body + b"\n\n"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream" if sse else "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


if __name__ == "__main__":
    Handler.compliant = sys.argv[2] == "compliant"
    ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()


# ---- the tests ------------------------------------------------------------------------------

from conftest import (  # noqa: E402
    MODERN, PYTHON, WASM, Gateway, Proc, envoy_argv, envoy_render, free_port, port_open, stop_all, wait_until,
    BrokerContext, broker_command, check_rendered_host, random_key, require_filter_built,
)


@pytest.fixture(scope="module")
def gw(filter_host: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    workdir = tmp_path_factory.mktemp(f"stateless-results-{filter_host}")
    procs: list[Proc] = []
    try:
        require_filter_built()
        ports = {n: free_port() for n in ("bare", "compliant", "broker", "echo", "listen", "admin")}
        for mode in ("bare", "compliant"):
            procs.append(Proc(mode, [PYTHON, str(Path(__file__)), str(ports[mode]), mode], workdir / f"{mode}.log"))
        servers = [
            {"name": name, "url": f"http://127.0.0.1:{ports[mode]}/mcp", "prefix": f"{name}_", "sessionless": sessionless, "timeout_ms": 30000}
            for name, mode, sessionless in (("bb", "bare", False), ("bf", "bare", True), ("cb", "compliant", False), ("cf", "compliant", True))
        ]
        cfg = envoy_render.gateway_config(listen=("127.0.0.1", ports["listen"]), broker=("127.0.0.1", ports["broker"]), servers=servers)
        gateway_yaml = workdir / "gateway.yaml"
        gateway_yaml.write_text(json.dumps(cfg, indent=2))
        key = random_key()
        broker = broker_command(BrokerContext(ports["broker"], key, ports["bare"], ports["compliant"], workdir, gateway_yaml))
        procs.append(Proc("broker", broker, workdir / "broker.log", env={envoy_render.KEY_ENV: key}))
        procs.append(Proc("echo", [PYTHON, str(Path(__file__).parents[1] / "servers" / "http_echo.py"), str(ports["echo"])], workdir / "echo.log"))
        g = Gateway(url=f"http://127.0.0.1:{ports['listen']}/mcp", base=f"http://127.0.0.1:{ports['listen']}", admin=f"http://127.0.0.1:{ports['admin']}",
                    key=key, max_body_bytes=envoy_render.DEFAULT_MAX_BODY, workdir=workdir, access_log=workdir / "access.log",
                    envoy_log=workdir / "envoy.log", ports=ports, procs=procs)
        config = workdir / "envoy.yaml"
        config.write_text(check_rendered_host(envoy_render.render_gateway(cfg, key=key, wasm_path=WASM, admin_port=ports["admin"],
                                                      default=("127.0.0.1", ports["echo"]), access_log_path=str(g.access_log), rbac=False)))
        for name in ("bare", "compliant", "broker", "echo"):
            wait_until(lambda n=name: port_open(ports[n]), name, procs)
        procs.append(Proc("envoy", envoy_argv(config, ports["admin"]), g.envoy_log, env={envoy_render.KEY_ENV: key}))
        wait_until(g.ready, "envoy /ready", procs)
        yield g
    finally:
        stop_all(procs)


def call(gw: Gateway, method: str, params: dict, name: str) -> tuple[bytes, dict, str]:
    body = {"jsonrpc": "2.0", "id": 7, "method": method, "params": {**params, "_meta": {
        "io.modelcontextprotocol/protocolVersion": MODERN, "io.modelcontextprotocol/clientCapabilities": {}}}}
    r = gw.post(body, headers={"mcp-protocol-version": MODERN, "mcp-method": method, "mcp-name": name})
    assert r.status_code == 200, r.text
    ctype = r.headers.get("content-type", "")
    if ctype.startswith("text/event-stream"):
        datas = [line[6:] for line in r.text.splitlines() if line.startswith("data: ")]
        raw = datas[-1].encode()
    else:
        raw = r.content
        if "content-length" in r.headers:
            assert int(r.headers["content-length"]) == len(raw)
    return raw, json.loads(raw), ctype


def backend_bytes(result: dict) -> bytes:
    return json.dumps({"jsonrpc": "2.0", "id": 7, "result": result}, separators=(",", ":")).encode()


@pytest.mark.parametrize("server", ["bb", "bf"])
@pytest.mark.parametrize("sse", [False, True])
def test_a_bare_tool_result_gets_result_type_and_nothing_else_changes(gw: Gateway, server: str, sse: bool) -> None:
    for _ in range(2):
        raw, msg, ctype = call(gw, "tools/call", {"name": f"{server}_echo", "arguments": {"sse": sse}}, f"{server}_echo")
        assert ctype.startswith("text/event-stream" if sse else "application/json")
        assert msg["result"]["resultType"] == "complete"
        # The backend's bytes, with `,"resultType":"complete"` spliced before the result's `}`.
        sent = backend_bytes(tool_result(False))
        assert raw == sent[:-2] + b',"resultType":"complete"}}', raw
        assert msg["result"]["structuredContent"] == {"result": {"resultType": "nested"}}


@pytest.mark.parametrize("server", ["bb", "bf"])
def test_a_bare_resource_read_gets_the_caching_keys(gw: Gateway, server: str) -> None:
    raw, msg, _ = call(gw, "resources/read", {"uri": f"{server}+file:///a.txt"}, f"{server}+file:///a.txt")
    assert "result" in msg, msg
    r = msg["result"]
    assert (r["resultType"], r["ttlMs"], r["cacheScope"]) == ("complete", 0, "private")
    assert r["contents"][0]["text"] == "A"


@pytest.mark.parametrize("server", ["cb", "cf"])
@pytest.mark.parametrize("sse", [False, True])
def test_compliant_answers_pass_unchanged(gw: Gateway, server: str, sse: bool) -> None:
    for _ in range(2):
        raw, msg, _ = call(gw, "tools/call", {"name": f"{server}_echo", "arguments": {"sse": sse}}, f"{server}_echo")
        assert raw == backend_bytes(tool_result(True))
    raw, msg, _ = call(gw, "resources/read", {"uri": f"{server}+file:///a.txt"}, f"{server}+file:///a.txt")
    r = msg["result"]
    assert (r["resultType"], r["ttlMs"], r["cacheScope"]) == ("complete", 1000, "public"), "the backend's own hints"
    assert raw == backend_bytes(read_result(True))

"""Raw HTTP clients for the security tests: bytes on a socket for HTTP/1.1 (nothing normalizes
the path, the Host, the case or the order of headers, duplicates or the framing), and the `h2`
library (prior-knowledge h2c, the way Envoy's `codec_type: AUTO` listener accepts it) for
HTTP/2 with exactly the frames a test asks for: DATA with END_STREAM, DATA then trailers,
trailers without any DATA.

Both return a `RawResponse`; neither follows redirects nor retries. Every wait is bounded by
`timeout` (a bound on waiting, never asserted on)."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings

Headers = list[tuple[str, str]]

# Framings of a request body. HTTP/1.1: Content-Length, chunked, chunked with a trailer
# section. HTTP/2 (h2c prior knowledge): DATA with END_STREAM, DATA then a trailer HEADERS
# frame, a trailer HEADERS frame right after the request headers (no DATA at all).
H1_FRAMINGS = ["h1-length", "h1-chunked", "h1-chunked-trailers"]
H2_FRAMINGS = ["h2-data", "h2-data-trailers", "h2-trailers-only"]
FRAMINGS = H1_FRAMINGS + H2_FRAMINGS
TRAILERS: Headers = [("x-foo", "1")]


@dataclass
class RawResponse:
    status: int
    headers: Headers = field(default_factory=list)
    body: bytes = b""
    reset: str | None = None  # an HTTP/2 RST_STREAM / GOAWAY / connection error instead of (part of) an answer

    def header(self, name: str) -> str | None:
        name = name.lower()
        return next((v for k, v in self.headers if k == name), None)

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [v for k, v in self.headers if k == name]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def rpc(self) -> dict | None:
        """The JSON-RPC message of the answer (JSON, or the last response event of an SSE
        body), or None if the body is neither."""
        ctype = self.header("content-type") or ""
        try:
            if ctype.startswith("text/event-stream"):
                found = None
                for line in self.text.splitlines():
                    if line.startswith("data:") and line[5:].strip():
                        m = json.loads(line[5:].strip())
                        if isinstance(m, dict) and ("result" in m or "error" in m):
                            found = m
                return found
            m = json.loads(self.body)
            return m if isinstance(m, dict) else None
        except (ValueError, UnicodeDecodeError):
            return None

    def __repr__(self) -> str:
        return f"RawResponse({self.status}, {self.headers!r}, {self.body[:400]!r}, reset={self.reset})"


# ---- HTTP/1.1 -------------------------------------------------------------------------------


def h1_bytes(
    method: str,
    target: str,
    headers: Headers,
    body: bytes | None,
    framing: str = "h1-length",
    *,
    trailers: Headers = TRAILERS,
    chunk: int = 16 * 1024,
) -> bytes:
    """The request exactly as it goes on the wire. `headers` must include Host (or not, if
    that is the test); framing headers are added here."""
    head = [f"{method} {target} HTTP/1.1"]
    head += [f"{k}: {v}" for k, v in headers]
    payload = b""
    if body is not None or framing != "h1-length":
        body = body or b""
        if framing == "h1-length":
            head.append(f"Content-Length: {len(body)}")
            payload = body
        elif framing in ("h1-chunked", "h1-chunked-trailers"):
            head.append("Transfer-Encoding: chunked")
            parts = [body[i : i + chunk] for i in range(0, len(body), chunk)]
            payload = b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in parts) + b"0\r\n"
            if framing == "h1-chunked-trailers":
                payload += b"".join(f"{k}: {v}\r\n".encode() for k, v in trailers)
            payload += b"\r\n"
        else:
            raise ValueError(framing)
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + payload


class _Reader:
    def __init__(self, sock: socket.socket, deadline: float):
        self.sock = sock
        self.buf = b""
        self.deadline = deadline
        self.eof = False

    def _fill(self) -> bool:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no (complete) answer in time")
        self.sock.settimeout(left)
        try:
            data = self.sock.recv(65536)
        except ConnectionResetError:
            data = b""
        if not data:
            self.eof = True
            return False
        self.buf += data
        return True

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._fill():
                raise ConnectionError(f"connection closed mid-line: {self.buf[:200]!r}")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line

    def exactly(self, n: int) -> bytes:
        while len(self.buf) < n:
            if not self._fill():
                raise ConnectionError("connection closed mid-body")
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def rest(self) -> bytes:
        while self._fill():
            pass
        out, self.buf = self.buf, b""
        return out


def read_h1_response(sock: socket.socket, *, timeout: float = 30, head_request: bool = False) -> RawResponse:
    r = _Reader(sock, time.monotonic() + timeout)
    while True:
        status_line = r.line()
        parts = status_line.split(b" ", 2)
        if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
            raise ConnectionError(f"not an HTTP/1 status line: {status_line!r}")
        status = int(parts[1])
        headers: Headers = []
        while True:
            line = r.line()
            if not line:
                break
            k, _, v = line.decode("latin-1").partition(":")
            headers.append((k.strip().lower(), v.strip()))
        if 100 <= status < 200:
            continue
        break
    resp = RawResponse(status, headers)
    if head_request or status in (204, 304):
        return resp
    te = (resp.header("transfer-encoding") or "").lower()
    if "chunked" in te:
        body = b""
        while True:
            size = int(r.line().split(b";")[0], 16)
            if size == 0:
                while r.line():  # trailers
                    pass
                break
            body += r.exactly(size)
            r.line()
        resp.body = body
    elif resp.header("content-length") is not None:
        resp.body = r.exactly(int(resp.header("content-length") or 0))
    else:
        resp.body = r.rest()
    return resp


def h1_connect(port: int, timeout: float = 30) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def h1_request(
    port: int,
    method: str,
    target: str,
    headers: Headers,
    body: bytes | None = None,
    framing: str = "h1-length",
    *,
    timeout: float = 30,
    trailers: Headers = TRAILERS,
) -> RawResponse:
    """One request on a fresh connection (`Connection: close` is the caller's choice)."""
    with h1_connect(port, timeout) as s:
        data = h1_bytes(method, target, headers, body, framing, trailers=trailers)
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # answered (e.g. 413) before the whole body was sent: read the answer
        return read_h1_response(s, timeout=timeout, head_request=method == "HEAD")


# ---- HTTP/2 (h2c, prior knowledge) ----------------------------------------------------------


class H2Conn:
    """One prior-knowledge HTTP/2 connection. No header validation or normalisation on our
    side: Envoy sees what the test wrote."""

    def __init__(self, port: int, timeout: float = 30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.timeout = timeout
        cfg = h2.config.H2Configuration(
            client_side=True,
            header_encoding="utf-8",
            validate_outbound_headers=False,
            normalize_outbound_headers=False,
            validate_inbound_headers=False,
        )
        self.conn = h2.connection.H2Connection(config=cfg)
        self.conn.initiate_connection()
        # Room for big answers without our window getting in the way.
        self.conn.increment_flow_control_window(64 * 1024 * 1024)
        self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: 16 * 1024 * 1024})
        self.flush()
        self.responses: dict[int, RawResponse] = {}
        self.ended: set[int] = set()
        self.closed = False

    def flush(self) -> None:
        data = self.conn.data_to_send()
        if data:
            try:
                self.sock.sendall(data)
            except (BrokenPipeError, ConnectionResetError):
                self.closed = True

    def close(self) -> None:
        try:
            self.conn.close_connection()
            self.flush()
        except Exception:
            pass
        self.sock.close()

    def __enter__(self) -> "H2Conn":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _pump(self, deadline: float) -> bool:
        """Reads once and handles the events; False when the connection is gone."""
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("HTTP/2: no (complete) answer in time")
        self.sock.settimeout(min(left, 1.0))
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return True
        except ConnectionResetError:
            data = b""
        if not data:
            self.closed = True
            return False
        try:
            events = self.conn.receive_data(data)
        except h2.exceptions.ProtocolError as e:
            self.closed = True
            for r in self.responses.values():
                r.reset = r.reset or f"protocol error: {e}"
            return False
        for ev in events:
            if isinstance(ev, h2.events.ResponseReceived):
                hdrs = [(k.lower(), v) for k, v in ev.headers]
                status = int(next(v for k, v in hdrs if k == ":status"))
                r = self.responses.setdefault(ev.stream_id, RawResponse(0))
                r.status = status
                r.headers = [(k, v) for k, v in hdrs if not k.startswith(":")]
            elif isinstance(ev, h2.events.InformationalResponseReceived):
                pass
            elif isinstance(ev, h2.events.DataReceived):
                self.responses.setdefault(ev.stream_id, RawResponse(0)).body += ev.data
                self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                self.ended.add(ev.stream_id)
            elif isinstance(ev, h2.events.StreamReset):
                self.responses.setdefault(ev.stream_id, RawResponse(0)).reset = f"RST_STREAM {ev.error_code!r}"
                self.ended.add(ev.stream_id)
            elif isinstance(ev, h2.events.ConnectionTerminated):
                self.closed = True
                for s, r in self.responses.items():
                    if s not in self.ended:
                        r.reset = r.reset or f"GOAWAY {ev.error_code!r}"
        self.flush()
        return not self.closed

    def send(
        self,
        method: str,
        path: str,
        authority: str | None,
        headers: Headers,
        body: bytes | None,
        framing: str = "h2-data",
        *,
        trailers: Headers = TRAILERS,
        frame: int = 16 * 1024,
    ) -> int:
        """Starts a request; returns its stream id. `authority=None` sends no :authority."""
        sid = self.conn.get_next_available_stream_id()
        pseudo = [(":method", method), (":scheme", "http"), (":path", path)]
        if authority is not None:
            pseudo.append((":authority", authority))
        body = body or b""
        self.responses[sid] = RawResponse(0)
        no_body = framing == "h2-data" and not body and method in ("GET", "DELETE")
        self.conn.send_headers(sid, pseudo + headers, end_stream=no_body)
        self.flush()
        if no_body:
            return sid
        if framing == "h2-trailers-only":
            self.conn.send_headers(sid, trailers, end_stream=True)
            self.flush()
            return sid
        deadline = time.monotonic() + self.timeout
        pos = 0
        while True:
            if sid in self.ended or self.closed:
                return sid  # answered (e.g. 413) before the whole body: stop sending
            window = min(self.conn.local_flow_control_window(sid), self.conn.max_outbound_frame_size)
            if pos < len(body) and window <= 0:
                self._pump(deadline)
                continue
            piece = body[pos : pos + min(window, frame)] if pos < len(body) else b""
            pos += len(piece)
            last = pos >= len(body)
            try:
                self.conn.send_data(sid, piece, end_stream=last and framing == "h2-data")
                if last and framing == "h2-data-trailers":
                    self.conn.send_headers(sid, trailers, end_stream=True)
            except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                return sid
            self.flush()
            if last:
                return sid

    def response(self, sid: int, *, timeout: float | None = None, until_headers: bool = False) -> RawResponse:
        """Waits for the end of stream `sid` (or only its response headers)."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while sid not in self.ended and not (until_headers and self.responses[sid].status):
            if not self._pump(deadline):
                break
        r = self.responses[sid]
        if not r.status and r.reset is None:
            r.reset = "connection closed"
        return r


def h2_request(
    port: int,
    method: str,
    path: str,
    authority: str | None,
    headers: Headers,
    body: bytes | None = None,
    framing: str = "h2-data",
    *,
    timeout: float = 30,
    trailers: Headers = TRAILERS,
) -> RawResponse:
    with H2Conn(port, timeout) as c:
        sid = c.send(method, path, authority, headers, body, framing, trailers=trailers)
        return c.response(sid)


# ---- either ---------------------------------------------------------------------------------


def request(
    port: int,
    framing: str,
    method: str,
    path: str,
    authority: str,
    headers: Headers,
    body: bytes | None = None,
    *,
    timeout: float = 30,
) -> RawResponse:
    """One request in the given framing (one of FRAMINGS) on a fresh connection. HTTP/1.1
    sends `authority` as Host (first header) and `Connection: close`."""
    if framing.startswith("h1"):
        hs = [("Host", authority), *headers, ("Connection", "close")]
        return h1_request(port, method, path, hs, body, framing, timeout=timeout)
    return h2_request(port, method, path, authority, [(k.lower(), v) for k, v in headers], body, framing, timeout=timeout)


def jsonrpc_headers(extra: Iterable[tuple[str, str]] = ()) -> Headers:
    return [("content-type", "application/json"), ("accept", "application/json, text/event-stream"), *extra]


# ---- a gateway of the test's choosing, with RBAC and the echo default upstream ---------------


def start_security_gateway(
    workdir: Path,
    procs: list,
    *,
    stateless: bool = False,
    rbac: bool = True,
    default_upstream: bool = True,
    **extra: Any,
):
    """conftest.start_gateway's layout (py_backend alpha and beta, the real broker, the
    http_echo default upstream, Envoy on what `mcp-gateway render` makes, with the RBAC
    example), with extra gateway-config fields (`mcp_path`, `allowed_hosts`, `limits`, ...),
    and the current filter host's build (a fixture calling this with a scope wider than a test
    must depend on `filter_host`). The caller stops `procs` (conftest.stop_all), also when this
    raises."""
    from conftest import (
        PYTHON,
        SERVERS,
        BrokerContext,
        Gateway,
        Proc,
        broker_command,
        check_rendered_host,
        envoy_argv,
        envoy_render,
        free_port,
        port_open,
        random_key,
        require_filter_built,
        wait_until,
    )

    require_filter_built()
    key = random_key()
    ports = {n: free_port() for n in ("alpha", "beta", "broker", "echo", "listen", "admin")}
    mcp_path = extra.get("mcp_path", "/mcp")
    max_body = (extra.get("limits") or {}).get("max_body_bytes", envoy_render.DEFAULT_MAX_BODY)
    gw = Gateway(
        url=f"http://127.0.0.1:{ports['listen']}{mcp_path}",
        base=f"http://127.0.0.1:{ports['listen']}",
        admin=f"http://127.0.0.1:{ports['admin']}",
        key=key,
        max_body_bytes=max_body,
        workdir=workdir,
        access_log=workdir / "access.log",
        envoy_log=workdir / "envoy.log",
        ports=ports,
        procs=procs,
    )
    for name in ("alpha", "beta"):
        argv = [PYTHON, str(SERVERS / "py_backend.py"), name, str(ports[name])] + (["--stateless"] if stateless else [])
        procs.append(Proc(name, argv, workdir / f"{name}.log"))
    config = envoy_render.gateway_config(
        listen=("127.0.0.1", ports["listen"]),
        broker=("127.0.0.1", ports["broker"]),
        alpha=("127.0.0.1", ports["alpha"]),
        beta=("127.0.0.1", ports["beta"]),
        sessionless=stateless,
        max_body_bytes=max_body,
        **{k: v for k, v in extra.items() if k != "limits"},
    )
    gateway_yaml = workdir / "gateway.yaml"
    gateway_yaml.write_text(json.dumps(config, indent=2))
    procs.append(
        Proc("broker", broker_command(BrokerContext(ports["broker"], key, ports["alpha"], ports["beta"], workdir, gateway_yaml)),
             workdir / "broker.log", env={envoy_render.KEY_ENV: key})
    )
    procs.append(Proc("echo", [PYTHON, str(SERVERS / "http_echo.py"), str(ports["echo"])], workdir / "echo.log"))
    envoy_yaml = workdir / "envoy.yaml"
    envoy_yaml.write_text(
        check_rendered_host(envoy_render.render_gateway(
            config,
            key=key,
            wasm_path=__import__("conftest").WASM,
            admin_port=ports["admin"],
            default=("127.0.0.1", ports["echo"]) if default_upstream else None,
            access_log_path=str(gw.access_log),
            rbac=rbac,
        ))
    )
    for name in ("alpha", "beta", "broker", "echo"):
        wait_until(lambda n=name: port_open(ports[n]), name, procs)
    # The session key reaches the filter's VM through Envoy's environment, as in conftest.
    procs.append(Proc("envoy", envoy_argv(envoy_yaml, ports["admin"]), gw.envoy_log, env={envoy_render.KEY_ENV: key}))
    wait_until(gw.ready, "envoy /ready", procs)
    return gw


def counters(gw: Any, names: Iterable[str] = ("alpha", "beta", "broker", "default_upstream")) -> dict[str, int]:
    """cluster.<name>.upstream_rq_total for the given clusters (one small admin query)."""
    import httpx

    names = list(names)
    rx = r"^cluster\.(" + "|".join(names) + r")\.upstream_rq_total$"
    text = httpx.get(gw.admin + "/stats", params={"filter": rx}, timeout=10).text
    out = {n: 0 for n in names}
    for line in text.splitlines():
        k, _, v = line.partition(": ")
        parts = k.split(".")
        if len(parts) == 3 and parts[1] in out:
            out[parts[1]] = int(v)
    return out


LEGACY = "2025-11-25"


def legacy_session(gw: Any, client: str, *, capabilities: dict | None = None, initialized: bool = True) -> dict[str, str]:
    """A session-protocol session opened by hand (initialize, then notifications/initialized);
    the headers later requests carry."""
    init = {
        "jsonrpc": "2.0",
        "id": 0,
        "method": "initialize",
        "params": {"protocolVersion": LEGACY, "capabilities": capabilities or {}, "clientInfo": {"name": client, "version": "1"}},
    }
    r = gw.post(init)
    assert r.status_code == 200 and r.headers.get("mcp-session-id"), r.text
    headers = {"mcp-session-id": r.headers["mcp-session-id"], "mcp-protocol-version": LEGACY}
    if initialized:
        gw.post({"jsonrpc": "2.0", "method": "notifications/initialized"}, headers)
    return headers

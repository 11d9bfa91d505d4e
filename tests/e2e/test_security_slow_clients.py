"""Issue 10, item 11: slow clients cannot hold connections for an hour. A client that sends
part of its request headers, or complete headers and then no body, is disconnected or answered
408 within a bounded time (the bounds the rendered config sets: HCM `request_headers_timeout`,
`request_timeout`, `stream_idle_timeout`; waited for with a generous margin, never asserted on
as timing), while a GET notification stream and a long tool call, which stay quiet longer than
those request-arrival bounds, keep working."""

from __future__ import annotations

import re
import socket
import threading
import time

import rawhttp
from conftest import Gateway, rpc_message, tool_call
MAX_WAIT_S = 120.0


def seconds(value) -> float | None:
    if value is None:
        return None
    m = re.fullmatch(r"\s*'?([0-9.]+)s'?\s*", str(value))
    return float(m.group(1)) if m else None


def hcm_bounds(gw: Gateway) -> dict[str, float | None]:
    """The HCM timeouts in the Envoy config the gateway runs (None when not set)."""
    text = (gw.workdir / "envoy.yaml").read_text()
    out = {}
    for key in ("request_headers_timeout", "request_timeout", "stream_idle_timeout"):
        m = re.search(rf"^\s*{key}:\s*(\S+)\s*$", text, re.M)
        out[key] = seconds(m.group(1)) if m else None
    return out


def wait_for_end(sock: socket.socket, deadline_s: float) -> tuple[str, bytes]:
    """Reads until the peer closes or answers; ('closed'|'answered'|'open', bytes)."""
    got = b""
    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        sock.settimeout(min(2.0, max(0.1, end - time.monotonic())))
        try:
            data = sock.recv(65536)
        except socket.timeout:
            if got.startswith(b"HTTP/1.1 "):
                return "answered", got
            continue
        except ConnectionResetError:
            return "closed", got
        if not data:
            return ("answered" if got else "closed"), got
        got += data
    return "open", got


def stall(gw: Gateway, kind: str) -> socket.socket:
    port = gw.ports["listen"]
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    if kind == "partial-headers":
        s.sendall(f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n".encode())
    else:  # complete headers, a body announced and never sent
        s.sendall(
            f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
            f"Accept: application/json, text/event-stream\r\nContent-Length: 200\r\n\r\n".encode()
        )
    return s


def test_stalled_clients_are_cut_off(gateway: Gateway) -> None:
    bounds = hcm_bounds(gateway)
    known = [v for v in bounds.values() if v]
    # Wait a margin past the largest bound the config sets, never more than MAX_WAIT_S.
    wait_s = min(MAX_WAIT_S, max(known) + 30) if known else MAX_WAIT_S
    results: dict[str, tuple[str, bytes]] = {}

    def one(kind: str) -> None:
        with stall(gateway, kind) as s:
            results[kind] = wait_for_end(s, wait_s)

    threads = [threading.Thread(target=one, args=(k,)) for k in ("partial-headers", "headers-no-body")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(wait_s + 30)
    for kind, (how, data) in results.items():
        assert how != "open", f"{kind}: still connected after {wait_s:.0f}s (bounds in the config: {bounds})"
        if how == "answered":
            status = int(data.split(b" ", 2)[1])
            assert status in (400, 408), (kind, data[:300])
            if b"\r\n\r\n" in data and data.split(b"\r\n\r\n", 1)[1].strip():
                # Envoy's own reply on the MCP path is JSON-RPC, like the filter's refusals.
                head, body = data.split(b"\r\n\r\n", 1)
                assert b"application/json" in head.lower(), data[:300]
    assert set(results) == {"partial-headers", "headers-no-body"}, results


def test_config_bounds_request_arrival(gateway: Gateway) -> None:
    bounds = hcm_bounds(gateway)
    assert bounds["request_headers_timeout"] and bounds["request_headers_timeout"] <= 60, bounds
    assert bounds["stream_idle_timeout"] and bounds["stream_idle_timeout"] < 3600, bounds


def quiet_period(gw: Gateway) -> float:
    """Longer than the header bound (and the request bound, if short), so that a stream or a
    call that survives it shows those bounds do not cut responses."""
    b = hcm_bounds(gw)
    candidates = [v for v in (b["request_headers_timeout"], b["request_timeout"]) if v and v <= 30]
    return (max(candidates) + 2) if candidates else 12.0


def test_get_stream_and_long_call_outlive_the_arrival_bounds(session_gateway: Gateway) -> None:
    gw = session_gateway
    quiet = quiet_period(gw)
    h = rawhttp.legacy_session(gw, "slow")
    # The GET notification stream, on a raw socket: read its head, then leave it quiet.
    port = gw.ports["listen"]
    stream = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = ["GET /mcp HTTP/1.1", f"Host: 127.0.0.1:{port}", "Accept: text/event-stream"] + [f"{k}: {v}" for k, v in h.items()]
    stream.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    got = b""
    while b"\r\n\r\n" not in got:
        data = stream.recv(65536)
        assert data, f"stream closed before its head: {got!r}"
        got += data
    assert got.startswith(b"HTTP/1.1 200"), got[:300]
    try:
        # A tool call that stays silent for the whole quiet period, on the same session.
        call = gw.post(tool_call("beta_sleep", {"seconds": quiet}, id=91), h)
        assert call.status_code == 200, call.text
        assert rpc_message(call)["result"]["content"][0]["text"] == f"beta slept {quiet}", call.text
        # The stream is still open: nothing to read (or only events), no end of stream.
        stream.setblocking(False)
        try:
            while True:
                data = stream.recv(65536)
                assert data, f"the GET stream was closed within {quiet}s"
                assert b"408" not in data[:20] and b"0\r\n\r\n" not in data, data[-300:]
        except BlockingIOError:
            pass  # open and quiet
    finally:
        stream.close()

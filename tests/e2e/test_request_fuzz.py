"""A fuzzed request path through the real Envoy and the real filter (each build): thousands of
mutated JSON-RPC bodies and MCP headers, from the fuzz seeds (fuzz/seeds/request), over one
keep-alive connection. Each must get an answer (never a hang, never Envoy's 503 for a dead
filter), and afterwards Envoy is alive, ready, serves a good call, and the filter logged no
panic. The in-process fuzz targets (fuzz/) go deeper into the parser; this one shows the
whole path holds, native module and wasm VM alike. Seeded: a failure names its seed."""

from __future__ import annotations

import json
import random
from pathlib import Path

import httpx

from conftest import MCP_HEADERS, MODERN, ROOT, Gateway, assert_healthy

SEEDS = sorted((ROOT / "fuzz" / "seeds" / "request").iterdir())
ROUNDS = 3000
# Raw bytes too (UTF-8 in a header value): httpx sends bytes values as they are.
HEADER_VALUES: list[str | bytes] = ["", "=?base64?", "=?base64?YWxwaGFfZWNobw==?=", "alpha_echo", "tools/call", MODERN, "2025-11-25",
                 "x" * 300, "a\tb", b"\xc3\xa9", "garbage", "1" * 40, "=?base64?////?="]


def mutate(rng: random.Random, data: bytes, other: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.randrange(7)
        pos = rng.randrange(len(b) + 1)
        if op == 0 and b:  # flip a bit
            b[min(pos, len(b) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:  # insert a JSON-significant byte
            b[pos:pos] = bytes([rng.choice(b'{}[]",:\\0123456789-eE.tfn \x00\xff')])
        elif op == 2 and b:  # delete a run
            del b[pos:pos + rng.randint(1, 8)]
        elif op == 3:  # truncate
            del b[pos:]
        elif op == 4:  # splice another seed
            cut = rng.randrange(len(other) + 1)
            b[pos:] = other[cut:]
        elif op == 5:  # deep nesting
            depth = rng.choice([10, 200, 5000])
            b[pos:pos] = b"[" * depth + b"]" * depth
        else:  # a huge or odd number
            b[pos:pos] = rng.choice([b"1e999999", b"-0", b"123456789012345678901234567890", b"0.0000000001"])
    return bytes(b)


def test_mutated_requests_never_take_the_gateway_down(gateway: Gateway) -> None:
    rng = random.Random(20261130)
    seeds = [p.read_bytes() for p in SEEDS]
    assert seeds, "no fuzz seeds"
    statuses: dict[int, int] = {}
    with httpx.Client(base_url=gateway.base, timeout=30) as c:
        for i in range(ROUNDS):
            body = mutate(rng, rng.choice(seeds), rng.choice(seeds))
            headers = dict(MCP_HEADERS)
            for name in ("mcp-protocol-version", "mcp-method", "mcp-name", "mcp-session-id"):
                if rng.random() < 0.2:
                    headers[name] = rng.choice(HEADER_VALUES)
            try:
                r = c.post("/mcp", content=body, headers=headers)
            except httpx.HTTPError as e:
                raise AssertionError(f"round {i}: no answer ({e!r}) for body {body[:200]!r} headers {headers}") from e
            statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
            assert r.status_code != 503, f"round {i}: 503 (filter failed?) for {body[:200]!r}: {r.text[:300]}"
            if r.status_code >= 400 and r.headers.get("content-type", "").startswith("application/json"):
                msg = r.json()
                assert "error" in msg, f"round {i}: {r.status_code} without a JSON-RPC error: {r.text[:300]}"
    # Most mutations are refused locally; some still reach a backend.
    assert sum(n for s, n in statuses.items() if s in (400, 404, 413)) > ROUNDS // 4, statuses
    assert_healthy(gateway)

"""Gateway sessions: the filter opens the token (minted here by an independent implementation
of the format, tests/e2e/session_token.py); each backend gets its own session id, opened on the
session's first use of it."""

from __future__ import annotations

import json
import time

import pytest

from conftest import Gateway, random_key, rpc_message, tool_call
from session_token import mint


def now() -> int:
    return int(time.time())


def headers_seen(gw: Gateway, tool: str, token: str) -> dict:
    r = gw.post(tool_call(tool, id=21), {"mcp-session-id": token})
    assert r.status_code == 200, r.text
    assert "mcp-session-id" not in r.headers or r.headers["mcp-session-id"] == token
    return json.loads(rpc_message(r)["result"]["content"][0]["text"])


def test_valid_session_gives_the_backend_its_own_session_id(healthy: Gateway) -> None:
    # The token carries no backend session: the first call to each server opens one (through
    # the broker), later calls reuse it (straight from the filter). These backends are
    # stateless: they issue no session id, so none is sent, first call or later.
    token = mint(healthy.key, id="sess-42", issued_at=now(), expires_at=now() + 600)
    seen = [headers_seen(healthy, f"{server}_headers", token) for server in ("alpha", "beta", "alpha", "beta")]
    for h in seen:
        assert "mcp-session-id" not in h, h
        # The public session id is published (by the broker on a first call, as by the
        # filter); the token itself never reaches a backend.
        assert h["x-mcp-sessionid"] == "sess-42", h
        assert token not in json.dumps(h)


def test_session_id_reaches_the_access_log(healthy: Gateway) -> None:
    token = mint(healthy.key, id="sess-log-77", issued_at=now(), expires_at=now() + 600)
    healthy.post(tool_call("alpha_whoami", id=22), {"mcp-session-id": token})
    entry = healthy.wait_access_entry(lambda e: e["fs_session"] == "sess-log-77")
    assert entry["fs_tool"] == "whoami" and entry["status"] == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda key: mint(key, issued_at=now() - 7200, expires_at=now() - 3600),  # expired
        lambda key: mint(random_key(), issued_at=now(), expires_at=now() + 600),  # other key
        lambda key: mint(key, issued_at=now(), expires_at=now() + 600, subject="alice"),  # bound
    ],
    ids=["expired", "foreign-key", "subject-bound-without-identity"],
)
def test_refused_sessions_are_404(healthy: Gateway, make) -> None:
    token = make(healthy.key)
    before = healthy.upstream_requests()
    r = healthy.post(tool_call("alpha_headers", id=23), {"mcp-session-id": token})
    assert healthy.upstream_requests() == before
    assert r.status_code == 404
    assert r.json()["error"]["code"] == -32001


def test_tampered_valid_token_is_404(healthy: Gateway) -> None:
    token = mint(healthy.key, issued_at=now(), expires_at=now() + 600)
    # Change one character in the ciphertext part (not the last: its low bits may be padding).
    i = len(token) // 2
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    r = healthy.post(tool_call("alpha_headers", id=24), {"mcp-session-id": tampered})
    assert r.status_code == 404
    # ...while the untouched token still works (so the 404 is about the tampering).
    assert healthy.post(tool_call("alpha_headers", id=25), {"mcp-session-id": token}).status_code == 200

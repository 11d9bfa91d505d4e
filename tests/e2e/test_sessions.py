"""Gateway sessions: the filter opens the token (minted here by an independent implementation
of the format, tests/e2e/session_token.py) and gives each backend its own session id."""

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
    token = mint(healthy.key, id="sess-42", issued_at=now(), expires_at=now() + 600, backends={"alpha": "alpha-own-sid", "beta": "beta-own-sid"})
    alpha = headers_seen(healthy, "alpha_headers", token)
    beta = headers_seen(healthy, "beta_headers", token)
    assert alpha["mcp-session-id"] == "alpha-own-sid"
    assert beta["mcp-session-id"] == "beta-own-sid"
    # The public session id is published; the token itself never reaches a backend.
    assert alpha["x-mcp-sessionid"] == beta["x-mcp-sessionid"] == "sess-42"
    assert token not in json.dumps(alpha) and token not in json.dumps(beta)


def test_backend_without_a_session_gets_no_session_header(healthy: Gateway) -> None:
    # An empty backend session id: the server joined the session without issuing an id.
    token = mint(healthy.key, id="sess-43", issued_at=now(), expires_at=now() + 600, backends={"alpha": "alpha-only", "beta": ""})
    beta = headers_seen(healthy, "beta_headers", token)
    assert "mcp-session-id" not in beta
    assert beta["x-mcp-sessionid"] == "sess-43"


def test_server_absent_from_the_session_is_refused_locally(healthy: Gateway) -> None:
    # A server that did not join the session (it failed at initialize, or was added later)
    # is not called; the client is told to initialize again.
    token = mint(healthy.key, id="sess-44", issued_at=now(), expires_at=now() + 600, backends={"alpha": "alpha-only"})
    before = healthy.upstream_requests()
    r = healthy.post(tool_call("beta_headers", id=26), {"mcp-session-id": token})
    assert healthy.upstream_requests() == before
    assert rpc_message(r)["error"]["code"] == -32602


def test_session_id_reaches_the_access_log(healthy: Gateway) -> None:
    token = mint(healthy.key, id="sess-log-77", issued_at=now(), expires_at=now() + 600, backends={"alpha": ""})
    healthy.post(tool_call("alpha_whoami", id=22), {"mcp-session-id": token})
    entry = healthy.wait_access_entry(lambda e: e["fs_session"] == "sess-log-77")
    assert entry["fs_tool"] == "whoami" and entry["status"] == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda key: mint(key, issued_at=now() - 7200, expires_at=now() - 3600, backends={"alpha": "a"}),  # expired
        lambda key: mint(random_key(), issued_at=now(), expires_at=now() + 600, backends={"alpha": "a"}),  # other key
        lambda key: mint(key, issued_at=now(), expires_at=now() + 600, subject="alice", backends={"alpha": "a"}),  # bound
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
    token = mint(healthy.key, issued_at=now(), expires_at=now() + 600, backends={"alpha": "a"})
    # Change one character in the ciphertext part (not the last: its low bits may be padding).
    i = len(token) // 2
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    r = healthy.post(tool_call("alpha_headers", id=24), {"mcp-session-id": tampered})
    assert r.status_code == 404
    # ...while the untouched token still works (so the 404 is about the tampering).
    assert healthy.post(tool_call("alpha_headers", id=25), {"mcp-session-id": token}).status_code == 200

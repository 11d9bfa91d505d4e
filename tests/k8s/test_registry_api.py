"""The registry export as registry clients see it: `mcpgw-controller registry` serves the
annotated routes of the fixture cluster on the MCP Registry read API, every entry valid
against the published server.json schema (version 2025-12-11, carried in k8s/schemas/), the
list and detail responses in the registry's OpenAPI shapes."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Iterator
from urllib.parse import quote

import httpx
import jsonschema
import pytest

from conftest import FIXTURES, controller_bin, harness

READY = re.compile(r"registry listening on (http://\S+)/v0/servers")


@pytest.fixture(scope="module")
def registry_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    work = tmp_path_factory.mktemp("registry")
    port = harness.free_port()
    proc = harness.Proc("mcpgw-controller registry", [str(controller_bin()), "registry", "--manifests", str(FIXTURES / "cluster"), "--listen", f"127.0.0.1:{port}"], work / "registry.log")
    try:
        harness.wait_until(lambda: READY.search(proc.log.read_text(errors="replace")) is not None, "registry", [proc])
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.stop()


def test_the_schema_is_the_pinned_published_one(server_schema: dict) -> None:
    assert server_schema["$id"] == "https://static.modelcontextprotocol.io/schemas/2025-12-11/server.schema.json"
    jsonschema.Draft7Validator.check_schema(server_schema)


def test_lists_exactly_the_annotated_routes_with_their_external_urls(registry_url: str, server_schema: dict) -> None:
    body = httpx.get(f"{registry_url}/v0/servers").json()
    assert set(body) == {"servers", "metadata"}
    entries = {r["server"]["name"]: r["server"]["remotes"][0]["url"] for r in body["servers"]}
    assert entries == {
        "com.example/weather": "https://weather.example.com/mcp",
        "io.mcpgw.infra/status-page": "http://203.0.113.7:8080/status/mcp",
        "io.mcpgw.team-b/docs-internal": "https://docs.internal.example.net/mcp",
    }
    assert body["metadata"]["count"] == 3
    validator = jsonschema.Draft7Validator(server_schema, format_checker=jsonschema.Draft7Validator.FORMAT_CHECKER)
    for r in body["servers"]:
        errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(r["server"])]
        assert not errors, (r["server"]["name"], errors)
        assert r["server"]["$schema"] == server_schema["$id"]
        assert [t["type"] for t in r["server"]["remotes"]] == ["streamable-http"]
        assert r["_meta"]["io.modelcontextprotocol.registry/official"] == {"status": "active", "isLatest": True}


def test_the_schema_would_catch_a_bad_entry(server_schema: dict) -> None:
    """The validation is not a rubber stamp: what the exporter refuses, the schema refuses."""
    validator = jsonschema.Draft7Validator(server_schema)
    bad = {"name": "no slash here", "description": "x", "version": "1.0.0", "remotes": [{"type": "streamable-http", "url": "ftp://x"}]}
    assert len(list(validator.iter_errors(bad))) >= 2


def test_detail_and_versions_by_url_encoded_name(registry_url: str, server_schema: dict) -> None:
    name = quote("com.example/weather", safe="")
    one = httpx.get(f"{registry_url}/v0/servers/{name}")
    assert one.status_code == 200
    jsonschema.validate(one.json()["server"], server_schema)
    latest = httpx.get(f"{registry_url}/v0.1/servers/{name}/versions/latest").json()
    assert latest == one.json()
    versions = httpx.get(f"{registry_url}/v0/servers/{name}/versions").json()
    assert [v["server"]["version"] for v in versions["servers"]] == ["1.0.0"]
    missing = httpx.get(f"{registry_url}/v0/servers/{quote('com.example/nope', safe='')}")
    assert (missing.status_code, missing.json()) == (404, {"error": "Server not found"})


def test_pagination_follows_next_cursor(registry_url: str) -> None:
    names, cursor = [], None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = httpx.get(f"{registry_url}/v0/servers", params=params).json()
        names += [r["server"]["name"] for r in page["servers"]]
        cursor = page["metadata"].get("nextCursor")
        if not cursor:
            break
    assert names == sorted(names) and len(names) == 3


def test_reconcile_writes_the_same_registry(tmp_path: Path, registry_url: str) -> None:
    out = tmp_path / "out"
    r = subprocess.run([str(controller_bin()), "reconcile", "--manifests", str(FIXTURES / "cluster"), "--out", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    written = json.loads((out / "registry.json").read_text())
    served = httpx.get(f"{registry_url}/v0/servers", params={"limit": 100}).json()
    assert written == served

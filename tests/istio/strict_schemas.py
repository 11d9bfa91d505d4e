"""Strict, offline validation of Kubernetes objects, shared by tests/istio and tests/k8s:

- `strict(schema)`: an OpenAPI schema with `additionalProperties: false` wherever it lists
  properties and does not keep unknown fields (the API server's pruning, made an error);
- `crd_envelope(...)`: a CRD's openAPIV3Schema with the object envelope the API server adds
  (apiVersion, kind, metadata) and requires;
- `builtin_errors(doc)`: kubernetes-validate's strict schemas for built-in kinds;
- `node_validate(docs)`: the @kubernetes-models schemas (Gateway API, Istio security kinds)
  through tests/istio/node/validate.mjs, strict by recording which fields the schema reads."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest

K8S_VERSION = "1.33.0"
NODE_DIR = Path(__file__).resolve().parent / "node"


def strict(schema: object) -> object:
    if isinstance(schema, dict):
        s = {k: strict(v) for k, v in schema.items()}
        if "properties" in s and "additionalProperties" not in s and not s.get("x-kubernetes-preserve-unknown-fields"):
            s["additionalProperties"] = False
        return s
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def crd_envelope(schema: dict, api_version: str, kind: str, metadata: dict) -> dict:
    """A copy of `schema` with the object envelope; `metadata` is the ObjectMeta schema to check."""
    schema = copy.deepcopy(schema)
    schema.setdefault("properties", {}).update(
        apiVersion={"type": "string", "enum": [api_version]},
        kind={"type": "string", "enum": [kind]},
        metadata=metadata,
    )
    schema["required"] = sorted(set(schema.get("required", [])) | {"apiVersion", "kind", "metadata"})
    return schema


def builtin_errors(doc: dict) -> list[str]:
    try:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)
        return []
    except kubernetes_validate.ValidationError as e:
        return [f"{'/'.join(map(str, e.path))}: {e.message}"]


def node_validate(docs: list[dict]) -> list[list[str]]:
    if not (NODE_DIR / "node_modules").is_dir():
        pytest.fail("tests/istio/node/node_modules missing: run scripts/setup.sh")
    r = subprocess.run(["node", str(NODE_DIR / "validate.mjs")], input=json.dumps(docs), capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)

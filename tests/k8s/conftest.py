"""Fixtures for the Kubernetes-mode tests. Process handling (Proc, free ports, wait_until,
stop) is the end-to-end harness's, imported from tests/e2e/conftest.py, so there is one way
to start and stop things."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "k8s" / "schemas" / "server.schema.2025-12-11.json"
FIXTURES = ROOT / "k8s" / "testdata"


def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


harness = _load("mcpgw_e2e_harness", ROOT / "tests" / "e2e" / "conftest.py")
# Strict offline validation of Kubernetes objects, shared with tests/istio.
strict_schemas = _load("mcpgw_strict_schemas", ROOT / "tests" / "istio" / "strict_schemas.py")
# The local OCI registry the Istio tests start (docker-registry on a free 127.0.0.1 port),
# reused as is: importing its fixture into this conftest registers it here.
istio = _load("mcpgw_istio_conftest", ROOT / "tests" / "istio" / "conftest.py")
registry = istio.registry
build_image = _load("mcpgw_build_image", ROOT / "scripts" / "build-image.py")


def controller_bin() -> Path:
    """$MCPGW_CONTROLLER_BIN, else the newest target/{debug,release}/mcpgw-controller."""
    return harness.newest_binary("mcpgw-controller", "MCPGW_CONTROLLER_BIN")


@pytest.fixture(scope="session")
def server_schema() -> dict:
    return json.loads(SCHEMA.read_text())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

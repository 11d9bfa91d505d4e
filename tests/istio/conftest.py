"""Fixtures for the Istio packaging tests: a private OCI registry (Debian's docker-registry,
distribution v2) on 127.0.0.1 with a free port and a temporary storage directory, and the
filter pushed to it by the project's own command (scripts/publish-oci.py).

Process handling (Proc, free ports, wait_until, stop) is the end-to-end harness's, imported
from tests/e2e/conftest.py so there is one way to start and stop things.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]



def _load(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


harness = _load("mcpgw_e2e_harness", ROOT / "tests" / "e2e" / "conftest.py")
publish = _load("mcpgw_publish_oci", ROOT / "scripts" / "publish-oci.py")
istio_render = _load("mcpgw_istio_render", ROOT / "istio" / "render.py")

REGISTRY_BIN = shutil.which("docker-registry") or "/usr/bin/docker-registry"


def require(tool: str) -> str:
    path = shutil.which(tool)
    if not path:
        pytest.fail(f"{tool} not found: run scripts/setup.sh")
    return path


class Registry:
    def __init__(self, host: str, workdir: Path):
        self.host = host
        self.workdir = workdir

    def publish(self, tag: str, wasm: Path | None = None) -> dict:
        """Runs the project command, as a user would, and returns its --json output."""
        argv = [sys.executable, str(ROOT / "scripts" / "publish-oci.py"), "--registry", self.host, "--plain-http", "--tag", tag, "--json"]
        if wasm:
            argv += ["--wasm", str(wasm)]
        r = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def skopeo_pull(self, ref: str, layout: Path, tag: str) -> None:
        """Independent client: skopeo copies the image into an OCI layout, byte for byte."""
        r = subprocess.run(
            [require("skopeo"), "copy", "--quiet", "--src-tls-verify=false", "--preserve-digests", f"docker://{self.host}/{ref}", f"oci:{layout}:{tag}"],
            capture_output=True,
            text=True,
        )
        assert r.returncode == 0, r.stderr

    def skopeo_raw_manifest(self, ref: str) -> bytes:
        r = subprocess.run([require("skopeo"), "inspect", "--raw", "--tls-verify=false", f"docker://{self.host}/{ref}"], capture_output=True)
        assert r.returncode == 0, r.stderr.decode()
        return r.stdout


@pytest.fixture(scope="session")
def wasm() -> Path:
    if not harness.WASM.is_file():
        pytest.fail(f"filter not built: {harness.WASM} missing (make wasm)")
    return harness.WASM


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    """docker-registry on 127.0.0.1:<free port>, storage in a temp dir, our own config (the
    packaged one listens on every interface and wants htpasswd)."""
    if not Path(REGISTRY_BIN).exists():
        pytest.fail("docker-registry not found: run scripts/setup.sh")
    work = tmp_path_factory.mktemp("registry")
    port = harness.free_port()
    config = work / "config.yml"
    config.write_text(
        "version: 0.1\n"
        "log: {level: info}\n"
        f"storage: {{filesystem: {{rootdirectory: {work / 'data'}}}, delete: {{enabled: true}}}}\n"
        f"http: {{addr: '127.0.0.1:{port}', secret: test-only}}\n"
    )
    procs = [harness.Proc("registry", [REGISTRY_BIN, "serve", str(config)], work / "registry.log")]
    try:

        def up() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/v2/", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        harness.wait_until(up, "docker-registry /v2/", procs)
        yield Registry(f"127.0.0.1:{port}", work)
    finally:
        harness.stop_all(procs)


@pytest.fixture(scope="session")
def published(registry: Registry, wasm: Path) -> dict:
    return registry.publish("v1", wasm)

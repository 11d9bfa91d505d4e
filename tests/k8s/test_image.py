"""The broker + controller image, built here offline by scripts/build-image.py from the static
musl binaries (no base image), with a reproducible digest; pushed to the local registry the
Istio tests start; pulled back by skopeo (an independent client); started with podman (crun, or
runc where crun refuses this machine's cgroups) from the registry, the controller serving the registry API and the broker answering its
health check, both reached from the host.

Needs the musl build (`make image` does it):
  cargo build --release --target x86_64-unknown-linux-musl -p mcpgw-k8s -p mcpgw-broker"""

from __future__ import annotations

import gzip
import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Iterator

import httpx
import pytest

from conftest import FIXTURES, ROOT, build_image, harness

MUSL = ROOT / "target" / "x86_64-unknown-linux-musl" / "release"


@pytest.fixture(scope="module")
def binaries() -> tuple[Path, Path]:
    c, b = MUSL / "mcpgw-controller", MUSL / "mcpgw-broker"
    if not (c.is_file() and b.is_file()):
        pytest.fail("musl binaries missing: make image (or cargo build --release --target x86_64-unknown-linux-musl -p mcpgw-k8s -p mcpgw-broker)")
    return c, b


@pytest.fixture(scope="module")
def pushed(registry, binaries) -> dict:
    r = subprocess.run(
        [harness.PYTHON, str(ROOT / "scripts" / "build-image.py"), "--registry", registry.host, "--plain-http", "--tag", "test", "--json",
         "--controller", str(binaries[0]), "--broker", str(binaries[1])],
        capture_output=True, text=True, cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_binaries_are_static(binaries) -> None:
    for b in binaries:
        assert build_image.is_static_elf(b.read_bytes()), b
    # The checker is not a rubber stamp: a dynamically linked program has an interpreter.
    assert not build_image.is_static_elf(Path(shutil.which("python3") or "/usr/bin/python3").resolve().read_bytes())


def test_the_digest_is_reproducible(binaries, pushed) -> None:
    c, b = (p.read_bytes() for p in binaries)
    assert build_image.build(c, b).digest == build_image.build(c, b).digest == pushed["digest"]


def test_the_layer_holds_only_what_it_should(binaries) -> None:
    image = build_image.build(*(p.read_bytes() for p in binaries))
    m = image.manifest_doc
    (layer,) = m["layers"]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(image.blobs[layer["digest"]]))) as tar:
        members = {t.name: (t.mode, t.uid, t.gid, t.mtime) for t in tar.getmembers()}
    assert sorted(members) == ["etc", "etc/group", "etc/passwd", "tmp", "usr", "usr/local", "usr/local/bin", "usr/local/bin/mcpgw-broker", "usr/local/bin/mcpgw-controller"]
    assert all(uid == gid == mtime == 0 for _, uid, gid, mtime in members.values())
    config = json.loads(image.blobs[m["config"]["digest"]])
    assert config["config"]["User"] == "65532:65532"
    assert "created" not in config and "history" not in config


def test_pulled_back_by_skopeo_with_the_same_digest(registry, pushed, tmp_path: Path) -> None:
    raw = registry.skopeo_raw_manifest("mcpgw/gateway:test")
    assert build_image.oci.sha256(raw) == pushed["digest"]
    layout = tmp_path / "layout"
    registry.skopeo_pull("mcpgw/gateway:test", layout, "pulled")
    index = json.loads((layout / "index.json").read_text())
    assert index["manifests"][0]["digest"] == pushed["digest"]


@pytest.fixture
def podman() -> str:
    path = shutil.which("podman")
    if not path:
        pytest.fail("podman not found: run scripts/setup.sh")
    return path


# podman's default rlimits exceed what these machines allow a process to set, so the
# containers get modest ones.
LIMITS = ["--ulimit", "nofile=1024:1024", "--ulimit", "nproc=1024:1024"]


def podman_argv(podman: str, image: str) -> list[str]:
    """`podman run` with the first OCI runtime that works here: crun (podman's default), else
    runc. On these machines crun refuses the cgroup layout ("cgroups in hybrid mode not
    supported") and runc (Debian's) runs. Either way a real OCI runtime runs the image."""
    tried = []
    for runtime in ("crun", "runc"):
        if not shutil.which(runtime):
            continue
        argv = [podman, "--runtime", runtime, "run", "--rm", "--tls-verify=false", *LIMITS]
        r = subprocess.run([*argv, "--network", "none", image, "--help"], capture_output=True, text=True)
        if r.returncode == 0:
            return argv
        tried.append(f"{runtime}: {r.stderr.strip().splitlines()[-1] if r.stderr.strip() else r.returncode}")
    pytest.fail(f"no OCI runtime works here: {tried}")


@pytest.fixture
def image(registry, pushed, podman: str) -> Iterator[str]:
    """The pushed image's reference; podman's local copy is removed afterwards."""
    ref = f"{registry.host}/mcpgw/gateway@{pushed['digest']}"
    yield ref
    subprocess.run([podman, "rmi", "-f", ref], capture_output=True)


def test_runs_with_podman_from_the_registry(image: str, podman: str, tmp_path: Path) -> None:
    run = podman_argv(podman, image)
    tag = f"mcpgw-k8s-test-{harness.free_port()}"
    # The controller's own subcommand, in the container: the CRDs it prints are the committed ones.
    r = subprocess.run([*run, "--network", "none", image, "crds"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    committed = sorted(p.read_text() for p in (ROOT / "deploy" / "crds").glob("*.yaml"))
    assert sorted(r.stdout.split("---\n")) == committed

    # The registry API served from the container, reached from the host.
    port = harness.free_port()
    ctl = harness.Proc(
        tag,
        [*run, "--name", tag, "--network", "host", "-v", f"{FIXTURES / 'cluster'}:/manifests:ro",
         image, "registry", "--manifests", "/manifests", "--listen", f"127.0.0.1:{port}"],
        tmp_path / "controller.log",
    )
    try:
        harness.wait_until(lambda: harness.port_open(port), "controller in podman", [ctl], deadline_s=120)
        names = [s["server"]["name"] for s in httpx.get(f"http://127.0.0.1:{port}/v0/servers").json()["servers"]]
        assert names == ["com.example/weather", "io.mcpgw.infra/status-page", "io.mcpgw.team-b/docs-internal"]
    finally:
        subprocess.run([podman, "rm", "-f", tag], capture_output=True)
        ctl.stop()

    # The broker from the same image, on a gateway config with a mounted session key, as the
    # broker Deployment of deploy/ runs it (non-root, read-only config and key).
    work = tmp_path / "broker"
    work.mkdir()
    bport = harness.free_port()
    (work / "key").write_text(harness.random_key() + "\n")
    (work / "gateway.yaml").write_text(f"broker: {{listen: 127.0.0.1:{bport}}}\nservers: []\nsession: {{key_file: /etc/mcpgw/session/key}}\n")
    btag = f"{tag}-broker"
    broker = harness.Proc(
        btag,
        [*run, "--name", btag, "--network", "host", "--read-only",
         "-v", f"{work / 'gateway.yaml'}:/etc/mcpgw/config/gateway.yaml:ro", "-v", f"{work / 'key'}:/etc/mcpgw/session/key:ro",
         "--entrypoint", "/usr/local/bin/mcpgw-broker", image, "--config", "/etc/mcpgw/config/gateway.yaml"],
        tmp_path / "broker.log",
    )
    try:
        harness.wait_until(lambda: harness.port_open(bport), "broker in podman", [broker], deadline_s=120)
        assert httpx.get(f"http://127.0.0.1:{bport}/healthz").status_code == 200
    finally:
        subprocess.run([podman, "rm", "-f", btag], capture_output=True)
        broker.stop()

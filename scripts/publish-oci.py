#!/usr/bin/env python3
"""Packages the filter's .wasm as the two OCI images Istio's WasmPlugin fetcher accepts and
pushes them to a registry.

    python scripts/publish-oci.py --registry HOST[:PORT] [--repository mcpgw/filter]
        [--tag TAG] [--wasm target/wasm32-wasip1/release/mcpgw_filter.wasm]
        [--format oci|compat|both] [--plain-http] [--layout DIR] [--json]

(or `make oci REGISTRY=HOST[:PORT]`). For each format it prints

    oci://HOST/REPO:TAG
    sha256: <manifest digest, hex>        <- WasmPlugin spec.sha256

The two formats (Istio pkg/wasm/imagefetcher.go):

- **oci** (tag `TAG`): an OCI image manifest with exactly two layers, the raw module
  (`application/vnd.module.wasm.content.layer.v1+wasm`) and a small JSON
  (`application/vnd.module.wasm.config.v1+json`), config media type
  `application/vnd.module.wasm.config.v1+json`.
- **compat** (tag `TAG-compat`): an OCI image manifest whose last (only) layer is a tar+gzip
  (`application/vnd.oci.image.layer.v1.tar+gzip`) holding `plugin.wasm`, annotated
  `module.wasm.image/variant=compat`, with a standard image config. Docker/podman can pull it.

Reproducible: the same .wasm always gives the same bytes, hence the same digests. The tar
entry has mtime 0, uid/gid 0, owner/group "", mode 0644, USTAR format; the gzip stream has
mtime 0, no file name, a fixed compression level; every JSON document is serialized with
sorted keys and fixed separators; nothing carries a date, host or user name.

The registry protocol (auth from ~/.docker/config.json, blob upload, manifest PUT) is done by
the `oras` library (PyPI `oras`). The manifest bytes are sent exactly as built here, so the
digest printed is the digest the registry stores; the registry's Docker-Content-Digest answer
is checked against it.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WASM = ROOT / "target/wasm32-wasip1/release/mcpgw_filter.wasm"
DEFAULT_REPOSITORY = "mcpgw/filter"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_IMAGE_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER_TGZ = "application/vnd.oci.image.layer.v1.tar+gzip"
WASM_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"
WASM_CONFIG = "application/vnd.module.wasm.config.v1+json"
COMPAT_ANNOTATION = "module.wasm.image/variant"
TITLE = "org.opencontainers.image.title"


def canonical_json(doc: object) -> bytes:
    """Stable bytes for a JSON document: sorted keys, no whitespace, UTF-8."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def descriptor(media_type: str, data: bytes, annotations: dict[str, str] | None = None) -> dict:
    d: dict = {"mediaType": media_type, "digest": sha256(data), "size": len(data)}
    if annotations:
        d["annotations"] = annotations
    return d


@dataclass
class Image:
    """One image manifest and the blobs it references, all as exact bytes."""

    manifest: bytes
    blobs: dict[str, bytes] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        return sha256(self.manifest)

    @property
    def manifest_doc(self) -> dict:
        return json.loads(self.manifest)


def reproducible_tar_gz(name: str, data: bytes) -> tuple[bytes, bytes]:
    """(tar, tar.gz) holding one regular file; byte-identical for identical input."""
    tar_buf = io.BytesIO()
    with tarfile.open(fileobj=tar_buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        info = tarfile.TarInfo(name)
        info.size = len(data)
        info.mtime = 0
        info.mode = 0o644
        info.uid = info.gid = 0
        info.uname = info.gname = ""
        info.type = tarfile.REGTYPE
        tar.addfile(info, io.BytesIO(data))
    tar_bytes = tar_buf.getvalue()
    gz_buf = io.BytesIO()
    # filename="" and mtime=0: the gzip header then holds neither a name nor a time.
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz_buf, compresslevel=9, mtime=0) as gz:
        gz.write(tar_bytes)
    return tar_bytes, gz_buf.getvalue()


def oci_artifact(wasm: bytes) -> Image:
    """The *oci* variant: exactly two layers, the module and its config."""
    config = canonical_json({"abiVersions": ["proxy_abi_version_0_2_1"], "rootIds": ["mcp_gateway"], "type": "envoy_proxy"})
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(WASM_CONFIG, config),
        "layers": [
            descriptor(WASM_LAYER, wasm, {TITLE: "plugin.wasm"}),
            descriptor(WASM_CONFIG, config, {TITLE: "runtime-config.json"}),
        ],
    }
    blobs = {sha256(wasm): wasm, sha256(config): config}
    return Image(canonical_json(manifest), blobs)


def compat_image(wasm: bytes) -> Image:
    """The *compat* variant: the last layer is a tar.gz holding plugin.wasm."""
    tar_bytes, layer = reproducible_tar_gz("plugin.wasm", wasm)
    config = canonical_json(
        {
            "architecture": "wasm",
            "os": "wasip1",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha256(tar_bytes)]},
        }
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(OCI_IMAGE_CONFIG, config),
        "layers": [descriptor(OCI_LAYER_TGZ, layer)],
        "annotations": {COMPAT_ANNOTATION: "compat"},
    }
    return Image(canonical_json(manifest), {sha256(layer): layer, sha256(config): config})


def build(wasm: bytes) -> dict[str, Image]:
    if not wasm.startswith(b"\0asm"):
        raise ValueError("not a wasm module (no \\0asm magic)")
    return {"oci": oci_artifact(wasm), "compat": compat_image(wasm)}


def write_layout(image: Image, layout: Path, tag: str) -> None:
    """Adds the image to an OCI image layout directory (readable by skopeo as oci:DIR:TAG)."""
    blobs = layout / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (layout / "oci-layout").write_bytes(canonical_json({"imageLayoutVersion": "1.0.0"}))
    for digest, data in [*image.blobs.items(), (image.digest, image.manifest)]:
        (blobs / digest.removeprefix("sha256:")).write_bytes(data)
    index_path = layout / "index.json"
    index = json.loads(index_path.read_text()) if index_path.exists() else {"schemaVersion": 2, "manifests": []}
    index["manifests"] = [m for m in index["manifests"] if m.get("annotations", {}).get("org.opencontainers.image.ref.name") != tag]
    index["manifests"].append(descriptor(OCI_MANIFEST, image.manifest, {"org.opencontainers.image.ref.name": tag}))
    index_path.write_bytes(canonical_json(index))


def push(image: Image, registry: str, repository: str, tag: str, *, plain_http: bool, tls_verify: bool = True) -> str:
    """Pushes blobs and manifest with oras; returns the manifest digest the registry reports."""
    import oras.provider  # imported here so that building/`--layout` works without it

    reg = oras.provider.Registry(hostname=registry, insecure=plain_http, tls_verify=tls_verify)
    container = reg.get_container(f"{registry}/{repository}:{tag}")
    reg.auth.load_configs(container)
    with tempfile.TemporaryDirectory() as tmp:
        for digest, data in image.blobs.items():
            path = Path(tmp) / digest.removeprefix("sha256:")
            path.write_bytes(data)
            layer = {"digest": digest, "size": len(data), "mediaType": "application/octet-stream"}
            r = reg.upload_blob(str(path), container, layer)
            reg._check_200_response(r)
    r = reg.do_request(
        f"{reg.prefix}://{container.manifest_url()}",
        "PUT",
        headers={"Content-Type": OCI_MANIFEST},
        data=image.manifest,
    )
    reg._check_200_response(r)
    stored = r.headers.get("Docker-Content-Digest")
    if stored and stored != image.digest:
        raise RuntimeError(f"registry stored {stored}, expected {image.digest}: the manifest was altered in transit")
    return image.digest


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--registry", help="HOST[:PORT] of the registry (omit with --layout to only build)")
    p.add_argument("--repository", default=DEFAULT_REPOSITORY)
    p.add_argument("--tag", default="latest", help="tag of the oci variant; the compat one gets TAG-compat")
    p.add_argument("--wasm", type=Path, default=DEFAULT_WASM)
    p.add_argument("--format", choices=["oci", "compat", "both"], default="both")
    p.add_argument("--plain-http", action="store_true", help="talk HTTP, not HTTPS (local test registries)")
    p.add_argument("--insecure-skip-tls-verify", action="store_true")
    p.add_argument("--layout", type=Path, help="also write an OCI image layout to this directory")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    a = p.parse_args(argv)
    if not a.registry and not a.layout:
        p.error("give --registry (push) and/or --layout (write an OCI layout)")
    if not a.wasm.is_file():
        p.error(f"{a.wasm} not found: build it with `make wasm`")
    images = build(a.wasm.read_bytes())
    formats = ["oci", "compat"] if a.format == "both" else [a.format]
    out: dict[str, dict] = {}
    for fmt in formats:
        image = images[fmt]
        tag = a.tag if fmt == "oci" else f"{a.tag}-compat"
        if a.layout:
            write_layout(image, a.layout, tag)
        entry = {"tag": tag, "digest": image.digest, "sha256": image.digest.removeprefix("sha256:")}
        if a.registry:
            push(image, a.registry, a.repository, tag, plain_http=a.plain_http, tls_verify=not a.insecure_skip_tls_verify)
            entry["url"] = f"oci://{a.registry}/{a.repository}:{tag}"
            entry["pinned"] = f"oci://{a.registry}/{a.repository}@{image.digest}"
        out[fmt] = entry
    if a.json:
        print(json.dumps(out, indent=2, sort_keys=True))
    else:
        for fmt, e in out.items():
            print(f"# {fmt} variant")
            if "url" in e:
                print(e["url"])
            print(f"sha256: {e['sha256']}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

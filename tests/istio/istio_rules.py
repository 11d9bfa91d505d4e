"""Istio's wasm image extraction rules (istio pkg/wasm/imagefetcher.go), applied to an image
read from an OCI layout: what istio-agent would load from each of our images.

- A Docker schema-2 manifest: the last layer must be application/vnd.docker.image.rootfs.diff.tar.gzip
  holding plugin.wasm.
- Otherwise, first the *compat* variant: the last layer is application/vnd.oci.image.layer.v1.tar+gzip
  holding plugin.wasm (found by base name anywhere in the archive).
- Otherwise the *oci* variant: exactly 2 layers, one of them
  application/vnd.module.wasm.content.layer.v1+wasm, whose raw bytes are the module.
"""

from __future__ import annotations

import gzip
import io
import json
import posixpath
import tarfile
from pathlib import Path

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
WASM_LAYER = "application/vnd.module.wasm.content.layer.v1+wasm"


class Rejected(Exception):
    pass


def blob(layout: Path, digest: str) -> bytes:
    algo, hexd = digest.split(":", 1)
    return (layout / "blobs" / algo / hexd).read_bytes()


def manifest_of(layout: Path, tag: str) -> tuple[str, bytes]:
    index = json.loads((layout / "index.json").read_text())
    for m in index["manifests"]:
        if m.get("annotations", {}).get("org.opencontainers.image.ref.name") == tag:
            return m["digest"], blob(layout, m["digest"])
    raise KeyError(tag)


def _plugin_from_tgz(data: bytes) -> bytes:
    try:
        with tarfile.open(fileobj=io.BytesIO(gzip.decompress(data)), mode="r:") as tar:
            for member in tar:
                if posixpath.basename(member.name) == "plugin.wasm":
                    f = tar.extractfile(member)
                    if f is None:
                        raise Rejected("plugin.wasm is not a regular file")
                    return f.read()
    except (OSError, tarfile.TarError) as e:
        raise Rejected(f"failed to parse layer as tar.gz: {e}") from e
    raise Rejected("plugin.wasm not found in the archive")


def extract(layout: Path, manifest: bytes) -> tuple[str, bytes]:
    """(variant, module bytes) or Rejected, in Istio's order."""
    m = json.loads(manifest)
    layers = m.get("layers", [])
    if m.get("mediaType") == DOCKER_MANIFEST:
        if not layers or layers[-1]["mediaType"] != DOCKER_LAYER:
            raise Rejected("docker image: last layer is not a docker tar.gzip layer")
        return "docker", _plugin_from_tgz(blob(layout, layers[-1]["digest"]))
    errors = []
    if not layers:
        raise Rejected("number of layers must be greater than zero")
    if layers[-1]["mediaType"] == OCI_LAYER:
        try:
            return "compat", _plugin_from_tgz(blob(layout, layers[-1]["digest"]))
        except Rejected as e:
            errors.append(f"compat: {e}")
    else:
        errors.append(f"compat: invalid media type {layers[-1]['mediaType']}")
    if len(layers) != 2:
        raise Rejected(f"{errors}; oci: number of layers must be 2 but got {len(layers)}")
    for layer in layers:
        if layer["mediaType"] == WASM_LAYER:
            return "oci", blob(layout, layer["digest"])
    raise Rejected(f"{errors}; oci: could not find the layer of type {WASM_LAYER}")

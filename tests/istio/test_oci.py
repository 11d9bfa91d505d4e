"""The filter's OCI images: pushed by scripts/publish-oci.py, pulled back by skopeo, checked
against Istio's extraction rules, and reproducible."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from conftest import Registry, publish
from istio_rules import Rejected, extract, manifest_of


@pytest.mark.parametrize("variant", ["oci", "compat"])
def test_pulled_back_by_skopeo_yields_the_exact_module(registry: Registry, published: dict, wasm: Path, tmp_path: Path, variant: str) -> None:
    entry = published[variant]
    assert entry["url"] == f"oci://{registry.host}/mcpgw/filter:{entry['tag']}"
    # The digest the command printed is the registry's manifest digest (what WasmPlugin's
    # sha256 must be), as an independent client sees it.
    raw = registry.skopeo_raw_manifest(f"mcpgw/filter:{entry['tag']}")
    assert hashlib.sha256(raw).hexdigest() == entry["sha256"]
    layout = tmp_path / "layout"
    registry.skopeo_pull(f"mcpgw/filter:{entry['tag']}", layout, "pulled")
    digest, manifest = manifest_of(layout, "pulled")
    assert digest == "sha256:" + entry["sha256"]
    found_variant, module = extract(layout, manifest)
    assert found_variant == variant
    assert module == wasm.read_bytes()


def test_oci_variant_has_exactly_the_two_istio_layers(published: dict, wasm: Path) -> None:
    image = publish.build(wasm.read_bytes())["oci"]
    assert image.digest == published["oci"]["digest"]
    m = image.manifest_doc
    assert [l["mediaType"] for l in m["layers"]] == [
        "application/vnd.module.wasm.content.layer.v1+wasm",
        "application/vnd.module.wasm.config.v1+json",
    ]
    assert m["config"]["mediaType"] == "application/vnd.module.wasm.config.v1+json"
    assert m["layers"][0]["digest"] == "sha256:" + hashlib.sha256(wasm.read_bytes()).hexdigest()


def test_compat_variant_last_layer_is_tar_gz_with_plugin_wasm(wasm: Path) -> None:
    image = publish.build(wasm.read_bytes())["compat"]
    m = image.manifest_doc
    assert m["annotations"] == {"module.wasm.image/variant": "compat"}
    last = m["layers"][-1]
    assert last["mediaType"] == "application/vnd.oci.image.layer.v1.tar+gzip"
    layer = image.blobs[last["digest"]]
    # Reproducible archive: no time in the gzip header, fixed owner and mtime in the tar.
    assert layer[4:8] == b"\0\0\0\0", "gzip header carries an mtime"
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(layer))) as tar:
        (member,) = tar.getmembers()
        assert (member.name, member.mtime, member.uid, member.gid, member.uname, member.mode) == ("plugin.wasm", 0, 0, 0, "", 0o644)
        assert tar.extractfile(member).read() == wasm.read_bytes()  # type: ignore[union-attr]
    config = json.loads(image.blobs[m["config"]["digest"]])
    assert config["rootfs"]["diff_ids"] == ["sha256:" + hashlib.sha256(gzip.decompress(layer)).hexdigest()]


def test_istio_rules_reject_what_istio_rejects(tmp_path: Path, wasm: Path) -> None:
    """The rule checker is not a rubber stamp: a one-layer wasm artifact and a compat image
    without plugin.wasm are refused, as Istio refuses them."""
    data = wasm.read_bytes()
    one = publish.Image(
        publish.canonical_json(
            {"schemaVersion": 2, "mediaType": publish.OCI_MANIFEST, "config": publish.descriptor(publish.WASM_CONFIG, b"{}"), "layers": [publish.descriptor(publish.WASM_LAYER, data)]}
        ),
        {publish.sha256(data): data, publish.sha256(b"{}"): b"{}"},
    )
    _, wrong_name = publish.reproducible_tar_gz("filter.wasm", data)
    no_plugin = publish.Image(
        publish.canonical_json(
            {"schemaVersion": 2, "mediaType": publish.OCI_MANIFEST, "config": publish.descriptor(publish.OCI_IMAGE_CONFIG, b"{}"), "layers": [publish.descriptor(publish.OCI_LAYER_TGZ, wrong_name)]}
        ),
        {publish.sha256(wrong_name): wrong_name, publish.sha256(b"{}"): b"{}"},
    )
    for name, image in (("one", one), ("noplugin", no_plugin)):
        publish.write_layout(image, tmp_path / name, "t")
        with pytest.raises(Rejected):
            extract(tmp_path / name, manifest_of(tmp_path / name, "t")[1])


def test_reproducible_push_twice_same_digest(registry: Registry, published: dict, wasm: Path, tmp_path: Path) -> None:
    # A copy of the module elsewhere, with another mtime: only the bytes count.
    copy = tmp_path / "copy.wasm"
    copy.write_bytes(wasm.read_bytes())
    again = registry.publish("v1-again", copy)
    for variant in ("oci", "compat"):
        assert again[variant]["digest"] == published[variant]["digest"]
        raw = registry.skopeo_raw_manifest(f"mcpgw/filter:{again[variant]['tag']}")
        assert hashlib.sha256(raw).hexdigest() == published[variant]["sha256"]
    # And a different module gives a different digest (the digest does pin the module).
    other = tmp_path / "other.wasm"
    other.write_bytes(wasm.read_bytes() + b"\0")
    assert publish.build(other.read_bytes())["oci"].digest != published["oci"]["digest"]

